"""The connection check: each part of a working HubSpot setup, tested and reported on its own.

It names the credential kind and reads its scopes by the means that kind allows: token-info for a
legacy private app, introspection for an OAuth connection, and for a service key or an app's static
token (which HubSpot offers no scope lookup for) a minimal, side-effect-free call per scope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db import DatabaseError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..client import HubSpotClient, legacy_operations
from ..conf import app_settings
from ..credentials import get_client
from ..crm import registry
from ..models import CredentialType, HubSpotSettings
from ..oauth.status import introspect_scopes, oauth_status
from . import connection_watch

logger = logging.getLogger(__name__)

PROBE_EMAIL = "connection-check@skypanel.invalid"  # a visitor token for it changes nothing
TIERS = {
    100: gettext_lazy("Free or Starter"),
    190: gettext_lazy("Professional or Enterprise"),
    250: gettext_lazy("API capacity pack"),
}


def _always(s: HubSpotSettings) -> bool:
    return True


@dataclass(frozen=True)
class Feature:
    name: str
    scopes: tuple[str, ...]
    needed: Callable[[HubSpotSettings], bool]
    optional: bool = False  # a gap shows where it is used (a dashboard card, a ticket's page)


# Every scope the panel's calls need, by the feature that makes them.
def _object_type_feature(declared) -> Feature:
    """An object type's pages need its scopes while its switch (if it has one) is on."""
    switch = declared.enabled_by
    needed = (lambda s: bool(getattr(s, switch))) if switch else _always
    return Feature(declared.name, declared.scopes, needed, optional=declared.optional)


FEATURES = (
    *(_object_type_feature(declared) for declared in registry.object_types()),
    Feature("owners", ("crm.objects.owners.read",), lambda s: s.tickets_enabled),
    Feature(
        "dashboard",
        ("crm.objects.deals.read", "crm.objects.companies.read"),
        _always,
        optional=True,
    ),
    Feature("forms", ("forms",), lambda s: bool(s.ticket_form_id or s.contact_form_id)),
    Feature("analytics", ("business-intelligence",), _always, optional=True),
    # A customer's ticket page shows its HubSpot conversation; without the scope it says so.
    Feature(
        "ticket conversations", ("conversations.read",), lambda s: s.tickets_enabled, optional=True
    ),
    # Staff reply to a contact's chat and close or reopen its threads; without it they cannot.
    Feature("chat replies", ("conversations.write",), _always, optional=True),
    # A CSV above the settings' threshold goes up in one call; without it, by batch upserts.
    Feature("big CSV imports", ("crm.import",), _always, optional=True),
    Feature(
        "visitor identification",
        ("conversations.visitor_identification.tokens.create",),
        lambda s: s.chat_enabled,
    ),
)
FEATURE_SCOPES = {f.name: list(f.scopes) for f in FEATURES}


# How to tell, without changing anything, whether a credential holds a scope.
def _object_scope_probe(scope: str) -> Callable[[HubSpotClient], object] | None:
    """The probe of a CRM object scope (`crm.objects.<type>.read|write`, `crm.schemas.<type>.write`),
    for any object type: read one record; write or define nothing. An empty batch update, or a
    property without a name, is refused as invalid when the scope is held, 403 when it is not."""
    parts = scope.split(".")
    if len(parts) != 4 or parts[0] != "crm":
        return None
    _crm, kind, object_type, access = parts
    if kind == "objects" and access == "read":
        return lambda c: c.list_objects(object_type, limit=1)
    if kind == "objects" and access == "write":
        return lambda c: c.batch_update(object_type, [])
    if kind == "schemas" and access == "write":
        return lambda c: c.create_property(object_type, {})
    return None


