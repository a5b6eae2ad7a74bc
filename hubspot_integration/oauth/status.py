"""The OAuth connection for the connection check: its state in plain words, and its scopes.

`oauth_status(s)` reads only the stored row (no call to HubSpot), so it answers even when HubSpot
refused a refresh or is down: the "reconnect" message is named there. `introspect_scopes(s)` asks
HubSpot which scopes the current access token holds.
"""

from __future__ import annotations

from typing import NamedTuple

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import errors
from ..client import OAuthEndpoints
from ..models import HubSpotSettings
from .tokens import OAuthTokenSource


class OAuthStatus(NamedTuple):
    ok: bool
    message: str


def oauth_status(s: HubSpotSettings) -> OAuthStatus:
    """Whether the OAuth connection is usable, and what to do when it is not."""
    if not s.uses_oauth:
        return OAuthStatus(True, "")
    if not s.oauth_client_id or not s.oauth_client_secret:
        return OAuthStatus(
            False,
            _(
                "Enter the project-based app's client ID and client secret, save, then press "
                "Connect with HubSpot."
            ),
        )
    if s.oauth_error:
        return OAuthStatus(False, _("Reconnect needed: %(error)s") % {"error": s.oauth_error})
    if not s.oauth_refresh_token:
        return OAuthStatus(False, _("Not connected: press Connect with HubSpot."))
    if s.oauth_connected_at:
        connected = _("Connected with HubSpot on %(when)s") % {
            "when": f"{timezone.localtime(s.oauth_connected_at):%Y-%m-%d %H:%M}"
        }
    else:
        connected = _("Connected with HubSpot")
    if not s.oauth_expires_at:
        return OAuthStatus(True, f"{connected}.")
    left = (s.oauth_expires_at - timezone.now()).total_seconds()
    if left > 0:
        minutes = int(left // 60)
        expiry = ngettext(
            "the access token renews automatically (this one for %(minutes)s more minute)",
            "the access token renews automatically (this one for %(minutes)s more minutes)",
            minutes,
        ) % {"minutes": minutes}
    else:
        expiry = _("the access token has lapsed and is renewed on the next call")
    return OAuthStatus(True, f"{connected}; {expiry}.")


def introspect_scopes(s: HubSpotSettings) -> list[str]:
    """The scopes HubSpot says the current access token holds (refreshing it first if due).
    Raises a HubSpotError when HubSpot cannot tell, or the token is not active."""
    token = OAuthTokenSource()()
    info = OAuthEndpoints().introspect(
        {
            "client_id": s.oauth_client_id,
            "client_secret": s.oauth_client_secret,
            "token": token,
            "token_type_hint": "access_token",
        }
    )
    if not isinstance(info, dict) or info.get("active") is False:
        raise errors.AuthError(
            _("HubSpot says the OAuth access token is not active (introspection).")
        )
    return sorted(set(info.get("scopes") or []))
