"""The OAuth connection's access token: handed out while fresh, refreshed by one process at a time.

HubSpot's OAuth access tokens live about 30 minutes and a new one is taken in the old one's last
30 minutes (`HUBSPOT_OAUTH_REFRESH_MARGIN_SECONDS`). Across a deployment only one process refreshes:
it holds a lock in the shared cache (Redis in production, where `add` is atomic), reads the row
again, and refreshes only if nobody did it meanwhile; the others wait for the new token to appear in
the database. A refresh HubSpot refuses (revoked app, deleted refresh token) is recorded on the
settings row as the "reconnect" message the settings page and the connection check show.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from .. import errors
from ..client import OAuthEndpoints
from ..conf import app_settings
from ..models import HubSpotSettings

logger = logging.getLogger(__name__)

LOCK_KEY = "hubspot:oauth:refresh-lock"
_POLL_SECONDS = 0.1


def is_fresh(s: HubSpotSettings, *, now=None) -> bool:
    """Whether the stored access token is outside its refresh window."""
    if not s.oauth_access_token or not s.oauth_expires_at:
        return False
    now = now or timezone.now()
    margin = timedelta(seconds=app_settings.OAUTH_REFRESH_MARGIN_SECONDS)
    return s.oauth_expires_at - margin > now


def store_tokens(s: HubSpotSettings, answer: dict, *, now=None) -> HubSpotSettings:
    """Copy a token answer onto the row (not saved): the access token, its expiry, and the refresh
    token when HubSpot sends a new one (it may rotate it)."""
    now = now or timezone.now()
    access = str(answer.get("access_token") or "")
    if not access:
        raise errors.Unavailable(
            "HubSpot's token answer held no access token.", reason="bad_answer"
        )
    s.oauth_access_token = access
    try:
        lifetime = int(answer.get("expires_in") or 1800)
    except (TypeError, ValueError):
        lifetime = 1800
    s.oauth_expires_at = now + timedelta(seconds=max(lifetime, 60))
    if answer.get("refresh_token"):
        s.oauth_refresh_token = str(answer["refresh_token"])
    s.oauth_error = ""
    return s


TOKEN_FIELDS = ["oauth_access_token", "oauth_expires_at", "oauth_refresh_token", "oauth_error"]


def _reload() -> HubSpotSettings:
    return HubSpotSettings.objects.get(pk=HubSpotSettings.SINGLETON_PK)


class OAuthTokenSource:
    """A callable bearer for `HubSpotClient`: the current access token, refreshed when due."""

    def __call__(self) -> str:
        s = HubSpotSettings.load()
        if s.oauth_error:
            raise errors.ReconnectNeeded(s.oauth_error)
        if is_fresh(s):
            return s.oauth_access_token
        return self._refresh(stale=s.oauth_access_token)

    def refresh(self, stale: str) -> str:
        """After a 401: the token HubSpot refused must not be handed out again."""
        return self._refresh(stale=stale, force=True)

    def _refresh(self, *, stale: str, force: bool = False) -> str:
        deadline = time.monotonic() + app_settings.OAUTH_REFRESH_LOCK_SECONDS
        owner = secrets.token_hex(8)
        while True:
            # Someone else may have refreshed while we waited (or before we looked).
            current = _reload()
            if current.oauth_error:
                raise errors.ReconnectNeeded(current.oauth_error)
            if current.oauth_access_token != stale and (is_fresh(current) or force):
                return current.oauth_access_token
            if cache.add(LOCK_KEY, owner, timeout=app_settings.OAUTH_REFRESH_LOCK_SECONDS):
                try:
                    return self._refresh_locked(stale, force=force)
                finally:
                    if cache.get(LOCK_KEY) == owner:
                        cache.delete(LOCK_KEY)
            if time.monotonic() > deadline:
                raise errors.Unavailable(
                    "Another process is refreshing the HubSpot connection; try again shortly.",
                    reason="timeout",
                )
            time.sleep(_POLL_SECONDS)

    def _refresh_locked(self, stale: str, *, force: bool) -> str:
        s = _reload()
        if s.oauth_access_token != stale and (is_fresh(s) or force):
            return s.oauth_access_token  # refreshed by another process just before we locked
        if not s.oauth_refresh_token:
            raise errors.ReconnectNeeded()
        try:
            answer = OAuthEndpoints().token(
                {
                    "grant_type": "refresh_token",
                    "client_id": s.oauth_client_id,
                    "client_secret": s.oauth_client_secret,
                    "refresh_token": s.oauth_refresh_token,
                }
            )
        except (errors.ValidationFailed, errors.AuthError, errors.ForbiddenError) as err:
            # 400 invalid_grant / 401: the refresh token or the app is gone. Retrying cannot
            # help; an admin must reconnect.
            logger.warning("HubSpot refused to refresh the OAuth connection: %s", err)
            s.oauth_error = (
                "HubSpot refused to refresh the OAuth connection "
                f"({err.status or 'refused'}): reconnect with Connect with HubSpot on the "
                "HubSpot settings page."
            )
            s.save(update_fields=["oauth_error", "updated_at"])
            raise errors.ReconnectNeeded(s.oauth_error) from err
        store_tokens(s, answer)
        s.save(update_fields=[*TOKEN_FIELDS, "updated_at"])
        logger.info("Refreshed the HubSpot OAuth access token (expires %s)", s.oauth_expires_at)
        return s.oauth_access_token
