"""Customers' support requests and contact messages, written to HubSpot through the outbox.

A support request becomes a local CustomerTicket and an outbox operation in one transaction, so the
customer's "received" is true even when HubSpot is down: the worker delivers it later, and the
ticket row learns its HubSpot ID when the operation succeeds (receivers.py).
"""

from __future__ import annotations

import logging
import re

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .. import errors
from ..client_address import client_address
from ..conf import app_settings
from ..credentials import get_client
from ..models import CustomerTicket, HubSpotSettings, OutboxOperation
from . import email_verification, outbox, pipelines, tickets

logger = logging.getLogger(__name__)

Kind = OutboxOperation.Kind

HUTK_PATTERN = re.compile(r"^[0-9a-f]{32}$")
# The fields every HubSpot contact form is built from; used when the definition cannot be read.
BASIC_FORM_FIELDS = {"email", "firstname", "lastname", "message"}


class SupportUnavailable(errors.NotConfigured):
    """Support is switched off, or its contact form not chosen: the panel's setup, answered as
    `NotConfigured` (409), not as HubSpot failing."""

    kind = "support_unavailable"
    default_message = "Support requests cannot be sent right now."


# --- support requests -----------------------------------------------------------------------------
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
            priority=payload.get("priority", ""),
            pipeline=properties.get("hs_pipeline", ""),
            stage=properties.get("hs_pipeline_stage", ""),
            stage_label=tickets.stage_label(
                properties.get("hs_pipeline", ""), properties.get("hs_pipeline_stage", "")
            )
            if properties.get("hs_pipeline_stage")
            else "",
            status="submitted",
            operation=operation,
        )
    outcome = outbox.attempt(operation)
    ticket.refresh_from_db()
    return ticket, outcome


def tickets_of(user):
    """A customer's own tickets: the only query the "My tickets" page makes."""
    if user is None or not user.is_authenticated:
        return CustomerTicket.objects.none()
    return CustomerTicket.objects.filter(user=user).order_by("-created_at", "-pk")


# --- applying HubSpot's state to the local records --------------------------------------------------
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
    return pipeline_id, stage_id, "open"


def apply_stage(ticket: CustomerTicket, stage_id: str, *, pipeline_id: str = "") -> None:
    pipeline, label, state = stage_info(pipeline_id or ticket.pipeline, stage_id)
    ticket.pipeline = pipeline or ticket.pipeline
    ticket.stage = stage_id
    ticket.stage_label = label
    ticket.status = state


def apply_ticket_change(hubspot_id: str, name: str, value: str, *, at=None) -> int:
    """A property change HubSpot reported; returns how many local tickets it touched."""
    at = at or timezone.now()
    changed = 0
    for ticket in CustomerTicket.objects.filter(hubspot_id=hubspot_id):
        # HubSpot's times are whole milliseconds: compare at that precision.
        last = ticket.updated_at.replace(microsecond=ticket.updated_at.microsecond // 1000 * 1000)
        if ticket.status == "deleted" or last > at:
            continue  # an older event arriving late must not undo a newer one
        if name == "hs_pipeline_stage":
            apply_stage(ticket, value)
        elif name == "hs_pipeline":
            ticket.pipeline = value
        elif name == "hs_ticket_priority":
            ticket.priority = value
        else:
            continue
        ticket.updated_at = at
        ticket.save()
        changed += 1
    return changed


def mark_deleted(hubspot_id: str, *, at=None) -> int:
    return CustomerTicket.objects.filter(hubspot_id=hubspot_id).update(
        status="deleted", updated_at=at or timezone.now()
    )


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
            if props is None:
                ticket.status = "deleted"
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
            ticket.save()
    return {"updated": updated, "deleted": deleted}


# --- contact messages through HubSpot's Forms API ---------------------------------------------------
def contact_form_available(s: HubSpotSettings | None = None) -> bool:
    s = s or HubSpotSettings.load()
    return bool(s.enabled and s.portal_id and s.contact_form_id)


def submission_context(request, *, page_name: str) -> dict:
    """HubSpot's `context`: ties the submission to the visitor's tracked visits."""
    context = {"pageUri": request.build_absolute_uri(), "pageName": page_name}
    s = HubSpotSettings.load()
    consented = not s.wait_for_consent or request.COOKIES.get("skypanel_consent") == "granted"
    hutk = request.COOKIES.get("hubspotutk", "")
    # Without consent the visitor is not tracked: no cookie token and no IP address go to HubSpot.
    if consented:
        if HUTK_PATTERN.match(hutk):
            context["hutk"] = hutk
        ip = client_address(request)
        if ip:
            context["ipAddress"] = ip
    return context


def submit_contact_message(data: dict, *, context: dict, user=None) -> outbox.Outcome:
    s = HubSpotSettings.load()
    if not contact_form_available(s):
        raise SupportUnavailable("The contact form is not set up.")
    first, _, last = data["name"].strip().partition(" ")
    values = {
        "email": data["email"].strip().lower(),
        "firstname": first,
        "lastname": last.strip(),
        "company": data.get("company", "").strip(),
        "message": data["message"].strip(),
    }
    payload = {
        "portalId": s.portal_id,
        "formGuid": s.contact_form_id,
        "values": {k: v for k, v in values.items() if v},
        "context": context,
    }
    return outbox.submit(Kind.SUBMIT_FORM, payload, user=user)


def _form_field_names(client, form_id: str) -> set[str]:
    key = f"hubspot:form-fields:{client.portal_id}:{form_id}"
    cached = cache.get(key)
    if cached is not None:
        return set(cached)
    names: set[str] = set()
    after = None
    try:
        for _ in range(10):
            page = client.forms(after=after)
            for form in page["results"]:
                if form.get("id") == form_id:
                    for group in form.get("fieldGroups") or []:
                        names.update(f["name"] for f in group.get("fields") or [])
            after = page["next_after"]
            if names or not after:
                break
    except errors.HubSpotError as err:
        if err.transient:
            raise
        # Without the `forms` scope the definition is unreadable: send the fields every form has.
        return set(BASIC_FORM_FIELDS)
    cache.set(key, sorted(names or BASIC_FORM_FIELDS), app_settings.FORM_FIELDS_TTL)
    return names or set(BASIC_FORM_FIELDS)


def _submit_form(client, payload, operation):
    known = _form_field_names(client, payload["formGuid"])
    values = dict(payload["values"])
    # HubSpot rejects fields the form lacks; keep what the visitor typed in the message instead.
    extra = [f"{k}: {values.pop(k)}" for k in list(values) if k not in known]
    if extra and "message" in known:
        values["message"] = "\n".join([values.get("message", ""), "", *extra]).strip()
    body = {
        "fields": [{"name": k, "value": str(v)} for k, v in values.items()],
        "context": payload.get("context") or {},
    }
    answer = client.submit_form(payload["portalId"], payload["formGuid"], body)
    return outbox.Result("", {"answer": answer})


# Installed by AppConfig.ready() (`outbox.register`): kind -> handler.
OUTBOX_HANDLERS = {Kind.SUBMIT_FORM: _submit_form}
