"""Connect with HubSpot (OAuth authorization code) and Disconnect, for a project-based app.

As HubSpot's WordPress plugin and Drupal module do: the admin's browser goes to HubSpot's consent
page with the app's client ID, the scopes and a `state`, HubSpot sends it back to our callback with a
`code`, and the server exchanges the code (with the client secret, never seen by the browser) for an
access token and a refresh token.

The `state` is random, kept in the admin's session (bound to that session and user), used once and
expires after `HUBSPOT_OAUTH_STATE_SECONDS`: a callback that carries another state, an old one, or
none changes nothing. The redirect URI is built from the request that started the round trip and
sent unchanged with the code, as OAuth requires; it must be listed in the app's auth settings.

Scopes follow HubSpot's rules for install URLs (its "required", "conditionally required" and
"optional" scope kinds): `scope` holds `oauth`, the contacts scopes and the scopes of the features
switched on; `optional_scope` holds what the dashboard reads if the account has it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .. import errors
from ..client import OAuthEndpoints
from ..conf import app_settings
from ..fields import Undecryptable
from ..models import CredentialType, HubSpotSettings
from ..services.connection import FEATURE_SCOPES, FEATURES, required_scopes
from ..services.settings import record_audit
from .tokens import CONNECTION_FIELDS, TOKEN_FIELDS, refresh_lock, store_tokens

logger = logging.getLogger(__name__)

SESSION_KEY = "hubspot_oauth_pending"
CALLBACK_URL_NAME = "hubspot-oauth-callback"

# The app's scope configuration (app-hsmeta.json `auth`), derived from what each feature calls:
# required (always in `scope`), conditionally required (in `scope` while their feature is on) and
# optional (always in `optional_scope`: granted if the account has them, never blocking).
ALWAYS_SCOPES = ("oauth", *FEATURE_SCOPES["contacts"])
OPTIONAL_SCOPES = tuple(
    dict.fromkeys(scope for f in FEATURES if f.optional for scope in f.scopes if scope)
)
CONDITIONAL_SCOPES = tuple(
    dict.fromkeys(
        scope
        for f in FEATURES
        if not f.optional
        for scope in f.scopes
        if scope not in ALWAYS_SCOPES and scope not in OPTIONAL_SCOPES
    )
)
# What Disconnect clears; the client ID and secret stay, so reconnecting is one click.
_CLEARED = {
    "oauth_access_token": "",
    "oauth_refresh_token": "",
    "oauth_expires_at": None,
    "oauth_scopes": [],
    "oauth_error": "",
    "oauth_connected_at": None,
}


class ConnectError(errors.PanelError):
    """The round trip failed; the message is for the admin and holds no secret."""

    kind = "oauth_connect"
    status_code = 400
    default_message = gettext_lazy("The Connect with HubSpot round trip failed.")


@dataclass
class Connected:
    portal_id: str
    previous_portal_id: str
    scopes: list[str]
    missing: list[str] = field(default_factory=list)  # needed by enabled features, not granted
    note: str = ""


@dataclass
class Disconnected:
    confirmed: bool  # HubSpot confirmed the revocation
    note: str = ""
    was_connected: bool = True


def app_scope_config() -> dict[str, list[str]]:
    """The scopes to give the app in HubSpot (app-hsmeta.json `auth`)."""
    return {
        "requiredScopes": list(ALWAYS_SCOPES),
        "conditionallyRequiredScopes": list(CONDITIONAL_SCOPES),
        "optionalScopes": list(OPTIONAL_SCOPES),
    }


def requested_scopes(s: HubSpotSettings) -> tuple[list[str], list[str]]:
    """(scope, optional_scope) for the install URL, from the features switched on in `s`."""
    wanted = list(ALWAYS_SCOPES)
    for scopes in required_scopes(s, optional=False).values():
        wanted.extend(scope for scope in scopes if scope not in wanted)
    return wanted, [scope for scope in OPTIONAL_SCOPES if scope not in wanted]


def missing_scopes(s: HubSpotSettings, granted) -> list[str]:
    granted = set(granted or [])
    return [scope for scope in requested_scopes(s)[0] if scope not in granted]


def redirect_uri(request) -> str:
    """The callback URL HubSpot sends the admin back to: register it in the app's auth settings."""
    return request.build_absolute_uri(reverse(CALLBACK_URL_NAME))


