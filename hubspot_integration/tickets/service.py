"""HubSpot tickets: pipelines read from HubSpot, writes through the outbox, no duplicate on retry
(a ticket carries its outbox row's key in `skypanel_request_key`, `crm/request_key.py`), filed on
the requester's contact."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..contacts.service import Page, new_contact_id, upsert_contact_id
from ..credentials import get_client
from ..crm import batch, request_key
from ..crm.service import CrmService
from ..models import HubSpotSettings, OutboxOperation
from ..services import outbox
from ..services.pipelines import cached as cached_of
from ..services.pipelines import read as read_pipelines
from . import OBJECT_TYPE

logger = logging.getLogger(__name__)

Kind = OutboxOperation.Kind

REQUEST_KEY_PROPERTY = request_key.PROPERTY


class Priority(models.TextChoices):
    """HubSpot's `hs_ticket_priority` values: the one list every form and serializer offers."""

    LOW = "LOW", gettext_lazy("Low")
    MEDIUM = "MEDIUM", gettext_lazy("Medium")
    HIGH = "HIGH", gettext_lazy("High")
    URGENT = "URGENT", gettext_lazy("Urgent")


# Every account has these; URGENT is newer, and older accounts stop at HIGH (`map_priority`).
BASIC_PRIORITIES = [p.value for p in Priority if p != Priority.URGENT]
CATEGORIES = ["PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"]
# HubSpot's `hs_ticket_category` values as people read them.
CATEGORY_LABELS = {
    "PRODUCT_ISSUE": gettext_lazy("Product issue"),
    "BILLING_ISSUE": gettext_lazy("Billing issue"),
    "FEATURE_REQUEST": gettext_lazy("Feature request"),
    "GENERAL_INQUIRY": gettext_lazy("General inquiry"),
}


def category_label(value: str) -> str:
    """A category in words; one HubSpot added later reads as its own name."""
    return str(CATEGORY_LABELS.get(value) or value.replace("_", " ").capitalize())


def priority_label(value: str) -> str:
    return str(Priority(value).label) if value in Priority.values else value.capitalize()


TICKET_PROPERTIES = OBJECT_TYPE.list_properties


class TicketsDisabled(errors.NotConfigured, PermissionDenied):
    kind = "tickets_disabled"
    status_code = 403  # an admin switched them off: a refusal, whoever asks
    default_message = gettext_lazy("Tickets are switched off in the HubSpot settings.")

    def __init__(self, message: str | None = None):
        # In the language of the request that raised it, as plain text (JSON, logs).
        super().__init__(message or str(self.default_message))


def ensure_enabled(s: HubSpotSettings | None = None) -> HubSpotSettings:
    s = s or HubSpotSettings.load()
    if not s.tickets_enabled:
        raise TicketsDisabled()
    return s


# --- pipelines and priorities --------------------------------------------------------------------
def pipelines(*, refresh: bool = False) -> list[dict]:
    """Ticket pipelines with their stages in HubSpot's order, cached for a few minutes."""
    return read_pipelines("tickets", refresh=refresh)


def cached_pipelines() -> list[dict] | None:
    return cached_of("tickets")


def stage_label(pipeline_id: str, stage_id: str, known: list[dict] | None = None) -> str:
    for p in known if known is not None else (cached_pipelines() or []):
        if p["id"] == pipeline_id:
            for st in p["stages"]:
                if st["id"] == stage_id:
                    return st["label"]
    return stage_id


