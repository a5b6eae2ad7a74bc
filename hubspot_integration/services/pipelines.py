"""Reading HubSpot's pipelines: which are live, in which order, and whether a stage is closed.

Tickets, support and the dashboard all read pipelines; the rules for reading one live here once.
"""

from __future__ import annotations


def _live(items) -> list[dict]:
    # Archived pipelines and stages still come back from HubSpot; nobody can pick them any more.
    return sorted(
        (item for item in items or [] if not item.get("archived")),
        key=lambda item: item.get("displayOrder", 0),
    )


def ordered(pipelines: list[dict]) -> list[dict]:
    """The live pipelines, each with its live stages, in HubSpot's display order."""
    return [{**p, "stages": _live(p.get("stages"))} for p in _live(pipelines)]


def ticket_state(stage: dict) -> str:
    """ "open" or "closed" (or another state HubSpot adds), from the stage's `ticketState`;
    a stage without one counts as open, as HubSpot shows it."""
    return str((stage.get("metadata") or {}).get("ticketState") or "OPEN").lower()
