"""The stored HubSpot credential, turned into a client.

Whatever kind an admin stored (service key, app static token, legacy private-app token, OAuth
connection), callers ask for `get_client()` and get a `HubSpotClient` whose bearer is current.
Clients are pooled per credential so connections are reused across requests.
"""

from __future__ import annotations

import threading

from . import errors
from .client import HubSpotClient
from .conf import app_settings
from .models import HubSpotSettings
from .oauth.tokens import OAuthTokenSource

_clients: dict[tuple, HubSpotClient] = {}
_clients_lock = threading.Lock()
_MAX_POOLED = 16  # old credentials after a rotation are dropped past this many


def bearer_source(s: HubSpotSettings):
    """The bearer for the stored credential: a fixed token, or OAuth's refreshing source."""
    unreadable = s.undecryptable_credential
    if unreadable:
        raise errors.SecretUndecryptable(s.undecryptable_message(unreadable))
    if s.uses_oauth:
        if not s.oauth_refresh_token:
            raise errors.NotConfigured(
                "HubSpot is set to connect by OAuth, but no connection is made yet: press "
                "Connect with HubSpot on the HubSpot settings page."
            )
        return OAuthTokenSource()
    if not s.access_token:
        raise errors.NotConfigured(
            f"No HubSpot {s.credential_label} is stored in the HubSpot settings."
        )
    return s.access_token


def get_client(settings_obj=None, *, require_enabled: bool = True, max_wait: float = 2.0):
    """The client for the stored settings, reused across calls so connections are pooled."""
    s = settings_obj or HubSpotSettings.load()
    if require_enabled and not s.enabled:
        raise errors.NotConfigured("HubSpot is switched off in the HubSpot settings.")
    source = bearer_source(s)
    # An OAuth source reads the current token itself, so one client serves every refresh.
    identity = ("oauth", s.oauth_client_id) if s.uses_oauth else ("token", source)
    key = (
        identity,
        s.portal_id,
        app_settings.API_BASE_URL,
        app_settings.FORMS_BASE_URL,
        app_settings.API_VERSION,
        app_settings.TIMEOUT,
        s.rate_limit_per_10s,
        max_wait,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if len(_clients) > _MAX_POOLED:
                _clients.clear()
            client = HubSpotClient(
                source,
                portal_id=s.portal_id,
                calls_per_10s=s.rate_limit_per_10s,
                max_wait=max_wait,
            )
            _clients[key] = client
        return client


def reset_clients() -> None:
    with _clients_lock:
        _clients.clear()
