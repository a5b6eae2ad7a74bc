"""The OAuth connection's access token: handed out while fresh, refreshed by one process at a time.

HubSpot's OAuth access tokens live 30 minutes (`expires_in` 1800). A token is refreshed once it
enters its last `HUBSPOT_OAUTH_REFRESH_MARGIN_SECONDS`, but never earlier than half-way through its
life: a margin as long as the life would make every token due the moment it arrives, and every call
would refresh. Across a deployment only one process refreshes: it holds a lock in the shared cache
(Redis in production, where `add` is atomic), reads the row again, and refreshes only if nobody did
it meanwhile; the others wait for the new token to appear in the database. Connecting and
disconnecting take the same lock, so a refresh in flight can neither undo a disconnect nor overwrite
a new connection.

A refresh HubSpot refuses (revoked app, deleted refresh token) is recorded on the settings row as the
"reconnect" message the settings page and the connection check show; until an admin reconnects,
every call fails at once with `errors.ReconnectNeeded` instead of asking HubSpot again.
"""

from __future__ import annotations

import logging
import secrets
import time
from contextlib import contextmanager
from datetime import timedelta

from django.core.cache import cache, caches
from django.core.cache.backends.filebased import FileBasedCache
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..client import OAuthEndpoints
from ..conf import app_settings
from ..models import HubSpotSettings

logger = logging.getLogger(__name__)

LOCK_KEY = "hubspot:oauth:refresh-lock"
LIFETIME_KEY = "hubspot:oauth:lifetime"  # seconds the current access token was issued for
DEFAULT_LIFETIME = 1800  # HubSpot's documented access-token life, when an answer omits it
_POLL_SECONDS = 0.1
_CONFIRM_SECONDS = 0.05

TOKEN_FIELDS = ["oauth_access_token", "oauth_expires_at", "oauth_refresh_token", "oauth_error"]
# Everything about the connection the admin form never edits: a form save must not write back the
# copy it read before a refresh (see HubSpotSettingsAdmin.save_model).
CONNECTION_FIELDS = [*TOKEN_FIELDS, "oauth_scopes", "oauth_connected_at"]

RECONNECT_MESSAGE = gettext_lazy(
    "HubSpot refused to refresh the OAuth connection (%(reason)s): reconnect with Connect with "
    "HubSpot on the HubSpot settings page."
)


# --- freshness ---------------------------------------------------------------------------------------
def refresh_margin() -> float:
    """Seconds before expiry at which a token is due: the configured margin, at most half the life
    the current token was issued for."""
    lifetime = cache.get(LIFETIME_KEY) or DEFAULT_LIFETIME
    return max(0.0, min(float(app_settings.OAUTH_REFRESH_MARGIN_SECONDS), lifetime / 2))


def is_fresh(s: HubSpotSettings, *, now=None) -> bool:
    """Whether the stored access token is outside its refresh window."""
    if not s.oauth_access_token or not s.oauth_expires_at:
        return False
    now = now or timezone.now()
    return s.oauth_expires_at - timedelta(seconds=refresh_margin()) > now


def _unexpired(s: HubSpotSettings) -> bool:
    return bool(s.oauth_access_token and s.oauth_expires_at and s.oauth_expires_at > timezone.now())


def store_tokens(s: HubSpotSettings, answer: dict, *, now=None) -> HubSpotSettings:
    """Copy a token answer onto the row (not saved): the access token, its expiry, and the refresh
    token when HubSpot sends a new one (it may rotate it). Clears the reconnect message."""
    now = now or timezone.now()
    access = str(answer.get("access_token") or "")
    if not access:
        raise errors.Unavailable(
            _("HubSpot's token answer held no access token."), reason="bad_answer"
        )
    try:
        lifetime = int(answer.get("expires_in") or DEFAULT_LIFETIME)
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    # The expiry HubSpot gave, not a rounded-up one: a token believed alive past its real end is
    # sent, refused (401) and refreshed anyway, one wasted call later.
    lifetime = max(lifetime, 0)
    s.oauth_access_token = access
    s.oauth_expires_at = now + timedelta(seconds=lifetime)
    if answer.get("refresh_token"):
        s.oauth_refresh_token = str(answer["refresh_token"])
    s.oauth_error = ""
    cache.set(LIFETIME_KEY, lifetime or DEFAULT_LIFETIME, None)
    return s


def _reload() -> HubSpotSettings:
    return HubSpotSettings.get_solo()


# --- the deployment-wide lock ------------------------------------------------------------------------
def _acquire(owner: str) -> bool:
    if not cache.add(LOCK_KEY, owner, timeout=app_settings.OAUTH_REFRESH_LOCK_SECONDS):
        return False
    if isinstance(caches["default"], FileBasedCache):  # `cache` is a proxy: ask the backend
        # The file cache's add() is "check, then write": two processes can both pass the check.
        # The last writer's file wins; after a moment only that process still sees its own name.
        time.sleep(_CONFIRM_SECONDS)
        return cache.get(LOCK_KEY) == owner
    return True


