"""SkyPanel settings, read from the environment and an optional `.env` file.

Development defaults work with no configuration at all; with `DEBUG=false` the process refuses
to start unless a real `SECRET_KEY` and `HUBSPOT_ENCRYPTION_KEYS` are given.
"""

import base64
import hashlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# The process environment wins over the file, so CI and deployments can override a developer's .env.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET_KEY = "django-insecure-skypanel-development-only"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def _development_encryption_key() -> str:
    # Derived from the development SECRET_KEY so a developer's data stays readable across restarts;
    # never used in production, where a missing key stops start-up below.
    digest = hashlib.sha256(("skypanel-dev-fernet:" + SECRET_KEY).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


HUBSPOT_ENCRYPTION_KEYS = env.list(
    "HUBSPOT_ENCRYPTION_KEYS", default=[_development_encryption_key()] if DEBUG else []
)

if not DEBUG:
    _missing = []
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 32:
        _missing.append("SECRET_KEY (a random string of at least 32 characters)")
    if not HUBSPOT_ENCRYPTION_KEYS:
        _missing.append(
            "HUBSPOT_ENCRYPTION_KEYS (comma-separated Fernet keys, newest first; make one with "
            '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`)'
        )
    if _missing:
        raise ImproperlyConfigured(
            "DEBUG is false, so these settings must be set: " + "; ".join(_missing)
        )

HUBSPOT_API_BASE_URL = env.str("HUBSPOT_API_BASE_URL", default="https://api.hubapi.com").rstrip("/")
HUBSPOT_FORMS_BASE_URL = env.str(
    "HUBSPOT_FORMS_BASE_URL", default="https://api.hsforms.com"
).rstrip("/")
# HubSpot's date-based API version (hubspot_integration/conf.py says why it is one setting).
HUBSPOT_API_VERSION = env.str("HUBSPOT_API_VERSION", default="2026-09")
# The customer site as its customers reach it: emails sent by the worker link to it.
HUBSPOT_SITE_URL = env.str("HUBSPOT_SITE_URL", default="http://localhost:8000").rstrip("/")
HUBSPOT_OAUTH_AUTHORIZE_URL = env.str(
    "HUBSPOT_OAUTH_AUTHORIZE_URL", default="https://app.hubspot.com/oauth/authorize"
)
# (connect, read) seconds for every HubSpot call: a slow HubSpot must not hold a web worker.
HUBSPOT_TIMEOUT = (
    env.float("HUBSPOT_CONNECT_TIMEOUT", default=3.05),
    env.float("HUBSPOT_READ_TIMEOUT", default=10.0),
)

# The app's limits (throttles, import sizes): defaults and meaning in hubspot_integration/conf.py;
# the environment overrides any of them by name, e.g. HUBSPOT_THROTTLE_LIMIT=10.
from hubspot_integration.conf import AppSettings as _AppSettings  # noqa: E402

for _name in _AppSettings.INTEGER_DEFAULTS:
    if f"HUBSPOT_{_name}" in env.ENVIRON:
        globals()[f"HUBSPOT_{_name}"] = env.int(f"HUBSPOT_{_name}")

# /metrics (Prometheus): a scrape needs `Authorization: Bearer <METRICS_TOKEN>` or a client address
# in METRICS_ALLOWED_IPS (addresses or CIDR ranges); with neither set, every scrape is refused.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our static files, no CDN
    "django_tasks",
    "django_tasks_db",
    "hubspot_integration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the visitor's choice (cookie) or the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in customer's language from their account page wins over cookie and browser.
    "hubspot_integration.language.UserLanguageMiddleware",
    # Lets model validation see who is saving (the tracking-script host is superuser-only).
    "hubspot_integration.actor.CurrentRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Pages carrying a customer's chat identification token: Cache-Control: private.
    "hubspot_integration.middleware.PrivatePagesMiddleware",
]

ROOT_URLCONF = "skypanel.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "skypanel.wsgi.application"
ASGI_APPLICATION = "skypanel.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker write to the same file: wait for the lock instead of
    # failing with "database is locked", and take the write lock at BEGIN to avoid upgrade deadlocks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

# The default cache is a directory every process on the machine shares (web server and worker agree
# on settings and the rate limiter) and that costs no SQL; Redis in production via CACHE_URL.
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}


def _database_identity(db: dict) -> str:
    name = str(db.get("NAME") or "")
    if db.get("ENGINE") == "django.db.backends.sqlite3" and name and name != ":memory:":
        name = str(Path(name).resolve())  # one file, whatever the working directory
    return "|".join(
        [str(db.get("ENGINE") or ""), name, str(db.get("HOST") or ""), str(db.get("PORT") or "")]
    )


# Every cache key names the database it belongs to: one checkout's var/cache (or one Redis) used
# with two databases must not hand the second one the first one's settings, limiter counts or chat
# identities. CACHE_KEY_PREFIX, when set, wins (also over a key_prefix in CACHE_URL).
_explicit_prefix = env.str("CACHE_KEY_PREFIX", default="")
CACHE_KEY_PREFIX = _explicit_prefix or (
    "db-" + hashlib.sha256(_database_identity(DATABASES["default"]).encode()).hexdigest()[:12]
)
for _cache in CACHES.values():
    if _explicit_prefix:
        _cache["KEY_PREFIX"] = CACHE_KEY_PREFIX
    else:
        _cache.setdefault("KEY_PREFIX", CACHE_KEY_PREFIX)

# Background work: the database backend by default; TASK_BACKEND=rq puts it on Redis for many workers.
TASK_BACKEND = env.str("TASK_BACKEND", default="database")
if TASK_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq"]
    RQ_QUEUES = {"default": {"URL": env.str("RQ_REDIS_URL", default="redis://127.0.0.1:6379/1")}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif TASK_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
elif TASK_BACKEND == "dummy":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages the panel ships; each has a catalogue in locale/ (German is the complete example).
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated call then gets 401 with `WWW-Authenticate: Token`.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON nested too deeply is a 400, not a RecursionError (hubspot_integration/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "hubspot_integration.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "hubspot_integration.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SkyPanel HubSpot API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "DESCRIPTION": (
        "The panel's API. Authenticate with the admin session (and CSRF) or "
        "`Authorization: Token <key>`. Every error answers "
        '`{"success": false, "message": ..., "details": ...}`.'
    ),
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hubspot_integration.api.schema.add_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "hubspot_integration.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # urllib3 logs request URLs and retries at DEBUG; keep it quiet unless asked.
        "urllib3": {"level": "WARNING"},
        "hubspot": {"level": "WARNING"},
    },
}

# --- Production profile (issue 6): hardening when DEBUG=false, login throttling, CSP, JSON logs ---
from skypanel.security import apply as _apply_security  # noqa: E402

_apply_security(globals())

# --- Customer pages (issue 4): sign-in for customers; the admin keeps its own login page ---------
# The proxy settings the webhook signature depends on (SECURE_PROXY_SSL_HEADER,
# USE_X_FORWARDED_HOST) come from TRUST_PROXY in skypanel/security.py.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/support/tickets/"

# --- Email: sign-up verification links (the console in development; SMTP in production) ---------
# EMAIL_URL is django-environ's form, e.g. smtp+tls://user:password@smtp.example.com:587.
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SkyPanel <noreply@localhost>")
# Seconds a verification link stays valid (it also stops working once used).
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE", default=3 * 24 * 3600)