def authorize_origins() -> list[str]:
    """Where the Connect button's redirect goes, for the settings page's CSP form-action."""
    parts = urlsplit(app_settings.OAUTH_AUTHORIZE_URL)
    if not parts.scheme or not parts.netloc:
        return []
    origins = [f"{parts.scheme}://{parts.netloc}"]
    if parts.hostname and parts.hostname.endswith(".hubspot.com"):
        origins.append(f"{parts.scheme}://*.hubspot.com")  # HubSpot sends EU accounts on to app-eu1
    return origins


def _code(text: str) -> str:
    # An OAuth error code (access_denied, ...): nothing else from the query string is echoed.
    return re.sub(r"[^A-Za-z0-9_.-]", "", text)[:60] or _("an error")


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _row() -> HubSpotSettings:
    return HubSpotSettings.get_solo()


# --- connect ------------------------------------------------------------------------------------------
def begin(request) -> str:
    """Start a round trip: remember a fresh state in the session; return HubSpot's consent URL."""
    s = _row()
    if not s.oauth_client_id or not s.oauth_client_secret:
        raise ConnectError(
            _(
                "Enter the app's OAuth client ID and client secret (its Auth tab in HubSpot) and save "
                "the settings, then press Connect with HubSpot."
            )
        )
    state = secrets.token_urlsafe(32)
    callback = redirect_uri(request)
    # One round trip at a time per session: pressing Connect again replaces the earlier state.
    request.session[SESSION_KEY] = {
        "state": _digest(state),
        "user": str(request.user.pk),
        "redirect_uri": callback,
        "expires": time.time() + app_settings.OAUTH_STATE_SECONDS,
    }
    scope, optional = requested_scopes(s)
    query = {"client_id": s.oauth_client_id, "redirect_uri": callback, "scope": " ".join(scope)}
    if optional:
        query["optional_scope"] = " ".join(optional)
    query["state"] = state
    base = app_settings.OAUTH_AUTHORIZE_URL
    joiner = "&" if urlsplit(base).query else "?"
    # Encoded as encodeURIComponent does in HubSpot's examples: spaces as %20, "/" and ":" too.
    return base + joiner + urlencode(query, safe="", quote_via=quote)


def _take_pending(request) -> dict:
    """The session's pending round trip, checked against the callback's state; removed either way
    (a state is good for one answer only)."""
    pending = request.session.pop(SESSION_KEY, None)
    state = request.GET.get("state", "")
    minutes = max(round(app_settings.OAUTH_STATE_SECONDS / 60), 1)
    if not state:
        raise ConnectError(
            _(
                "HubSpot's answer carried no state, so it cannot be tied to a Connect with HubSpot "
                "started here. Nothing was changed: press Connect with HubSpot again."
            )
        )
    if not isinstance(pending, dict) or pending.get("user") != str(request.user.pk):
        raise ConnectError(
            _(
                "This answer from HubSpot does not belong to a Connect with HubSpot started in this "
                "browser session (or it was already used). Nothing was changed: press Connect with "
                "HubSpot again."
            )
        )
    if not hmac.compare_digest(str(pending.get("state", "")), _digest(state)):
        raise ConnectError(
            _(
                "The state in HubSpot's answer does not match the Connect with HubSpot started in "
                "this browser session. Nothing was changed: press Connect with HubSpot again."
            )
        )
    if time.time() > float(pending.get("expires", 0)):
        raise ConnectError(
            ngettext(
                "The Connect with HubSpot round trip took longer than %(minutes)s minute and "
                "expired. Nothing was changed: press Connect with HubSpot again.",
                "The Connect with HubSpot round trip took longer than %(minutes)s minutes and "
                "expired. Nothing was changed: press Connect with HubSpot again.",
                minutes,
            )
            % {"minutes": minutes}
        )
    return pending


