"""HubSpot contacts: list and search live, write through the outbox, never duplicate an email."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .. import errors
from ..credentials import get_client
from ..models import HubSpotSettings, OutboxOperation
from . import outbox

Kind = OutboxOperation.Kind

EDITABLE = ["email", "firstname", "lastname", "company", "phone"]
LIST_PROPERTIES = EDITABLE + ["createdate", "lastmodifieddate"]


@dataclass
class Page:
    results: list[dict]
    next_after: str | None
    total: int | None = None


@dataclass
class CreateOutcome:
    """Either a new contact (done or queued), or the contact that already has this email."""

    existing: dict | None = None
    outcome: outbox.Outcome | None = None


def normalize(data: dict, *, require_email: bool = True) -> dict:
    """Clean the editable properties; ValidationError names the field."""
    cleaned = {}
    for name in EDITABLE:
        if name in data and data[name] is not None:
            cleaned[name] = str(data[name]).strip()
    email = cleaned.get("email", "")
    if require_email or "email" in cleaned:
        if not email:
            raise ValidationError({"email": "Enter the contact's email address."})
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": f"{email!r} is not a valid email address."}) from None
        cleaned["email"] = email.lower()
    for name, limit in (("firstname", 100), ("lastname", 100), ("company", 200), ("phone", 40)):
        if len(cleaned.get(name, "")) > limit:
            raise ValidationError({name: f"At most {limit} characters."})
    return cleaned


def list_contacts(*, limit: int = 20, after: str | None = None, query: str = "") -> Page:
    client = get_client()
    query = (query or "").strip()
    if query:
        page = client.search_objects(
            "contacts",
            query=query,
            properties=LIST_PROPERTIES,
            sorts=[{"propertyName": "createdate", "direction": "DESCENDING"}],
            limit=limit,
            after=after,
        )
    else:
        page = client.list_objects("contacts", limit=limit, after=after, properties=LIST_PROPERTIES)
    return Page(page["results"], page["next_after"], page.get("total"))


def get_contact(contact_id: str) -> dict:
    return get_client().get_object("contacts", contact_id, properties=LIST_PROPERTIES)


def find_by_email(email: str) -> dict | None:
    """The contact with this email, read by ID property: search's index lags writes by seconds."""
    try:
        return get_client().get_object(
            "contacts", email.strip().lower(), id_property="email", properties=LIST_PROPERTIES
        )
    except errors.NotFound:
        return None


def create_contact(data: dict, *, user=None) -> CreateOutcome:
    properties = normalize(data)
    try:
        existing = find_by_email(properties["email"])
    except errors.HubSpotError as err:
        if not err.transient:
            raise
        existing = None  # HubSpot is unreachable: queue the create; its handler upserts.
    if existing:
        return CreateOutcome(existing=existing)
    result = outbox.submit(Kind.CREATE_CONTACT, {"properties": properties}, user=user)
    if result.done and result.result.get("existing"):
        # A 409 between our read and our create: the same offer to update.
        return CreateOutcome(existing=result.result.get("contact"), outcome=result)
    return CreateOutcome(outcome=result)


def update_contact(contact_id: str, data: dict, *, user=None) -> outbox.Outcome:
    properties = normalize(data, require_email=False)
    return outbox.submit(
        Kind.UPDATE_CONTACT, {"id": str(contact_id), "properties": properties}, user=user
    )


def archive_contact(contact_id: str, *, user=None) -> outbox.Outcome:
    return outbox.submit(Kind.ARCHIVE_CONTACT, {"id": str(contact_id)}, user=user)


def record_url(object_type_id: str, object_id: str, s: HubSpotSettings | None = None) -> str:
    """A link to the record in HubSpot's own UI, on the account's regional domain."""
    s = s or HubSpotSettings.load()
    domain = s.ui_domain or "app.hubspot.com"
    return f"https://{domain}/contacts/{s.portal_id}/record/{object_type_id}/{object_id}"


def contact_url(contact_id: str, s: HubSpotSettings | None = None) -> str:
    return record_url("0-1", contact_id, s)


def upsert_contact_id(client, properties: dict) -> str:
    """The ID of the contact with this email, creating it if needed (idempotent by email)."""
    try:
        return client.create_object("contacts", properties)["id"]
    except errors.Conflict as err:
        if err.existing_id:
            return err.existing_id
        return client.get_object("contacts", properties["email"], id_property="email")["id"]


def new_contact_id(client, properties: dict) -> str | None:
    """The ID of a contact created now, or None when the email already has a contact: that one
    is left exactly as it is. (A retry after a lost answer finds "our" new contact existing and
    also gets None: the ticket then stays unfiled rather than risk filing it on someone's.)"""
    try:
        return client.create_object("contacts", properties)["id"]
    except errors.Conflict:
        return None


# --- outbox handlers -------------------------------------------------------------------------------
def _create(client, payload, operation):
    properties = payload["properties"]
    try:
        contact = client.create_object("contacts", properties)
        return outbox.Result(contact["id"], {"contact": contact, "existing": False})
    except errors.Conflict as err:
        # Either someone created it meanwhile, or our earlier attempt did and its answer was lost.
        contact_id = err.existing_id
        contact = (
            client.get_object("contacts", contact_id, properties=LIST_PROPERTIES)
            if contact_id
            else client.get_object("contacts", properties["email"], id_property="email")
        )
        created_by_us = operation.attempts > 1
        return outbox.Result(contact["id"], {"contact": contact, "existing": not created_by_us})


def _update(client, payload, operation):
    contact = client.update_object("contacts", payload["id"], payload["properties"])
    return outbox.Result(contact["id"], {"contact": contact})


def _archive(client, payload, operation):
    try:
        client.archive_object("contacts", payload["id"])
    except errors.NotFound:
        pass  # already gone: a retried archive after a lost answer lands here
    return outbox.Result(payload["id"], {"archived": True})


# Installed by AppConfig.ready() (`outbox.register`): kind -> handler.
OUTBOX_HANDLERS = {
    Kind.CREATE_CONTACT: _create,
    Kind.UPDATE_CONTACT: _update,
    Kind.ARCHIVE_CONTACT: _archive,
}
