"""Production hardening and deployment settings, applied at the end of `settings.py`.

`apply(globals())` adds what every profile needs (login throttling with django-axes, the CSP
middleware, structured logging) and, whenever `DEBUG=false`, turns the hardening on: HTTPS only,
secure cookies, HSTS, nosniff, a referrer policy, and an enforced Content-Security-Policy.
Each switch can be overridden from the environment, so a deployment behind a TLS-terminating
proxy or the CI smoke run over plain HTTP on 127.0.0.1 changes configuration, not code.
"""

from __future__ import annotations

import json
import logging

import environ

env = environ.Env()

# --- Content-Security-Policy ------------------------------------------------------------------
# The base policy: our own origin only. The HubSpot hosts are added per response by
# `hubspot_integration.csp.HubSpotCSPMiddleware`, and only for the features that are switched on.
# Inline styles are allowed because the Django admin and the HubSpot chat widget set `style=`;
# inline scripts are not: our own inline scripts carry the per-request nonce
# (`<script nonce="{{ request.csp_nonce }}">`).
BASE_CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "frame-src": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}


def client_ip(request) -> str:
    """The visitor's address for login throttling: the one function the whole site uses."""
    from hubspot_integration.client_address import client_address

    return client_address(request)


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json), stdlib only, for log shippers.

    The redaction filter has already run on the record by the time it is formatted, so the
    message and any traceback are clean.
    """

    _SKIP = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in self._SKIP and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool)) else repr(value)
        return json.dumps(entry, ensure_ascii=False)


JsonFormatter.converter = __import__("time").gmtime


def _insert_after(items: list, anchor: str, new: str) -> None:
    if new in items:
        return
    index = items.index(anchor) + 1 if anchor in items else len(items)
    items.insert(index, new)


def apply(ns: dict) -> None:
    """Apply to the namespace of `settings.py` (its `globals()`)."""
    debug = ns["DEBUG"]
    production = not debug

    # --- apps and middleware (every profile, so dev and prod share one schema) ----------------
    installed = ns["INSTALLED_APPS"]
    for app in ("csp", "axes"):
        if app not in installed:
            installed.append(app)
    middleware = ns["MIDDLEWARE"]
    # After authentication: axes turns a lock-out into its 429 page.
    middleware.append("axes.middleware.AxesMiddleware")
    ns["CSP_ENABLED"] = env.bool("CSP_ENABLED", default=production)
    if ns["CSP_ENABLED"]:
        _insert_after(
            middleware,
            "django.middleware.security.SecurityMiddleware",
            "hubspot_integration.csp.HubSpotCSPMiddleware",
        )
    ns["CONTENT_SECURITY_POLICY"] = {
        "DIRECTIVES": {k: list(v) for k, v in BASE_CSP_DIRECTIVES.items()}
    }
    if ns["CSP_ENABLED"] and production and not env.bool("CSP_ALLOW_HTTP", default=False):
        ns["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["upgrade-insecure-requests"] = True
    report_uri = env.str("CSP_REPORT_URI", default="")
    if report_uri:
        ns["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["report-uri"] = [report_uri]

    # --- request bodies: capped before they are read (skypanel/request_limits.py) -------------
    # Non-file bodies (forms, JSON, webhooks): Django's own limit, now also applied to the API.
    ns["DATA_UPLOAD_MAX_MEMORY_SIZE"] = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
    # Uploaded files bigger than this go to a temporary file instead of memory.
    ns["FILE_UPLOAD_MAX_MEMORY_SIZE"] = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
    # A whole multipart request: the biggest contact import and 1 MiB for the form around it.
    from hubspot_integration.conf import AppSettings

    biggest_upload = ns.get(
        "HUBSPOT_IMPORT_MAX_UPLOAD_BYTES", AppSettings.INTEGER_DEFAULTS["IMPORT_MAX_UPLOAD_BYTES"]
    )
    ns["MAX_REQUEST_BODY_BYTES"] = env.int(
        "MAX_REQUEST_BODY_BYTES", default=biggest_upload + 1024 * 1024
    )
    # Inside the CSP middleware, so a refusal carries the same headers as any page.
    anchor = (
        "hubspot_integration.csp.HubSpotCSPMiddleware"
        if "hubspot_integration.csp.HubSpotCSPMiddleware" in middleware
        else "django.middleware.security.SecurityMiddleware"
    )
    _insert_after(middleware, anchor, "skypanel.request_limits.RequestBodyLimitMiddleware")

    # --- login throttling: admin login and customer login alike (both go through authenticate) --
    ns["AUTHENTICATION_BACKENDS"] = [
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    # Off in development by default: Django's test client logs in without a request, which the
    # axes backend refuses. AXES_ENABLED=true turns it on anywhere.
    ns["AXES_ENABLED"] = env.bool("AXES_ENABLED", default=production)
    ns["AXES_FAILURE_LIMIT"] = env.int("LOGIN_FAILURE_LIMIT", default=5)
    ns["AXES_COOLOFF_TIME"] = env.float("LOGIN_LOCKOUT_MINUTES", default=15) / 60  # hours
    ns["AXES_LOCKOUT_PARAMETERS"] = [["username", "ip_address"]]
    ns["AXES_RESET_ON_SUCCESS"] = True
    ns["AXES_HTTP_RESPONSE_CODE"] = 429
    ns["AXES_CLIENT_IP_CALLABLE"] = "hubspot_integration.client_address.client_address"
    ns["AXES_SENSITIVE_PARAMETERS"] = ["password", "token", "apiKey", "access_token"]

    # --- error pages and error e-mails: no token, secret or credential, DEBUG or not ------------
    ns["DEFAULT_EXCEPTION_REPORTER_FILTER"] = (
        "hubspot_integration.error_reports.SecretHidingReporterFilter"
    )
    ns["DEFAULT_EXCEPTION_REPORTER"] = (
        "hubspot_integration.error_reports.SecretHidingExceptionReporter"
    )

    # --- TLS at a proxy -------------------------------------------------------------------------
    # TRUST_PROXY=true: a proxy in front overwrites X-Forwarded-Proto and appends the address it
    # saw to X-Forwarded-For. SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https" names another
    # header. TRUSTED_PROXY_COUNT is how many such proxies stand in front (one with TRUST_PROXY,
    # none otherwise); hubspot_integration/client_address.py reads the client's address with it.
    trust_proxy = env.bool("TRUST_PROXY", default=False)
    ns["TRUSTED_PROXY_COUNT"] = max(
        env.int("TRUSTED_PROXY_COUNT", default=1 if trust_proxy else 0), 0
    )
    header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
    if len(header) == 2:
        ns["SECURE_PROXY_SSL_HEADER"] = (header[0], header[1])
    elif trust_proxy:
        ns["SECURE_PROXY_SSL_HEADER"] = ("HTTP_X_FORWARDED_PROTO", "https")
        ns["USE_X_FORWARDED_HOST"] = env.bool("USE_X_FORWARDED_HOST", default=False)

    # --- headers every profile sends (harmless in development) ----------------------------------
    ns["SECURE_CONTENT_TYPE_NOSNIFF"] = True
    ns["SECURE_REFERRER_POLICY"] = env.str(
        "SECURE_REFERRER_POLICY", default="strict-origin-when-cross-origin"
    )
    ns["SECURE_CROSS_ORIGIN_OPENER_POLICY"] = "same-origin"
    ns["X_FRAME_OPTIONS"] = "DENY"
    ns["SESSION_COOKIE_HTTPONLY"] = True

    if production:
        ns["SECURE_SSL_REDIRECT"] = env.bool("SECURE_SSL_REDIRECT", default=True)
        ns["SESSION_COOKIE_SECURE"] = env.bool("SESSION_COOKIE_SECURE", default=True)
        ns["CSRF_COOKIE_SECURE"] = env.bool("CSRF_COOKIE_SECURE", default=True)
        ns["SECURE_HSTS_SECONDS"] = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
        ns["SECURE_HSTS_INCLUDE_SUBDOMAINS"] = env.bool(
            "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
        )
        ns["SECURE_HSTS_PRELOAD"] = env.bool("SECURE_HSTS_PRELOAD", default=False)
        if not ns["SECURE_HSTS_PRELOAD"]:
            # Preloading is a commitment the domain's owner makes (hard to undo, covers every
            # subdomain); it is opt-in, so its reminder is not a deploy-check failure.
            ns.setdefault("SILENCED_SYSTEM_CHECKS", []).append("security.W021")
        ns["SESSION_COOKIE_AGE"] = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
        ns["CSRF_COOKIE_HTTPONLY"] = False  # the admin's JavaScript reads it for API calls

    # --- logging: JSON lines on request, the redaction filter on every handler ------------------
    logging_config = ns["LOGGING"]
    logging_config.setdefault("formatters", {})["json"] = {"()": "skypanel.security.JsonFormatter"}
    log_format = env.str("LOG_FORMAT", default="plain")
    for handler in logging_config.get("handlers", {}).values():
        filters = handler.setdefault("filters", [])
        if "redact_secrets" not in filters:
            filters.append("redact_secrets")
        if log_format == "json":
            handler["formatter"] = "json"
    # Django's own request/security loggers and gunicorn's go through the same handler.
    loggers = logging_config.setdefault("loggers", {})
    for name in ("django", "django.security", "gunicorn.error", "gunicorn.access"):
        loggers.setdefault(name, {"handlers": ["console"], "level": "INFO", "propagate": False})
    # Lock-outs are logged at WARNING; its INFO start-up banner is noise on every command.
    loggers.setdefault("axes", {"level": "WARNING"})
