"""HubSpot owners (the people tickets are assigned to), cached for a few minutes: shared data."""

from __future__ import annotations

from django.core.cache import cache

from ..conf import app_settings
from ..credentials import get_client
from ..models import HubSpotSettings


def owners(*, refresh: bool = False) -> list[dict]:
    key = f"hubspot:owners:{HubSpotSettings.load().portal_id}"
    if not refresh and (cached := cache.get(key)) is not None:
        return cached
    found = [o for o in get_client().owners(limit=100) if not o.get("archived")]
    cache.set(key, found, app_settings.OWNERS_TTL)
    return found