_CRM_SCOPES = {
    scope
    for f in FEATURES
    for scope in f.scopes
    if scope.startswith(("crm.objects.", "crm.schemas.")) and scope != "crm.objects.owners.read"
}
PROBES: dict[str, Callable[[HubSpotClient], object]] = {
    **{scope: _object_scope_probe(scope) for scope in sorted(_CRM_SCOPES)},
    "tickets": lambda c: c.list_objects("tickets", limit=1),
    "crm.objects.owners.read": lambda c: c.owners(limit=1),
    "forms": lambda c: c.forms(limit=1),
    "business-intelligence": lambda c: c.analytics_report("totals", _today(), _today()),
    "conversations.visitor_identification.tokens.create": lambda c: c.visitor_token(PROBE_EMAIL),
    # The account's latest import, read: nothing is imported.
    "crm.import": lambda c: c.list_imports(limit=1),
    # A read filtered on a ticket ID no ticket has: an empty page when the scope is held.
    "conversations.read": lambda c: c.threads(ticket_id="0", limit=1),
    # A status change without a status: refused as invalid when the scope is held, 403 if not.
    "conversations.write": lambda c: c.update_thread("0", ""),
}


@dataclass
class Check:
    name: str
    ok: bool
    message: str


@dataclass
class ConnectionReport:
    success: bool
    message: str
    checks: list[Check] = field(default_factory=list)
    account: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def required_scopes(s: HubSpotSettings, *, optional: bool = True) -> dict[str, list[str]]:
    """Feature -> scopes, for the features the settings switch on."""
    return {
        f.name: list(f.scopes) for f in FEATURES if f.needed(s) and (optional or not f.optional)
    }


def check_connection(s: HubSpotSettings | None = None, *, store: bool = True) -> ConnectionReport:
    s = s or HubSpotSettings.load()
    checks: list[Check] = [_credential_check(s), _version_check()]
    if s.undecryptable_fields:
        # First, so the report's message names it: nothing else can be fixed before the key.
        checks.insert(0, Check("secrets", False, s.undecryptable_message()))
    if not s.has_token:
        return _finish(s, checks, {}, store=store)
    if not s.portal_id:
        checks.append(Check("configuration", False, _("No portal ID is stored.")))

    try:
        client = get_client(s, require_enabled=False, max_wait=5.0)
        response = client.account_details()
    except errors.HubSpotError as err:
        logger.warning("HubSpot connection check failed: %s", err)
        name = "token" if isinstance(err, errors.AuthError | errors.ForbiddenError) else "reach"
        checks.append(Check(name, False, describe_error(err, s)))
        return _finish(s, checks, {}, store=store)

    account = response.data if isinstance(response.data, dict) else {}
    checks.append(
        Check(
            "token",
            True,
            _("HubSpot accepted the %(credential)s.") % {"credential": s.credential_label},
        )
    )
    checks.append(_portal_check(s, account))
    checks.append(_region_check(s, account))
    checks.append(_scopes_check(s, client))
    checks.append(_webhooks_check(s))
    checks.append(_legacy_check(s))
    checks.append(_rate_limit_check(response.headers, client))
    checks.append(_round_trip_check(response.elapsed_ms))
    return _finish(s, checks, _public_account(account), store=store)


def describe_error(err: errors.HubSpotError, s: HubSpotSettings | None = None) -> str:
    """Plain words for each way the connection can fail."""
    label = s.credential_label if s else _("credential")
    if isinstance(err, errors.ReconnectNeeded):
        return str(err)
    if isinstance(err, errors.AuthError):
        return _(
            "Wrong token: HubSpot refused the %(credential)s (401). Copy it again from HubSpot, "
            "or check that the credential kind matches it."
        ) % {"credential": label}
    if isinstance(err, errors.ForbiddenError | errors.NotConfigured):
        return str(err)
    if isinstance(err, errors.RateLimited):
        return _("Rate limited by HubSpot (429): %(error)s") % {"error": err}
    if isinstance(err, errors.Unavailable):
        words = {
            "server_error": _("HubSpot is down or failing (%(status)s); try again later."),
            "timeout": _("Timeout: %(message)s"),
            "dns": _("DNS failure: %(message)s"),
            "unreachable": _("Host unreachable: %(message)s"),
            "dropped": _("Connection dropped: %(message)s"),
            "bad_answer": _("Not HubSpot answering: %(message)s"),
        }
        if err.reason not in words:
            return str(err)
        return words[err.reason] % {"status": err.status or "5xx", "message": err.message}
    return str(err)


