"""Customers' support requests: a local CustomerTicket and an outbox operation, written together.

The row and the operation are one transaction, so the customer's "received" is true even when
HubSpot is down: the worker delivers it later, and the ticket row learns its HubSpot ID when the
operation succeeds (receivers.py).
"""

from __future__ import annotations

import logging

from django.db import transaction

from .. import errors
from ..models import CustomerTicket, HubSpotSettings, OutboxOperation
from ..tickets import service as tickets
from . import email_verification, outbox

logger = logging.getLogger(__name__)

Kind = OutboxOperation.Kind


class SupportUnavailable(errors.NotConfigured):
    """Support is switched off, or its contact form not chosen: the panel's setup, answered as
    `NotConfigured` (409), not as HubSpot failing."""

    kind = "support_unavailable"
    default_message = "Support requests cannot be sent right now."


def _local_payload(data: dict) -> dict:
    """Validated without HubSpot: used when reading pipelines failed for a reason a retry will not
    fix (a revoked token): the request is still kept and an admin can retry it once fixed."""
    payload = {
        "properties": {"subject": data["subject"], "content": data.get("content", "")},
        "email": data["email"],
        "priority": data.get("priority", "MEDIUM").upper(),
        "pipeline": "",
        "stage": "",
    }
    tickets.map_priority(payload["priority"], tickets.Priority.values)
    return payload


def requester(data: dict, user=None) -> tuple[str, bool]:
    """(email, verified) of whoever sends a request.

    A signed-in customer sends under their account's address (the form shows no email field);
    it is trusted only once confirmed. Anyone else's typed address could be anyone's."""
    if user is not None and user.is_authenticated and user.email:
        verified = email_verification.verified_email(user)
        return (verified or email_verification.normalize(user.email)), bool(verified)
    return email_verification.normalize(data.get("email", "")), False


UNVERIFIED_NOTE = (
    "Sent from the support page by someone who has not confirmed the address {email}: the ticket "
    "is not filed on an existing HubSpot contact with that address."
)


def submit_support_request(data: dict, *, user=None) -> tuple[CustomerTicket, outbox.Outcome]:
    """Record the request and its ticket row together, then attempt delivery to HubSpot.

    `data` holds subject, description, priority and, from a visitor, email (validated by the
    form). A confirmed customer's ticket is filed on their HubSpot contact; anyone else's never
    changes or files on an existing contact (`unverified_requester`, see the ticket handler)."""
    s = HubSpotSettings.load()
    if not (s.enabled and s.tickets_enabled):
        raise SupportUnavailable()
    email, verified = requester(data, user)
    fields = {
        "subject": data["subject"].strip(),
        "content": data.get("description", "").strip(),
        "priority": data.get("priority") or "MEDIUM",
        "email": email,
    }
    if verified:
        fields["firstname"] = user.first_name
        fields["lastname"] = user.last_name
    try:
        payload = tickets.build_create_payload(fields)
    except errors.HubSpotError as err:
        logger.warning("Support request kept for later: reading the ticket setup failed (%s)", err)
        payload = _local_payload(fields)
    properties = payload["properties"]
    if not verified:
        payload["unverified_requester"] = True
        owner = email_verification.account_with(email)
        if owner is not None and owner.pk != getattr(user, "pk", None):
            # Another account's address: a contact made now would be where that customer's own
            # requests land later. No contact at all (the visitor sees the same answer).
            payload["address_of_another_account"] = True
        note = UNVERIFIED_NOTE.format(email=email)
        properties["content"] = f"{properties.get('content', '')}\n\n-- \n{note}".lstrip()
    with transaction.atomic():
        operation = outbox.record(Kind.CREATE_TICKET, payload, user=user)
        ticket = CustomerTicket.objects.create(
            user=user if getattr(user, "is_authenticated", False) else None,
            email=fields["email"],
            subject=fields["subject"],
            content=fields["content"],
            priority=payload.get("priority", ""),
            pipeline=properties.get("hs_pipeline", ""),
            stage=properties.get("hs_pipeline_stage", ""),
            stage_label=tickets.stage_label(
                properties.get("hs_pipeline", ""), properties.get("hs_pipeline_stage", "")
            )
            if properties.get("hs_pipeline_stage")
            else "",
            status=CustomerTicket.Status.SUBMITTED,
            operation=operation,
        )
    outcome = outbox.attempt(operation)
    ticket.refresh_from_db()
    return ticket, outcome


def content_of(ticket: CustomerTicket) -> str:
    """What the customer wrote; tickets sent before the row kept it have it in their outbox
    payload, while retention has not purged that."""
    if ticket.content:
        return ticket.content
    payload = ticket.operation.payload if ticket.operation_id else {}
    properties = payload.get("properties") if isinstance(payload, dict) else None
    return str((properties or {}).get("content") or "") if isinstance(properties, dict) else ""


def ticket_of(user, pk) -> CustomerTicket | None:
    """One of the customer's own tickets, or None (someone else's is as good as absent)."""
    return tickets_of(user).filter(pk=pk).first()


def tickets_of(user):
    """A customer's own tickets: the only query the "My tickets" page makes."""
    if user is None or not user.is_authenticated:
        return CustomerTicket.objects.none()
    return CustomerTicket.objects.filter(user=user).order_by("-created_at", "-pk")
