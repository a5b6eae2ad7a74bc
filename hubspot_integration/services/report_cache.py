"""The dashboard's cache: one entry per card and portal, with the time its data was fetched.

Keys carry the settings' `updated_at`, so saving the settings (a new token or portal) makes every
cached card unreachable at once, and a generation number that "Refresh" bumps for the same effect
without touching the settings. Errors are never cached: the next load asks HubSpot again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from ..models import HubSpotSettings

DEFAULT_TTL = 300


@dataclass
class Fetched:
    data: Any
    fetched_at: datetime
    from_cache: bool = False


def _generation_key(s: HubSpotSettings) -> str:
    return f"hubspot:dash:gen:{s.portal_id or '-'}"


def _key(s: HubSpotSettings, name: str) -> str:
    stamp = s.updated_at.timestamp() if s.updated_at else 0
    generation = cache.get(_generation_key(s), 0)
    raw = f"{s.portal_id or '-'}:{stamp}:{generation}:{name}"
    # Hashed: memcached refuses long keys and keys with spaces, and the params may hold either.
    return "hubspot:dash:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def ttl(s: HubSpotSettings | None = None) -> int:
    seconds = (s or HubSpotSettings.load()).dashboard_cache_seconds
    return DEFAULT_TTL if seconds is None else int(seconds)


def cached(name: str, fetch: Callable[[], Any], *, settings: HubSpotSettings | None = None):
    """`fetch()`'s result for this portal, from the cache while it is younger than the TTL."""
    s = settings or HubSpotSettings.load()
    key = _key(s, name)
    hit = cache.get(key)
    if hit is not None:
        return Fetched(hit["data"], hit["fetched_at"], from_cache=True)
    data = fetch()
    now = timezone.now()
    seconds = ttl(s)
    if seconds > 0:
        cache.set(key, {"data": data, "fetched_at": now}, seconds)
    return Fetched(data, now)


def invalidate(settings: HubSpotSettings | None = None) -> None:
    """Forget every card of this portal (the "Refresh" button)."""
    s = settings or HubSpotSettings.load()
    # A fresh stamp, not `incr`: some backends' incr resets the timeout, and a generation that
    # expired back to 0 would bring old entries back.
    cache.set(_generation_key(s), time.time_ns(), None)