# --- the checks ----------------------------------------------------------------------------------
def _credential_check(s: HubSpotSettings) -> Check:
    kind = s.get_credential_type_display()
    if s.undecryptable_credential:
        names = ", ".join(s.secret_label(n) for n in s.undecryptable_credential)
        return Check(
            "credential",
            False,
            _("%(kind)s: the stored %(names)s cannot be decrypted.")
            % {"kind": kind, "names": names},
        )
    if not s.has_token:
        if s.uses_oauth:
            return Check("credential", False, _("%(kind)s: not connected yet.") % {"kind": kind})
        return Check(
            "credential",
            False,
            _("%(kind)s: no %(credential)s is stored.")
            % {"kind": kind, "credential": s.credential_label},
        )
    notes = {
        CredentialType.SERVICE_KEY: _("REST calls only; HubSpot cannot send webhooks for it."),
        CredentialType.APP_STATIC_TOKEN: _("a project-based app's static token."),
        CredentialType.PRIVATE_APP: _(
            "a legacy private app: HubSpot ends support for legacy private apps in September "
            "2027; move to a service key or a project-based app before then."
        ),
        CredentialType.OAUTH: _("a project-based app connected with OAuth."),
    }
    message = _("%(kind)s: %(note)s") % {"kind": kind, "note": notes.get(s.credential_type, "")}
    if s.uses_oauth:
        status = oauth_status(s)
        return Check("credential", status.ok, f"{message} {status.message}")
    return Check("credential", True, message)


def _version_check() -> Check:
    version = app_settings.API_VERSION
    try:
        year, month = (int(part) for part in version.split("-"))
    except ValueError:
        return Check(
            "api_version",
            False,
            _("HUBSPOT_API_VERSION %(version)s is not YYYY-MM.") % {"version": repr(version)},
        )
    # Each date-based version is supported for 18 months from its release.
    end_year, end_month = year + (month + 17) // 12, (month + 17) % 12 + 1
    ends = f"{end_year}-{end_month:02d}"
    today = timezone.now().strftime("%Y-%m")
    ok = today < ends
    message = _("HubSpot API %(version)s (date-based), supported until %(ends)s.") % {
        "version": version,
        "ends": ends,
    }
    if not ok:
        past = _("It is past its support: set HUBSPOT_API_VERSION to a current version.")
        message = f"{message} {past}"
    return Check("api_version", ok, message)


def _portal_check(s: HubSpotSettings, account: dict) -> Check:
    actual = str(account.get("portalId", ""))
    if not s.portal_id:
        return Check(
            "portal_id",
            False,
            _("No portal ID is stored; the token's account is %(actual)s.") % {"actual": actual},
        )
    if actual == s.portal_id:
        return Check(
            "portal_id",
            True,
            _("Portal ID %(actual)s matches the token's account.") % {"actual": actual},
        )
    return Check(
        "portal_id",
        False,
        _("Portal ID %(stored)s does not match the token's account (%(actual)s).")
        % {"stored": s.portal_id, "actual": actual},
    )


def _region_check(s: HubSpotSettings, account: dict) -> Check:
    region = str(account.get("dataHostingLocation") or "")
    if not region:
        return Check("region", False, _("HubSpot did not say where the account's data is hosted."))
    s.data_hosting_region = region
    s.ui_domain = str(account.get("uiDomain") or s.ui_domain)
    return Check("region", True, _("Account data is hosted in %(region)s.") % {"region": region})


def _scopes_check(s: HubSpotSettings, client: HubSpotClient) -> Check:
    needed = required_scopes(s)
    granted, how = _granted_scopes(s, client)
    if granted is None:
        missing, unverified = _probe(needed, client)
        how = how or _("probed each feature's endpoint")
    else:
        missing = {scope for scopes in needed.values() for scope in scopes if scope not in granted}
        unverified = set()
    return _scope_verdict(s, needed, missing, unverified, how)


def _granted_scopes(s: HubSpotSettings, client: HubSpotClient) -> tuple[set | None, str]:
    """The credential's scopes where HubSpot can tell them; None means "probe instead"."""
    if s.credential_type == CredentialType.PRIVATE_APP:
        try:
            return set(client.token_info().get("scopes") or []), _("read by token-info")
        except errors.HubSpotError as err:
            logger.info("Token info unavailable (%s); probing features instead", err.kind)
            return None, _("token-info refused it (is it a service key?), so probed each feature")
    if s.uses_oauth:
        try:
            return set(introspect_scopes(s)), _("read by token introspection")
        except errors.HubSpotError as err:
            logger.info("Introspection unavailable (%s); probing features instead", err.kind)
            return None, _("introspection failed, so probed each feature")
    return None, ""