def complete(request) -> Connected:
    """Finish a round trip from the callback's query string; raises ConnectError, changing
    nothing, for anything but a good answer to the round trip this session started."""
    try:
        pending = _take_pending(request)
    except ConnectError as err:
        if request.GET.get("error"):  # say what HubSpot said, too
            raise ConnectError(
                _("%(error)s (HubSpot answered %(code)s.)")
                % {"error": err, "code": _code(request.GET["error"])}
            ) from None
        raise
    if request.GET.get("error"):
        error = _code(request.GET["error"])
        detail = request.GET.get("error_description", "")[:300]
        if detail:
            # HubSpot's own description stays as HubSpot wrote it.
            text = _(
                "HubSpot did not connect the app (%(error)s: %(detail)s). Nothing was changed."
            )
        else:
            text = _("HubSpot did not connect the app (%(error)s). Nothing was changed.")
        raise ConnectError(text % {"error": error, "detail": detail})
    code = request.GET.get("code", "")
    if not code:
        raise ConnectError(
            _("HubSpot's answer carried no authorization code. Nothing was changed.")
        )

    s = _row()
    endpoints = OAuthEndpoints()
    credentials = {"client_id": s.oauth_client_id, "client_secret": s.oauth_client_secret}
    try:
        answer = endpoints.token(
            {
                "grant_type": "authorization_code",
                **credentials,
                "redirect_uri": pending["redirect_uri"],
                "code": code,
            }
        )
    except (errors.ValidationFailed, errors.AuthError, errors.ForbiddenError) as err:
        logger.warning("HubSpot refused the OAuth authorization code: %s", err)
        raise ConnectError(
            _(
                "HubSpot refused to exchange the authorization code (%(error)s). Check the client "
                "ID and secret, and that this page's redirect URL is in the app's auth settings; "
                "then press Connect with HubSpot again. Nothing was changed."
            )
            % {"error": err}
        ) from err
    except errors.HubSpotError as err:
        logger.warning("The OAuth code exchange failed: %s", err)
        raise ConnectError(
            _(
                "HubSpot could not be reached to finish connecting (%(error)s). Nothing was "
                "changed: press Connect with HubSpot again."
            )
            % {"error": err}
        ) from err
    if not answer.get("access_token") or not answer.get("refresh_token"):
        raise ConnectError(
            _("HubSpot's token answer lacked the access or refresh token. Nothing was changed.")
        )

    info, note = _introspect(endpoints, credentials, answer["access_token"])
    if info.get("active") is False:
        raise ConnectError(
            _(
                "HubSpot says the token it just issued is not active. Nothing was changed: press "
                "Connect with HubSpot again."
            )
        )
    hub_id = str(info.get("hub_id") or answer.get("hub_id") or "")
    scopes = sorted(set(info.get("scopes") or answer.get("scopes") or []))
    return _store_connection(request.user, answer, hub_id, scopes, note)


def _introspect(endpoints, credentials, access_token) -> tuple[dict, str]:
    """The token's portal and scopes, from HubSpot's introspection endpoint. When it cannot be
    read, the token answer's own `hub_id` and `scopes` serve (HubSpot sends both since 2025)."""
    try:
        info = endpoints.introspect(
            {**credentials, "token": access_token, "token_type_hint": "access_token"}
        )
    except errors.HubSpotError as err:
        logger.warning("Could not introspect the new OAuth token: %s", err)
        return {}, _("HubSpot's token introspection did not answer; the token answer was used.")
    return (info if isinstance(info, dict) else {}), ""