def default_pipeline_problems(pipeline_id: str, stage_id: str) -> dict[str, str]:
    """Field -> message when HubSpot has no such default pipeline or stage; {} when it has them
    or cannot be asked right now (then the choice is checked again by each ticket it files)."""
    if not pipeline_id and not stage_id:
        return {}
    if stage_id and not pipeline_id:
        return {"default_ticket_stage": _("Choose the default ticket pipeline this stage is in.")}
    try:
        known = pipelines(refresh=True)
    except errors.HubSpotError as err:
        logger.info("Default ticket pipeline not checked: HubSpot cannot be asked (%s)", err.kind)
        return {}
    chosen = next((p for p in known if p["id"] == pipeline_id), None)
    if chosen is None:
        listed = ", ".join(f"{p['id']} ({p['label']})" for p in known) or _("none")
        return {
            "default_ticket_pipeline": (
                _("HubSpot has no ticket pipeline %(pipeline)r; its pipelines: %(listed)s.")
                % {"pipeline": pipeline_id, "listed": listed}
            )
        }
    if stage_id and not any(st["id"] == stage_id for st in chosen["stages"]):
        listed = ", ".join(f"{st['id']} ({st['label']})" for st in chosen["stages"])
        return {
            "default_ticket_stage": (
                _("Pipeline %(pipeline)r has no stage %(stage)r; its stages: %(listed)s.")
                % {"pipeline": chosen["label"], "stage": stage_id, "listed": listed}
            )
        }
    return {}


def resolve_pipeline(pipeline_id: str, stage_id: str, known: list[dict]) -> tuple[str, str]:
    """Validate a pipeline/stage pair against HubSpot's list; blanks take the defaults."""
    s = HubSpotSettings.load()
    pipeline_id = pipeline_id or s.default_ticket_pipeline or (known[0]["id"] if known else "")
    chosen = next((p for p in known if p["id"] == pipeline_id), None)
    if chosen is None:
        raise ValidationError(
            {
                "pipeline": _("HubSpot has no ticket pipeline %(pipeline)r.")
                % {"pipeline": pipeline_id}
            }
        )
    if not stage_id and pipeline_id == s.default_ticket_pipeline:
        stage_id = s.default_ticket_stage
    stage_id = stage_id or (chosen["stages"][0]["id"] if chosen["stages"] else "")
    if not any(st["id"] == stage_id for st in chosen["stages"]):
        raise ValidationError(
            {
                "stage": _("Pipeline %(pipeline)r has no stage %(stage)r.")
                % {"pipeline": chosen["label"], "stage": stage_id}
            }
        )
    return pipeline_id, stage_id


def priority_options(*, refresh: bool = False) -> list[str]:
    """The values HubSpot's `hs_ticket_priority` accepts on this account (URGENT is newer)."""
    key = f"hubspot:ticket-priorities:{HubSpotSettings.load().portal_id}"
    if not refresh and (cached := cache.get(key)) is not None:
        return cached
    try:
        definition = get_client().get_property("tickets", "hs_ticket_priority")
        values = [o["value"] for o in definition.get("options") or [] if not o.get("hidden")]
    except errors.HubSpotError as err:
        if not err.transient:
            raise
        return list(BASIC_PRIORITIES)  # a guess every account meets: not cached
    cache.set(key, values, 3600)
    return values


def map_priority(value: str, options: list[str]) -> str:
    wanted = (value or Priority.MEDIUM).strip().upper()
    if wanted not in Priority.values:
        raise ValidationError(
            {"priority": _("Choose one of %(values)s.") % {"values": ", ".join(Priority.values)}}
        )
    if wanted in options:
        return wanted
    if wanted == Priority.URGENT and Priority.HIGH in options:
        return Priority.HIGH.value  # older accounts stop at HIGH
    raise ValidationError(
        {"priority": _("This HubSpot account does not offer %(priority)s.") % {"priority": wanted}}
    )


# --- reads ---------------------------------------------------------------------------------------
def list_tickets(
    *,
    limit: int = 20,
    after: str | None = None,
    query: str = "",
    stage: str = "",
    priority: str = "",
    filters=(),
    sort: tuple[str, str] | None = None,
    with_total: bool = False,
) -> Page:
    ensure_enabled()
    filters = list(filters)
    if stage:
        filters.append({"propertyName": "hs_pipeline_stage", "operator": "EQ", "value": stage})
    if priority:
        filters.append(
            {"propertyName": "hs_ticket_priority", "operator": "EQ", "value": priority.upper()}
        )
    return service.list(
        limit=limit, after=after, query=query, filters=filters, sort=sort, with_total=with_total
    )


