"""The dashboard's cache: one entry per card and portal, with the time its data was fetched.

Keys carry the settings' `updated_at`, so saving the settings (a new token or portal) makes every
cached card unreachable at once, and a generation number that "Refresh" bumps for the same effect
without touching the settings. Errors are never cached: the next load asks HubSpot again.

Beside each fresh entry the last good figures of the card are kept per portal, for
`HUBSPOT_DASHBOARD_KEEP_SECONDS`, through refreshes and settings saves: when HubSpot cannot be asked,
the card gets those, with their age and the error (`Fetched.error`), instead of nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.utils import timezone, translation

from .. import errors
from ..conf import app_settings
from ..models import HubSpotSettings

logger = logging.getLogger(__name__)


@dataclass
class Fetched:
    data: Any
    fetched_at: datetime
    from_cache: bool = False
    # Set when HubSpot could not be asked and these are the last good figures it gave.
    error: errors.HubSpotError | None = None

    @property
    def stale(self) -> bool:
        return self.error is not None


def _generation_key(s: HubSpotSettings) -> str:
    return f"hubspot:dash:gen:{s.portal_id or '-'}"


def _hashed(raw: str) -> str:
    # Hashed: memcached refuses long keys and keys with spaces, and the params may hold either.
    return "hubspot:dash:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def _language() -> str:
    # Cards hold labels and notes in the language of the request that filled them: a German
    # reader must not get an English reader's card (or the other way round).
    return translation.get_language() or "-"


def _key(s: HubSpotSettings, name: str) -> str:
    stamp = s.updated_at.timestamp() if s.updated_at else 0
    generation = cache.get(_generation_key(s), 0)
    return _hashed(f"{s.portal_id or '-'}:{stamp}:{generation}:{_language()}:{name}")


def _last_good_key(s: HubSpotSettings, name: str) -> str:
    # The portal, not the settings' stamp: the same account's figures, whatever was saved since.
    return _hashed(f"last-good:{s.portal_id or '-'}:{_language()}:{name}")


def ttl(s: HubSpotSettings | None = None) -> int:
    seconds = (s or HubSpotSettings.load()).dashboard_cache_seconds
    return app_settings.DASHBOARD_CACHE_SECONDS if seconds is None else int(seconds)


def cached(
    name: str,
    fetch: Callable[[], Any],
    *,
    settings: HubSpotSettings | None = None,
    keep_last_good: bool = True,
) -> Fetched:
    """`fetch()`'s result for this portal, from the cache while it is younger than the TTL.

    When HubSpot fails, the last good figures come back marked with the error (`keep_last_good`;
    pieces shared by several cards pass False, so a card never mixes old and new figures)."""
    s = settings or HubSpotSettings.load()
    key = _key(s, name)
    hit = cache.get(key)
    if hit is not None:
        return Fetched(hit["data"], hit["fetched_at"], from_cache=True)
    try:
        data = _checked(name, fetch)
    except errors.HubSpotError as err:
        # Switched off or without a credential: a setting, not HubSpot failing; no old figures.
        wanted = keep_last_good and not isinstance(err, errors.NotConfigured)
        last = cache.get(_last_good_key(s, name)) if wanted else None
        if last is None:
            raise
        return Fetched(last["data"], last["fetched_at"], from_cache=True, error=err)
    now = timezone.now()
    seconds = ttl(s)
    entry = {"data": data, "fetched_at": now}
    if seconds > 0:
        cache.set(key, entry, seconds)
    if keep_last_good:
        cache.set(_last_good_key(s, name), entry, seconds + app_settings.DASHBOARD_KEEP_SECONDS)
    return Fetched(data, now)


def _checked(name: str, fetch: Callable[[], Any]):
    """`fetch()`, with an answer of the wrong shape (JSON, but not what HubSpot documents: a
    proxy's page, a changed API) reported as HubSpot being unavailable, not as a crash."""
    try:
        return fetch()
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        logger.warning(
            "Dashboard card %s: HubSpot's answer had an unexpected shape (%r)", name, err
        )
        raise errors.Unavailable(
            "HubSpot's answer did not have the shape this report reads.", reason="bad_answer"
        ) from err


def invalidate(settings: HubSpotSettings | None = None) -> None:
    """Forget every card of this portal (the "Refresh" button); the last good figures stay."""
    s = settings or HubSpotSettings.load()
    # A fresh stamp, not `incr`: some backends' incr resets the timeout, and a generation that
    # expired back to 0 would bring old entries back.
    cache.set(_generation_key(s), time.time_ns(), None)
