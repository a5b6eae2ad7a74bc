"""Applying recorded HubSpot webhook events to the local records of customers' tickets, and
contact changes to the site users linked to them (services/user_sync.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from ..models import WebhookEvent
from . import ticket_sync, user_sync

logger = logging.getLogger(__name__)

TRACKED_PROPERTIES = {"hs_pipeline_stage", "hs_pipeline", "hs_ticket_priority"}


def _occurred_at(event: dict):
    try:
        return datetime.fromtimestamp(int(event["occurredAt"]) / 1000, tz=UTC)
    except (KeyError, TypeError, ValueError):
        return timezone.now()


def apply(event: dict) -> int:
    kind = str(event.get("subscriptionType") or "")
    object_id = str(event.get("objectId") or "")
    if not object_id:
        return 0
    at = _occurred_at(event)
    event_id = str(event.get("eventId") or "")
    if kind == "ticket.propertyChange" and event.get("propertyName") in TRACKED_PROPERTIES:
        return ticket_sync.apply_ticket_change(
            object_id,
            event["propertyName"],
            str(event.get("propertyValue") or ""),
            at=at,
            event_id=event_id,
        )
    if kind == "contact.propertyChange" and event.get("propertyName"):
        return user_sync.apply_contact_change(
            object_id, str(event["propertyName"]), str(event.get("propertyValue") or ""), at=at
        )
    if kind == "ticket.deletion":
        return ticket_sync.mark_deleted(object_id, at=at, event_id=event_id)
    return 0  # other subscriptions are recorded, not applied


def apply_pending(limit: int = 500, *, received_before=None) -> int:
    """Apply unprocessed events oldest first; each is marked done in the same transaction.
    `received_before`: only those received earlier (the sweep leaves fresh ones to the queue)."""
    pending = WebhookEvent.objects.filter(processed_at__isnull=True)
    if received_before is not None:
        pending = pending.filter(received_at__lt=received_before)
    pending = pending.order_by("received_at", "pk")[:limit]
    done = 0
    for pk in list(pending.values_list("pk", flat=True)):
        with transaction.atomic():
            event = (
                WebhookEvent.objects.select_for_update()
                .filter(pk=pk, processed_at__isnull=True)
                .first()
            )
            if event is None:  # another worker took it
                continue
            try:
                apply(event.payload)
            except Exception:
                # One bad event must not block the others; it stays recorded for a look.
                logger.exception("Could not apply webhook event %s", event.event_id)
            event.processed_at = timezone.now()
            event.save(update_fields=["processed_at"])
            done += 1
    return done