def _probe(needed: dict[str, list[str]], client: HubSpotClient) -> tuple[set, set]:
    missing, unverified = set(), set()
    for scope in sorted({scope for scopes in needed.values() for scope in scopes}):
        try:
            PROBES[scope](client)
        except errors.ForbiddenError as err:
            missing.update(err.missing_scopes or [scope])
            missing.add(scope)
        except (errors.ValidationFailed, errors.Conflict):
            pass  # HubSpot looked at the request, so the scope is there
        except errors.HubSpotError as err:
            logger.info("Scope probe for %s inconclusive (%s)", scope, err.kind)
            unverified.add(scope)
    return missing, unverified


def _scope_verdict(s, needed, missing, unverified, how) -> Check:
    optional = {f.name for f in FEATURES if f.optional}
    blocking, gaps = [], []
    for feature, scopes in needed.items():
        for scope in scopes:
            if scope in missing:
                entry = _("%(scope)s (for %(feature)s)") % {"scope": scope, "feature": feature}
                (gaps if feature in optional else blocking).append(entry)
    parts = []
    if blocking:
        parts.append(_("Missing scopes: %(scopes)s.") % {"scopes": ", ".join(blocking)})
    if gaps:
        parts.append(
            _("Missing for optional features (the rest of the panel works): %(scopes)s.")
            % {"scopes": ", ".join(gaps)}
        )
    if unverified:
        parts.append(
            _("Not verifiable now: %(scopes)s.") % {"scopes": ", ".join(sorted(unverified))}
        )
    if not blocking and not gaps:
        parts.insert(0, _("The credential has every scope the enabled features need."))
    parts.append(f"({how}.)")
    return Check("scopes", not blocking, " ".join(parts))


def _webhooks_check(s: HubSpotSettings) -> Check:
    if s.webhook_secret:
        if s.credential_type == CredentialType.SERVICE_KEY:
            return Check(
                "webhooks",
                True,
                _(
                    "A client secret is stored: deliveries from that app are verified (the "
                    "service key itself cannot subscribe to webhooks)."
                ),
            )
        return Check(
            "webhooks", True, _("A client secret is stored: webhook deliveries are verified.")
        )
    if s.credential_type == CredentialType.SERVICE_KEY:
        return Check(
            "webhooks",
            True,
            _(
                "Off: a service key cannot receive webhooks, so customers' ticket updates come "
                'from staff "sync now". For live updates use a project-based app and store its '
                "client secret."
            ),
        )
    return Check(
        "webhooks",
        True,
        _("Off: store the app's client secret to receive webhooks (customers' ticket updates)."),
    )


def legacy_in_use(s: HubSpotSettings) -> list[str]:
    """The legacy (numbered) endpoints the panel calls with these settings, with their dates."""
    ops = legacy_operations()
    used = ["forms.list", "forms.submissions", "analytics.report"]  # the dashboard's cards
    if s.ticket_form_id or s.contact_form_id:
        used.insert(0, "forms.submit")
    if s.credential_type == CredentialType.PRIVATE_APP:
        used.append("private_app.token_info")
    return [
        _("%(path)s (%(purpose)s; end of support %(until)s)")
        % {
            "path": ops[name].path.split("{")[0].rstrip("/"),
            "purpose": ops[name].purpose,
            "until": ops[name].legacy_until,
        }
        for name in used
    ]


def _legacy_check(s: HubSpotSettings) -> Check:
    lines = legacy_in_use(s)
    return Check(
        "legacy_endpoints",
        True,
        _("Still on numbered paths, as HubSpot has no date-based version of them: %(lines)s.")
        % {"lines": "; ".join(lines)},
    )


