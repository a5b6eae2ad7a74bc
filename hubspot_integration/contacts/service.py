"""HubSpot contacts: list and search live, write through the outbox, never duplicate an email."""

from __future__ import annotations

from dataclasses import dataclass

from .. import errors
from ..credentials import get_client
from ..crm import batch
from ..crm.service import CrmService, Page, record_url
from ..models import OutboxOperation
from ..services import outbox
from . import OBJECT_TYPE

Kind = OutboxOperation.Kind

EDITABLE = [p.name for p in OBJECT_TYPE.properties]
LIST_PROPERTIES = OBJECT_TYPE.list_properties

__all__ = ["Page", "record_url"]  # re-exported: callers page and link contacts through here


@dataclass
class CreateOutcome:
    """Either a new contact (done or queued), or the contact that already has this email."""

    existing: dict | None = None
    outcome: outbox.Outcome | None = None


class ContactService(CrmService):
    def clean_value(self, name: str, value: str) -> str:
        return value.lower() if name == "email" else value  # as HubSpot stores it

    def find_by_email(self, email: str) -> dict | None:
        """The contact with this email, read by ID property: search's index lags writes by
        seconds."""
        try:
            return get_client().get_object(
                "contacts", email.strip().lower(), id_property="email", properties=LIST_PROPERTIES
            )
        except errors.NotFound:
            return None

    def create_unique(self, data: dict, *, user=None) -> CreateOutcome:
        """Create, unless a contact has this email: then that one is offered instead."""
        properties = self.normalize(data)
        try:
            existing = self.find_by_email(properties["email"])
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

    def update(self, object_id: str, data: dict, *, user=None) -> outbox.Outcome:
        # A blank field clears it in HubSpot, so an edit may send only blanks.
        properties = self.normalize(data, partial=True)
        payload = {"id": str(object_id), "properties": properties}
        return outbox.submit(Kind.UPDATE_CONTACT, payload, user=user)

    # The email is the contact's natural key: a create that meets it (409) needs no request key.
    def create_one(self, client, payload, operation):
        properties = payload["properties"]
        try:
            contact = client.create_object("contacts", properties)
            return outbox.Result(contact["id"], {"contact": contact, "existing": False})
        except errors.Conflict as err:
            # Either someone created it meanwhile, or our earlier attempt did and its answer
            # was lost.
            contact_id = err.existing_id
            contact = (
                client.get_object("contacts", contact_id, properties=LIST_PROPERTIES)
                if contact_id
                else client.get_object("contacts", properties["email"], id_property="email")
            )
            created_by_us = operation.attempts > 1
            return outbox.Result(contact["id"], {"contact": contact, "existing": not created_by_us})

    def send_creates(self, client, operations) -> dict:
        """Queued creates by batch upsert on the email (several rows of one email are one input,
        the later values winning): a retried batch changes nothing more. A contact that exists
        gets the values, as the row's own retry after a lost answer would have it."""
        inputs: dict[str, dict] = {}
        for op in sorted(operations, key=lambda op: op.pk):
            email = op.payload["properties"]["email"]
            entry = inputs.setdefault(email, {"id": email, "properties": {}})
            entry["properties"].update(op.payload["properties"])
        found = batch.upsert(client, "contacts", inputs, id_property="email")
        return batch.results(
            operations,
            found,
            key=lambda op: op.payload["properties"]["email"],
            make=lambda contact, op: outbox.Result(
                contact["id"], {"contact": contact, "existing": not contact.get("new")}
            ),
        )


service = ContactService(OBJECT_TYPE)

# The names the rest of the app calls contacts by.
normalize = service.normalize
list_contacts = service.list
get_contact = service.get
find_by_email = service.find_by_email
create_contact = service.create_unique
update_contact = service.update
archive_contact = service.archive
contact_url = service.url


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


# Installed by AppConfig.ready() (`outbox.register`): kind -> handler.
OUTBOX_HANDLERS = service.outbox_handlers()