def _store_connection(actor, answer, hub_id, scopes, note) -> Connected:
    with refresh_lock(wait=10), transaction.atomic():
        s = HubSpotSettings.get_solo(for_update=True)
        previous_portal = s.portal_id
        before = {name: getattr(s, name) for name in ["credential_type", *CONNECTION_FIELDS]}
        store_tokens(s, answer)
        s.credential_type = CredentialType.OAUTH
        s.oauth_connected_at = timezone.now()
        s.oauth_scopes = scopes
        if hub_id:
            s.portal_id = hub_id
        fields = ["credential_type", "portal_id", "oauth_scopes", "oauth_connected_at"]
        s.save(update_fields=[*TOKEN_FIELDS, *fields, "updated_at"])
        changed = [
            name
            for name in ["credential_type", *CONNECTION_FIELDS]
            if getattr(s, name) != before[name]
        ]
        if s.portal_id != previous_portal:
            changed.append("portal_id")
        entry = record_audit(
            actor=actor, source="admin", changed_fields=changed, action="oauth_connect"
        )
        entry.summary = (
            f"Connected with HubSpot (OAuth): portal {s.portal_id or 'unknown'}, "
            f"{len(scopes)} scope(s): {', '.join(scopes)}"
        )
        entry.save(update_fields=["summary"])
    if not hub_id:
        unknown = _("HubSpot did not say which portal the token is for.")
        note = f"{note} {unknown}" if note else unknown
    logger.info("Connected with HubSpot by OAuth (portal %s)", s.portal_id or "unknown")
    return Connected(
        portal_id=s.portal_id,
        previous_portal_id=previous_portal,
        scopes=scopes,
        missing=missing_scopes(s, scopes),
        note=note.strip(),
    )


# --- disconnect -----------------------------------------------------------------------------------------
def disconnect(actor) -> Disconnected:
    """Revoke the refresh token at HubSpot and forget the tokens here, whatever HubSpot says: an
    admin who disconnects must end up disconnected. The client ID and secret are kept."""
    with refresh_lock(wait=10):
        s = _row()
        token = s.oauth_refresh_token
        confirmed, note = True, ""
        if token and s.oauth_client_id and s.oauth_client_secret:
            try:
                OAuthEndpoints().revoke(
                    {
                        "client_id": s.oauth_client_id,
                        "client_secret": s.oauth_client_secret,
                        "token": token,
                        "token_type_hint": "refresh_token",
                    }
                )
            except errors.HubSpotError as err:
                logger.warning("Could not revoke the HubSpot OAuth refresh token: %s", err)
                confirmed = False
                note = _(
                    "HubSpot could not confirm the revocation (%(error)s); the tokens are removed "
                    "here. To be sure, uninstall the app in HubSpot (Connected apps)."
                ) % {"error": err}
        elif isinstance(token, Undecryptable):
            confirmed = False
            note = _(
                "The stored refresh token cannot be decrypted (HUBSPOT_ENCRYPTION_KEYS), so it "
                "could not be revoked; the tokens are removed here. Uninstall the app in HubSpot "
                "(Connected apps) to revoke it there."
            )
        elif token:
            confirmed = False
            note = _(
                "No client secret is stored to revoke the token with; the tokens are removed "
                "here. Uninstall the app in HubSpot (Connected apps) to revoke it there."
            )
        stored = bool(token) or isinstance(token, Undecryptable)
        with transaction.atomic():
            s = HubSpotSettings.get_solo(for_update=True)
            changed = [name for name, empty in _CLEARED.items() if getattr(s, name) != empty]
            for name, empty in _CLEARED.items():
                setattr(s, name, empty)
            s.save(update_fields=[*_CLEARED, "updated_at"])
            entry = record_audit(
                actor=actor, source="admin", changed_fields=changed, action="oauth_disconnect"
            )
            if not stored:
                outcome = "no connection was stored"
            else:
                outcome = "revoked at HubSpot" if confirmed else "revocation not confirmed"
            entry.summary = f"Disconnected from HubSpot (OAuth): {outcome}"
            entry.save(update_fields=["summary"])
    logger.info("Disconnected the HubSpot OAuth connection (revocation confirmed: %s)", confirmed)
    return Disconnected(confirmed=confirmed, note=note, was_connected=stored)