def _release(owner: str) -> None:
    if cache.get(LOCK_KEY) == owner:
        cache.delete(LOCK_KEY)


@contextmanager
def refresh_lock(wait: float | None = None):
    """Hold the OAuth lock while changing the stored tokens. Yields whether it was got: after
    `wait` seconds (default: the lock's own life, after which a dead holder's lock lapses) the
    caller goes ahead without it rather than fail an admin's connect or disconnect."""
    owner = secrets.token_hex(8)
    limit = app_settings.OAUTH_REFRESH_LOCK_SECONDS if wait is None else wait
    deadline = time.monotonic() + limit
    held = _acquire(owner)
    while not held and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        held = _acquire(owner)
    if not held:
        logger.warning("Changing the HubSpot OAuth tokens without the refresh lock (waited out)")
    try:
        yield held
    finally:
        if held:
            _release(owner)


# --- the bearer ----------------------------------------------------------------------------------------
class OAuthTokenSource:
    """A callable bearer for `HubSpotClient`: the current access token, refreshed when due."""

    def __call__(self) -> str:
        s = HubSpotSettings.load()
        if s.undecryptable_credential:
            raise errors.SecretUndecryptable(s.undecryptable_message(s.undecryptable_credential))
        if s.oauth_error:
            raise errors.ReconnectNeeded(s.oauth_error)
        if not s.oauth_refresh_token:
            raise errors.NotConfigured(
                _(
                    "HubSpot is not connected: press Connect with HubSpot on the HubSpot settings page."
                )
            )
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
            found = self._usable(_reload(), stale)
            if found:
                return found
            if _acquire(owner):
                try:
                    return self._refresh_locked(stale, force=force)
                finally:
                    _release(owner)
            if time.monotonic() > deadline:
                raise errors.Unavailable(
                    _("Another process is refreshing the HubSpot connection; try again shortly."),
                    reason="timeout",
                )
            time.sleep(_POLL_SECONDS)

    @staticmethod
    def _usable(current: HubSpotSettings, stale: str) -> str | None:
        """The row's token if another process replaced the stale one with a live one; raises when
        the connection is broken or gone."""
        if current.oauth_error:
            raise errors.ReconnectNeeded(current.oauth_error)
        if not current.oauth_refresh_token:
            raise errors.NotConfigured(
                _(
                    "HubSpot is not connected: press Connect with HubSpot on the HubSpot settings page."
                )
            )
        # A token newer than the one we found due is HubSpot's latest: take it even if the margin
        # already counts it as due (it is live), rather than refresh a second time.
        if current.oauth_access_token != stale and _unexpired(current):
            return current.oauth_access_token
        return None

    def _refresh_locked(self, stale: str, *, force: bool = False) -> str:
        s = _reload()
        found = self._usable(s, stale)
        if found:
            return found  # refreshed by another process just before we locked
        used = s.oauth_refresh_token
        try:
            answer = OAuthEndpoints().token(
                {
                    "grant_type": "refresh_token",
                    "client_id": s.oauth_client_id,
                    "client_secret": s.oauth_client_secret,
                    "refresh_token": used,
                }
            )
        except (errors.ValidationFailed, errors.AuthError, errors.ForbiddenError) as err:
            # 400 invalid_grant / 401: the refresh token or the app is gone. Retrying cannot
            # help; an admin must reconnect.
            logger.warning("HubSpot refused to refresh the OAuth connection: %s", err)
            message = str(RECONNECT_MESSAGE) % {"reason": _reason(err)}
            current = _reload()
            if current.oauth_refresh_token == used:  # not reconnected meanwhile
                current.oauth_error = message
                current.save(update_fields=["oauth_error", "updated_at"])
            raise errors.ReconnectNeeded(message) from err
        except (errors.Unavailable, errors.RateLimited) as err:
            if force or not _unexpired(s):
                raise
            # HubSpot's token endpoint is having a moment, but the token we hold still works for
            # the rest of its margin: use it, and try again on a later call.
            logger.warning(
                "Could not refresh the HubSpot OAuth token yet (%s); using the current one", err
            )
            return s.oauth_access_token
        store_tokens(s, answer)
        s.save(update_fields=[*TOKEN_FIELDS, "updated_at"])
        logger.info("Refreshed the HubSpot OAuth access token (expires %s)", s.oauth_expires_at)
        return s.oauth_access_token


def _reason(err: errors.HubSpotError) -> str:
    # "HubSpot rejected the request (400): missing or invalid refresh token" -> "400: missing ..."
    said = err.message.split("): ", 1)[1] if "): " in err.message else err.message
    return f"{err.status}: {said.rstrip('.')}" if err.status else said.rstrip(".")