def get_ticket(ticket_id: str) -> dict:
    """The ticket with its pipeline, stage, priority and owner, and its contacts' IDs."""
    ensure_enabled()
    return service.get(ticket_id)


# --- writes --------------------------------------------------------------------------------------
def build_create_payload(data: dict) -> dict:
    """Validate a new ticket. Pipelines come from HubSpot (or its cache); when HubSpot is down
    and nothing is cached, the pipeline is resolved by the handler when HubSpot is back."""
    errors_by_field = {}
    subject = str(data.get("subject") or "").strip()
    if not subject:
        errors_by_field["subject"] = _("Enter a subject.")
    elif len(subject) > 255:
        errors_by_field["subject"] = _("At most %(count)s characters.") % {"count": 255}
    email = str(data.get("email") or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        errors_by_field["email"] = _("Enter the requester's valid email address.")
    category = str(data.get("category") or "").strip().upper()
    if category and category not in CATEGORIES:
        errors_by_field["category"] = _("Choose one of %(values)s.") % {
            "values": ", ".join(CATEGORIES)
        }
    if errors_by_field:
        raise ValidationError(errors_by_field)

    properties = {"subject": subject, "content": str(data.get("content") or "").strip()}
    if category:
        properties["hs_ticket_category"] = category
    if data.get("owner"):
        properties["hubspot_owner_id"] = str(data["owner"])
    try:
        known = pipelines()
        options = priority_options()
    except errors.HubSpotError as err:
        if not err.transient:
            raise
        known, options = cached_pipelines(), None
    priority = str(data.get("priority") or "MEDIUM")
    if options is not None:
        properties["hs_ticket_priority"] = map_priority(priority, options)
    else:
        map_priority(priority, Priority.values)  # validate now, map when HubSpot answers
    payload = {"properties": properties, "email": email, "priority": priority.upper()}
    for field in ("firstname", "lastname"):
        if data.get(field):
            payload[field] = str(data[field]).strip()
    if known:
        pipeline_id, stage_id = resolve_pipeline(
            str(data.get("pipeline") or ""), str(data.get("stage") or ""), known
        )
        properties["hs_pipeline"], properties["hs_pipeline_stage"] = pipeline_id, stage_id
    else:
        payload["pipeline"] = str(data.get("pipeline") or "")
        payload["stage"] = str(data.get("stage") or "")
    return payload


def create_ticket(data: dict, *, user=None) -> outbox.Outcome:
    ensure_enabled()
    return outbox.submit(Kind.CREATE_TICKET, build_create_payload(data), user=user)


def build_update_payload(ticket_id: str, data: dict) -> dict:
    properties = {}
    if data.get("subject"):
        properties["subject"] = str(data["subject"]).strip()
    if "content" in data and data["content"] is not None:
        properties["content"] = str(data["content"])
    if data.get("priority"):
        properties["hs_ticket_priority"] = map_priority(str(data["priority"]), priority_options())
    payload = {"id": str(ticket_id), "properties": properties}
    if data.get("stage") or data.get("pipeline"):
        change = _stage_change(ticket_id, data)
        properties.update(change.pop("properties", {}))
        payload.update(change)
    if "owner" in data and data["owner"] is not None:
        properties["hubspot_owner_id"] = str(data["owner"])
    if not properties and "stage" not in payload:
        raise ValidationError({"subject": _("Nothing to change.")})
    return payload


def _stage_change(ticket_id: str, data: dict) -> dict:
    """A new stage as the update's properties, checked against HubSpot's pipelines now; while
    HubSpot cannot be asked (the ticket's pipeline unknown, no pipelines cached), the stage is
    kept in the payload and checked by the handler when it runs, so the change is queued."""
    pipeline_id, stage_id = str(data.get("pipeline") or ""), str(data.get("stage") or "")
    known, current = None, None
    try:
        if not pipeline_id:  # the stage is in the ticket's own pipeline
            current = get_client().get_object("tickets", ticket_id, properties=["hs_pipeline"])
            pipeline_id = str(current["properties"].get("hs_pipeline") or "")
        known = pipelines()
    except errors.HubSpotError as err:
        if not err.transient:
            raise
        known = cached_pipelines()
    if known and (pipeline_id or current is not None):
        pipeline_id, stage_id = resolve_pipeline(pipeline_id, stage_id, known)
        return {"properties": {"hs_pipeline": pipeline_id, "hs_pipeline_stage": stage_id}}
    return {"pipeline": pipeline_id, "stage": stage_id}


def update_ticket(ticket_id: str, data: dict, *, user=None) -> outbox.Outcome:
    ensure_enabled()
    return outbox.submit(Kind.UPDATE_TICKET, build_update_payload(ticket_id, data), user=user)


# --- outbox handlers -----------------------------------------------------------------------------
class TicketService(CrmService):
    def query_filters(self, query: str) -> list[dict]:
        # One filter per word (ANDed): a token match on "invoice wrong" as one value finds nothing.
        return [
            {"propertyName": "subject", "operator": "CONTAINS_TOKEN", "value": f"*{word}*"}
            for word in query.split()[:5]
        ]

    def ticket_properties(self, payload, known=None) -> dict:
        """The ticket's properties, its pipeline and priority resolved now if they could not be
        when it was queued; `known()` gives HubSpot's current pipelines."""
        properties = dict(payload["properties"])
        if "hs_pipeline" not in properties:  # queued while HubSpot was down, nothing cached
            properties["hs_pipeline"], properties["hs_pipeline_stage"] = resolve_pipeline(
                payload.get("pipeline", ""),
                payload.get("stage", ""),
                known() if known else pipelines(refresh=True),
            )
        if "hs_ticket_priority" not in properties:
            properties["hs_ticket_priority"] = map_priority(
                payload.get("priority", "MEDIUM"), priority_options()
            )
        return properties

    def create_one(self, client, payload, operation):
        properties = self.ticket_properties(payload)
        contact_id = _requester_contact_id(client, payload)
        associations = (
            [
                {
                    "to": {"id": contact_id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
                }
            ]
            if contact_id
            else []
        )
        ticket = request_key.create(
            client,
            "tickets",
            self.property_group,
            properties,
            operation,
            associations=associations,
            read_properties=TICKET_PROPERTIES,
        )
        return outbox.Result(ticket["id"], {"ticket": ticket, "contactId": contact_id or ""})

    def update_properties(self, client, payload):
        if "stage" not in payload:
            return payload["properties"]
        # Queued while HubSpot could not check the stage: checked now, against the pipelines
        # as cached, and as HubSpot has them if the cached ones do not know it.
        pipeline_id = payload.get("pipeline") or ""
        if not pipeline_id:
            current = client.get_object("tickets", payload["id"], properties=["hs_pipeline"])
            pipeline_id = str(current["properties"].get("hs_pipeline") or "")
        try:
            try:
                resolved = resolve_pipeline(pipeline_id, payload["stage"], pipelines())
            except ValidationError:
                resolved = resolve_pipeline(pipeline_id, payload["stage"], pipelines(refresh=True))
        except ValidationError as err:
            # The stage is not in the pipeline (gone while queued): refused, saying why.
            raise errors.ValidationFailed("; ".join(err.messages)) from err
        pipeline_id, stage_id = resolved
        return {**payload["properties"], "hs_pipeline": pipeline_id, "hs_pipeline_stage": stage_id}

    def send_creates(self, client, operations) -> dict:
        """A backlog of tickets: the requesters' contacts in one batch create per 100 addresses,
        the tickets by batch upsert on their request keys (a retried batch finds its tickets),
        then one batch association call filing them on their contacts."""
        read = []  # HubSpot's pipelines, read once for the whole drain

        def known():
            if not read:
                read.append(pipelines(refresh=True))
            return read[0]

        outcomes = batch.each(operations, lambda op: self.ticket_properties(op.payload, known))
        ready = [op for op in operations if not isinstance(outcomes[op.pk], Exception)]
        contacts = _requester_contact_ids(client, ready)
        ready = [op for op in ready if not isinstance(contacts[op.pk], Exception)]
        for op in operations:
            if op not in ready and not isinstance(outcomes[op.pk], Exception):
                outcomes[op.pk] = contacts[op.pk]
        found = self.upsert_by_key(
            client,
            {
                op.idempotency_key: {"id": op.idempotency_key, "properties": outcomes[op.pk]}
                for op in ready
            },
        )
        tickets = {op.pk: found[op.idempotency_key] for op in ready}
        pairs = [
            (str(tickets[op.pk]["id"]), str(contacts[op.pk]))
            for op in ready
            if contacts[op.pk] and not isinstance(tickets[op.pk], Exception)
        ]
        links = batch.associate(client, "tickets", "contacts", pairs) if pairs else {}
        for op in ready:
            ticket, contact_id = tickets[op.pk], contacts[op.pk]
            if isinstance(ticket, Exception):
                outcomes[op.pk] = ticket
                continue
            refused = links.get((str(ticket["id"]), str(contact_id))) if contact_id else None
            if refused is not None:
                # The ticket is in HubSpot (a retry finds it by its key) but not filed.
                outcomes[op.pk] = (
                    refused
                    if refused.transient
                    else errors.ValidationFailed(
                        _("Ticket %(id)s was not filed on its contact: %(message)s")
                        % {"id": ticket["id"], "message": refused.message},
                        status=refused.status,
                        category=refused.category,
                    )
                )
                continue
            outcomes[op.pk] = outbox.Result(
                ticket["id"], {"ticket": ticket, "contactId": contact_id or ""}
            )
        return outcomes


def _requester_contact_ids(client, operations) -> dict:
    """Each row's requester contact ID (None: the ticket stays unfiled) or error, as
    `_requester_contact_id` decides it for one, from one batch create per 100 addresses: a new
    address gets its contact, an address that has one answers 409 with that contact's ID."""
    modes, inputs = {}, {}
    for op in operations:
        payload = op.payload
        if payload.get("address_of_another_account"):
            modes[op.pk] = None
            continue
        modes[op.pk] = "new" if payload.get("unverified_requester") else "upsert"
        entry = inputs.setdefault(payload["email"], {"properties": {"email": payload["email"]}})
        if modes[op.pk] == "upsert":
            for field in ("firstname", "lastname"):
                if payload.get(field):
                    entry["properties"].setdefault(field, payload[field])
    found = batch.create(client, "contacts", inputs) if inputs else {}
    out = {}
    for op in operations:
        mode = modes[op.pk]
        outcome = found.get(op.payload["email"]) if mode else None
        if mode is None:
            out[op.pk] = None
        elif not isinstance(outcome, Exception):
            out[op.pk] = str(outcome["id"])
        elif isinstance(outcome, errors.Conflict):
            out[op.pk] = (
                None if mode == "new" else outcome.existing_id or _contact_id_by_email(client, op)
            )
        else:
            out[op.pk] = outcome
    return out


def _contact_id_by_email(client, op) -> str | errors.HubSpotError:
    try:
        return client.get_object("contacts", op.payload["email"], id_property="email")["id"]
    except errors.HubSpotError as err:
        return err


def _requester_contact_id(client, payload) -> str | None:
    """The contact the ticket is filed on, or None to leave it unfiled."""
    contact = {"email": payload["email"]}
    if payload.get("address_of_another_account"):
        return None  # an unproved claim to a panel customer's address: file on no one
    if payload.get("unverified_requester"):
        # Nobody proved this address is theirs: a contact may be made for it, but an existing
        # one is neither changed nor given the ticket (None), and the ticket stays unfiled.
        return new_contact_id(client, contact)
    # Staff's tickets and confirmed customers': filed on the address's contact, made if needed.
    for field in ("firstname", "lastname"):
        if payload.get(field):
            contact[field] = payload[field]
    return upsert_contact_id(client, contact)


service = TicketService(OBJECT_TYPE, property_group="ticketinformation")
ticket_url = service.url

# Installed by AppConfig.ready() (`outbox.register`): kind -> handler.
OUTBOX_HANDLERS = service.outbox_handlers()
