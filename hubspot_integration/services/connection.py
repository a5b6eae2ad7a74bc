"""The connection check: each part of a working HubSpot setup, tested and reported on its own."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from django.utils import timezone

from .. import errors
from ..client import HubSpotClient
from ..credentials import get_client
from ..models import HubSpotSettings

logger = logging.getLogger(__name__)

# What each feature needs of the private app. Contacts are the panel's core and always needed.
FEATURE_SCOPES = {
    "contacts": ["crm.objects.contacts.read", "crm.objects.contacts.write"],
    "tickets": ["tickets"],
    "forms": ["forms"],
    "chat visitor identification": ["conversations.visitor_identification.tokens.create"],
}
SLOW_ROUND_TRIP_MS = 2000


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


def required_scopes(s: HubSpotSettings) -> dict[str, list[str]]:
    features = {"contacts": FEATURE_SCOPES["contacts"]}
    if s.tickets_enabled:
        features["tickets"] = FEATURE_SCOPES["tickets"]
    if s.ticket_form_id or s.contact_form_id:
        features["forms"] = FEATURE_SCOPES["forms"]
    if s.chat_enabled:
        features["chat visitor identification"] = FEATURE_SCOPES["chat visitor identification"]
    return features


def check_connection(s: HubSpotSettings | None = None, *, store: bool = True) -> ConnectionReport:
    s = s or HubSpotSettings.load()
    checks: list[Check] = []
    if not s.access_token:
        checks.append(Check("configuration", False, "No private-app token is stored."))
        return _finish(s, checks, {}, store=store)
    if not s.portal_id:
        checks.append(Check("configuration", False, "No portal ID is stored."))

    try:
        client = get_client(s, require_enabled=False, max_wait=5.0)
        response = client.account_details()
    except errors.HubSpotError as err:
        logger.warning("HubSpot connection check failed: %s", err)
        checks.append(Check("token", False, describe_error(err)))
        return _finish(s, checks, {}, store=store)

    account = response.data if isinstance(response.data, dict) else {}
    checks.append(Check("token", True, "HubSpot accepted the private-app token."))
    checks.append(_portal_check(s, account))
    checks.append(_region_check(s, account))
    checks.append(_scopes_check(s, client))
    checks.append(_rate_limit_check(response.headers))
    checks.append(_round_trip_check(response.elapsed_ms))
    return _finish(s, checks, _public_account(account), store=store)


def describe_error(err: errors.HubSpotError) -> str:
    """Plain words for each way the connection can fail."""
    if isinstance(err, errors.AuthError):
        return (
            "Wrong token: HubSpot refused it (401). Copy the access token of the private app again."
        )
    if isinstance(err, errors.ForbiddenError):
        return str(err)
    if isinstance(err, errors.RateLimited):
        return f"Rate limited by HubSpot (429): {err}"
    if isinstance(err, errors.Unavailable):
        words = {
            "server_error": f"HubSpot is down or failing ({err.status or '5xx'}); try again later.",
            "timeout": f"Timeout: {err.message}",
            "dns": f"DNS failure: {err.message}",
            "unreachable": f"Host unreachable: {err.message}",
            "dropped": f"Connection dropped: {err.message}",
        }
        return words.get(err.reason, str(err))
    return str(err)


def _portal_check(s: HubSpotSettings, account: dict) -> Check:
    actual = str(account.get("portalId", ""))
    if not s.portal_id:
        return Check(
            "portal_id", False, f"No portal ID is stored; the token's account is {actual}."
        )
    if actual == s.portal_id:
        return Check("portal_id", True, f"Portal ID {actual} matches the token's account.")
    return Check(
        "portal_id",
        False,
        f"Portal ID {s.portal_id} does not match the token's account ({actual}).",
    )


def _region_check(s: HubSpotSettings, account: dict) -> Check:
    region = str(account.get("dataHostingLocation") or "")
    if not region:
        return Check("region", False, "HubSpot did not say where the account's data is hosted.")
    s.data_hosting_region = region
    s.ui_domain = str(account.get("uiDomain") or s.ui_domain)
    return Check("region", True, f"Account data is hosted in {region}.")


def _scopes_check(s: HubSpotSettings, client: HubSpotClient) -> Check:
    needed = required_scopes(s)
    try:
        granted = set(client.token_info().get("scopes") or [])
    except errors.HubSpotError as err:
        logger.info("Token info unavailable (%s); probing features instead", err.kind)
        return _probe_scopes(needed, client)
    missing = [
        f"{scope} (for {feature})"
        for feature, scopes in needed.items()
        for scope in scopes
        if scope not in granted
    ]
    if missing:
        return Check("scopes", False, "Missing scopes: " + ", ".join(missing) + ".")
    return Check("scopes", True, "The token has every scope the enabled features need.")


def _probe_scopes(needed: dict[str, list[str]], client: HubSpotClient) -> Check:
    # Without token info, a minimal read per feature shows a 403 for a missing scope.
    probes = {
        "contacts": lambda: client.list_objects("contacts", limit=1),
        "tickets": lambda: client.list_objects("tickets", limit=1),
        "forms": lambda: client.forms(limit=1),
    }
    missing, unverified = [], []
    for feature in needed:
        probe = probes.get(feature)
        if probe is None:
            unverified.append(feature)
            continue
        try:
            probe()
        except errors.ForbiddenError as err:
            missing.extend(err.missing_scopes or needed[feature])
        except errors.HubSpotError:
            unverified.append(feature)
    if missing:
        return Check("scopes", False, "Missing scopes: " + ", ".join(sorted(set(missing))) + ".")
    note = f" (not verifiable: {', '.join(unverified)})" if unverified else ""
    return Check("scopes", True, "The enabled features' calls are allowed" + note + ".")


def _rate_limit_check(headers: dict) -> Check:
    def number(name):
        try:
            return int(headers.get(f"x-hubspot-ratelimit-{name}", ""))
        except ValueError:
            return None

    top, left = number("max"), number("remaining")
    daily, daily_left = number("daily"), number("daily-remaining")
    if top is None or left is None:
        return Check("rate_limit", True, "HubSpot sent no rate-limit headers with this answer.")
    parts = [f"{left} of {top} calls left in the 10-second window"]
    if daily is not None and daily_left is not None:
        parts.append(f"{daily_left:,} of {daily:,} left today")
    low = left <= max(1, top // 10) or bool(
        daily_left is not None and daily and daily_left < daily // 20
    )
    return Check("rate_limit", not low, "; ".join(parts) + ("; headroom is low." if low else "."))


def _round_trip_check(elapsed_ms: float) -> Check:
    ok = elapsed_ms < SLOW_ROUND_TRIP_MS
    text = f"Round trip {elapsed_ms:.0f} ms" + ("." if ok else " (slow).")
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


def _finish(s: HubSpotSettings, checks: list[Check], account: dict, *, store: bool):
    success = bool(checks) and all(c.ok for c in checks)
    failed = [c.name for c in checks if not c.ok]
    message = (
        "Connected to HubSpot: every check passed."
        if success
        else "Connection check failed: " + ", ".join(failed) + "."
    )
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
    return ConnectionReport(success=success, message=message, checks=checks, account=account)