def _rate_limit_check(headers: dict, client: HubSpotClient) -> Check:
    def number(name):
        try:
            return int(headers.get(f"x-hubspot-ratelimit-{name}", ""))
        except ValueError:
            return None

    top, left = number("max"), number("remaining")
    interval = number("interval-milliseconds")
    parts = []
    low = False
    if top is not None:
        window = f"{interval / 1000:g} s" if interval else "10 s"
        tier = TIERS.get(top)
        values = {"top": top, "window": window, "tier": tier}
        if tier:
            parts.append(_("HubSpot allows %(top)s calls per %(window)s (%(tier)s tier)") % values)
        else:
            parts.append(_("HubSpot allows %(top)s calls per %(window)s") % values)
        if left is not None:
            parts.append(_("%(left)s left in this window") % {"left": left})
            low = left <= max(1, top // 10)
    else:
        parts.append(_("HubSpot sent no rate-limit headers with this answer"))
    daily = _daily_usage(client, headers)
    if daily:
        used, limit = daily
        parts.append(
            _("%(used)s of %(limit)s calls used today")
            % {"used": _grouped(used), "limit": _grouped(limit)}
        )
        low = low or (limit and limit - used < limit // 20)
    else:
        parts.append(_("the daily budget is not readable with this credential"))
    if low:
        return Check(
            "rate_limit", False, _("%(parts)s; headroom is low.") % {"parts": "; ".join(parts)}
        )
    return Check("rate_limit", True, "; ".join(parts) + ".")


def _grouped(number: int) -> str:
    """1,000 in English, 1.000 in German: the thousands separator of the active language."""
    return number_format(number, force_grouping=True)


def _daily_usage(client: HubSpotClient, headers: dict) -> tuple[int, int] | None:
    try:
        data = client.daily_usage()
    except errors.HubSpotError as err:
        logger.info("Daily API usage not readable (%s)", err.kind)
        data = {}
    for row in data.get("results") or []:
        if row.get("name") == "api-calls-daily":
            try:
                return int(row.get("currentUsage") or 0), int(row.get("usageLimit") or 0)
            except (TypeError, ValueError):
                break
    # Older answers carried the day's figures in headers instead.
    try:
        limit = int(headers.get("x-hubspot-ratelimit-daily", ""))
        left = int(headers.get("x-hubspot-ratelimit-daily-remaining", ""))
    except ValueError:
        return None
    return limit - left, limit


def _round_trip_check(elapsed_ms: float) -> Check:
    ok = elapsed_ms < app_settings.CONNECTION_SLOW_MS
    values = {"ms": f"{elapsed_ms:.0f}"}
    text = _("Round trip %(ms)s ms.") % values if ok else _("Round trip %(ms)s ms (slow).") % values
    return Check("round_trip", ok, text)


def _public_account(account: dict) -> dict:
    keys = (
        "portalId",
        "uiDomain",
        "dataHostingLocation",
        "timeZone",
        "companyCurrency",
        "accountType",
    )
    return {k: account[k] for k in keys if k in account}


def _today() -> str:
    return timezone.now().strftime("%Y%m%d")


def _finish(s: HubSpotSettings, checks: list[Check], account: dict, *, store: bool):
    success = bool(checks) and all(c.ok for c in checks)
    failed = [c for c in checks if not c.ok]
    if success:
        message = _("Connected to HubSpot: every check passed.")
    else:
        # The first failure is the cause to fix first; later ones may only follow from it.
        message = _("Connection check failed (%(name)s): %(message)s") % {
            "name": failed[0].name,
            "message": failed[0].message,
        }
        if len(failed) > 1:
            also = _("Also failing: %(names)s.") % {"names": ", ".join(c.name for c in failed[1:])}
            message = f"{message} {also}"
    if store and s.pk:
        s.last_check_at = timezone.now()
        s.last_check_ok = success
        s.save(
            update_fields=[
                "last_check_at",
                "last_check_ok",
                "data_hosting_region",
                "ui_domain",
                "updated_at",
            ]
        )
    report = ConnectionReport(success=success, message=message, checks=checks, account=account)
    if store and s.pk:
        # The watch keeps what the banner, /api/health and the admins' email need. Losing one
        # record must not cost the admin the report they asked for.
        try:
            connection_watch.record(s, report, at=s.last_check_at)
        except DatabaseError:
            logger.exception("The connection check's result was not recorded for the watch")
    return report
