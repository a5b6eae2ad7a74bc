"""HubSpot's state of a ticket applied to the panel's CustomerTicket rows (webhooks, "sync now").

Customers see their tickets' stage from these rows, never from a live HubSpot call; a change that
is news to them (a new stage, closed, deleted) records the email it owes them in the same
transaction (services/ticket_notifications.py).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import errors
from ..credentials import get_client
from ..models import CustomerTicket
from ..tickets import service as tickets
from . import pipelines, ticket_notifications


def stage_info(pipeline_id: str, stage_id: str) -> tuple[str, str, str]:
    """(pipeline, label, open/closed) for a stage, from the cached pipelines or a fresh read
    (cached for minutes, so a stream of webhook events costs one HubSpot call at most)."""
    try:
        known = tickets.pipelines()
    except errors.HubSpotError:
        known = tickets.cached_pipelines() or []
    for p in known:
        for st in p.get("stages") or []:
            if st["id"] == stage_id and (not pipeline_id or p["id"] == pipeline_id):
                return p["id"], st["label"], pipelines.stage_state(st)
    return pipeline_id, stage_id, CustomerTicket.Status.OPEN


def apply_stage(ticket: CustomerTicket, stage_id: str, *, pipeline_id: str = "") -> None:
    pipeline, label, state = stage_info(pipeline_id or ticket.pipeline, stage_id)
    ticket.pipeline = pipeline or ticket.pipeline
    ticket.stage = stage_id
    ticket.stage_label = label
    ticket.status = state


def _cause(event_id: str, fallback: str) -> str:
    # The event ID decides: HubSpot's redelivery of one event is one email, however it arrives.
    return f"event:{event_id}" if event_id else fallback


def _save(ticket: CustomerTicket, old_stage: str, old_status: str, cause: str) -> None:
    # The change and the email it owes the customer are stored together or not at all.
    with transaction.atomic():
        ticket.save()
        ticket_notifications.record_change(
            ticket, old_stage=old_stage, old_status=old_status, key=cause
        )


def apply_ticket_change(
    hubspot_id: str, name: str, value: str, *, at=None, event_id: str = ""
) -> int:
    """A property change HubSpot reported (`event_id`: the webhook event's); returns how many
    local tickets it touched."""
    at = at or timezone.now()
    changed = 0
    for ticket in CustomerTicket.objects.filter(hubspot_id=hubspot_id):
        # HubSpot's times are whole milliseconds: compare at that precision.
        last = ticket.updated_at.replace(microsecond=ticket.updated_at.microsecond // 1000 * 1000)
        if ticket.status == CustomerTicket.Status.DELETED or last > at:
            continue  # an older event arriving late must not undo a newer one
        old_stage, old_status = ticket.stage, ticket.status
        if name == "hs_pipeline_stage":
            apply_stage(ticket, value)
        elif name == "hs_pipeline":
            ticket.pipeline = value
        elif name == "hs_ticket_priority":
            ticket.priority = value
        else:
            continue
        ticket.updated_at = at
        _save(ticket, old_stage, old_status, _cause(event_id, f"{name}:{value}:{at.isoformat()}"))
        changed += 1
    return changed


def mark_deleted(hubspot_id: str, *, at=None, event_id: str = "") -> int:
    at = at or timezone.now()
    rows = CustomerTicket.objects.filter(hubspot_id=hubspot_id)
    with transaction.atomic():
        before = list(rows)
        touched = rows.update(status=CustomerTicket.Status.DELETED, updated_at=at)
        for ticket in before:
            old_status, ticket.status = ticket.status, CustomerTicket.Status.DELETED
            ticket_notifications.record_change(
                ticket, old_stage=ticket.stage, old_status=old_status, key=_cause(event_id, "")
            )
    return touched


def sync_tickets(queryset) -> dict:
    """Staff's "sync now": read the current state of these tickets from HubSpot and store it."""
    by_id: dict[str, list[CustomerTicket]] = {}
    for ticket in queryset.exclude(hubspot_id=""):
        by_id.setdefault(ticket.hubspot_id, []).append(ticket)
    if not by_id:
        return {"updated": 0, "deleted": 0}
    client = get_client()
    found = {}
    ids = list(by_id)
    for start in range(0, len(ids), 100):  # HubSpot's batch size
        for obj in client.batch_read(
            "tickets",
            ids[start : start + 100],
            properties=["hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority", "subject"],
        ):
            found[str(obj["id"])] = obj["properties"]
    updated = deleted = 0
    now = timezone.now()
    for hubspot_id, rows in by_id.items():
        props = found.get(hubspot_id)
        for ticket in rows:
            old_stage, old_status = ticket.stage, ticket.status
            if props is None:
                ticket.status = CustomerTicket.Status.DELETED
                deleted += 1
            else:
                apply_stage(
                    ticket,
                    props.get("hs_pipeline_stage") or "",
                    pipeline_id=props.get("hs_pipeline") or "",
                )
                ticket.priority = props.get("hs_ticket_priority") or ticket.priority
                updated += 1
            ticket.updated_at = now
            _save(ticket, old_stage, old_status, f"sync:{now.isoformat()}")
    return {"updated": updated, "deleted": deleted}
