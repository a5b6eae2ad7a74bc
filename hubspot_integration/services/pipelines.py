"""Reading HubSpot's pipelines: which are live, in which order, and whether a stage is closed.

Tickets, support and the dashboard all read pipelines; the rules for reading one live here once,
and so does the one cache entry per portal and object type they share.
"""

from __future__ import annotations

from django.core.cache import cache

from ..conf import app_settings
from ..credentials import get_client
from ..models import HubSpotSettings


def _live(items) -> list[dict]:
    # Archived pipelines and stages still come back from HubSpot; nobody can pick them any more.
    return sorted(
        (item for item in items or [] if not item.get("archived")),
        key=lambda item: item.get("displayOrder", 0),
    )


def ordered(pipelines: list[dict]) -> list[dict]:
    """The live pipelines, each with its live stages, in HubSpot's display order."""
    return [{**p, "stages": _live(p.get("stages"))} for p in _live(pipelines)]


def _key(object_type: str) -> str:
    return f"hubspot:pipelines:{object_type}:{HubSpotSettings.load().portal_id}"


def read(object_type: str, *, refresh: bool = False, client=None) -> list[dict]:
    """`object_type`'s pipelines (`ordered`), cached for `HUBSPOT_PIPELINES_TTL` seconds;
    `refresh` asks HubSpot even when they are cached. Raises `HubSpotError`."""
    key = _key(object_type)
    if not refresh and (hit := cache.get(key)) is not None:
        return hit
    found = ordered((client or get_client()).pipelines(object_type))
    cache.set(key, found, app_settings.PIPELINES_TTL)
    return found


def cached(object_type: str) -> list[dict] | None:
    """The cached pipelines, without asking HubSpot; None when there are none."""
    return cache.get(_key(object_type))


def forget(object_type: str) -> None:
    cache.delete(_key(object_type))


def stage_state(stage: dict) -> str:
    """ "open" or "closed" (or another state HubSpot adds). Ticket stages say it in `ticketState`,
    deal stages in `isClosed`; a stage with neither counts as open, as HubSpot shows it."""
    metadata = stage.get("metadata") or {}
    if metadata.get("ticketState"):
        return str(metadata["ticketState"]).lower()
    return "closed" if str(metadata.get("isClosed", "false")).lower() == "true" else "open"
