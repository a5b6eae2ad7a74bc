"""What every object type's service does: list and search with cursor paging, read a record and
its related records, write through the outbox, and the outbox handlers of those writes.

A type's package makes one `CrmService` for its `ObjectType` (or a subclass where the type has
rules of its own: contacts never duplicate an email); views, the API and the sweep call it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext as _

from .. import errors
from ..conf import app_settings
from ..credentials import get_client
from ..models import HubSpotSettings
from ..services import outbox
from ..services.money import format_money
from . import batch, keyset, listing, request_key
from .types import STANDARD_TYPE_IDS, ObjectType
from .words import in_sentence

logger = logging.getLogger(__name__)

# What a related record's summary shows, by its type (the deals and contacts shown on a company).
SUMMARY_PROPERTIES = {
    "contacts": ["email", "firstname", "lastname"],
    "companies": ["name", "domain"],
    "deals": ["dealname", "amount", "dealstage", "closedate"],
    "tickets": [
        "subject",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_priority",
        "createdate",
        "hs_lastmodifieddate",
    ],
}
# How many related records of each type a record's page lists (one batch read each).
RELATED_LIMIT = 100


def describe(type_name: str, record: dict, currency: str = "") -> str:
    """A related record in words: "Ada Lovelace <ada@example.com>", "Acme (acme.example)",
    "Renewal: €1,200.00" (a deal's amount in the account's `currency`)."""
    props = record.get("properties") or {}
    if type_name == "contacts":
        name = " ".join(filter(None, [props.get("firstname"), props.get("lastname")]))
        email = props.get("email") or ""
        return (
            f"{name} <{email}>"
            if name and email
            else name or email or _("Contact %(id)s") % {"id": record["id"]}
        )
    if type_name == "companies":
        name, domain = (
            props.get("name") or _("Company %(id)s") % {"id": record["id"]},
            props.get("domain"),
        )
        return f"{name} ({domain})" if domain else name
    if type_name == "deals":
        name, amount = (
            props.get("dealname") or _("Deal %(id)s") % {"id": record["id"]},
            props.get("amount"),
        )
        return f"{name}: {format_money(amount, currency)}" if amount else name
    return props.get("subject") or props.get("name") or _("Record %(id)s") % {"id": record["id"]}


@dataclass
class Page:
    results: list[dict]
    next_after: str | None
    total: int | None = None


def record_url(object_type_id: str, object_id: str, s: HubSpotSettings | None = None) -> str:
    """A link to the record in HubSpot's own UI, on the account's regional domain."""
    s = s or HubSpotSettings.load()
    domain = s.ui_domain or "app.hubspot.com"
    return f"https://{domain}/contacts/{s.portal_id}/record/{object_type_id}/{object_id}"


def associated_ids(record: dict, to_type: str) -> list[str]:
    """The IDs of the records of `to_type` linked to `record` (read with `associations=`), once
    each and in HubSpot's order (a pair linked by two labels is listed twice)."""
    links = ((record.get("associations") or {}).get(to_type) or {}).get("results") or []
    return list(dict.fromkeys(str(link["id"]) for link in links))


class CrmService:
    def __init__(self, object_type: ObjectType, *, property_group: str = ""):
        self.type = object_type
        # Where HubSpot files the request-key property; blank: the type has a natural unique
        # property (contacts' email) or overrides the create handler.
        self.property_group = property_group

    # --- reads ---------------------------------------------------------------------------------
    def query_filters(self, query: str) -> list[dict] | None:
        """Search filters for the search box's text; None: HubSpot's full-text `query`."""
        return None

    def search_terms(self, query: str, filters=()) -> tuple[str, list[dict]]:
        """The search box's text as HubSpot's full-text `query` or as filters, ANDed with
        `filters`: (text, filters)."""
        query = (query or "").strip()
        by_filters = self.query_filters(query) if query else None
        return (query if by_filters is None else ""), [*filters, *(by_filters or [])]

    def list(
        self,
        *,
        limit: int = 20,
        after: str | None = None,
        query: str = "",
        filters=(),
        sort: tuple[str, str] | None = None,
        with_total: bool = False,
    ) -> Page:
        """A page of the records, with the list's total when `with_total` (the admin's count:
        one more search where the page itself does not say it). Searched, filtered or sorted: HubSpot's
        search (newest first unless `sort`, a (property, "ASCENDING"/"DESCENDING") pair, says
        otherwise; `filters` are ANDed with the search box's text); otherwise HubSpot's plain
        list, which sees a new record at once (search's index lags)."""
        client = get_client()
        text, filters = self.search_terms(query, filters)
        properties = self.type.list_properties
        if not (text or filters or sort):
            page = client.list_objects(
                self.type.name, limit=limit, after=after, properties=properties
            )
            total = self.count() if with_total else None
            return Page(page["results"], page["next_after"], total)
        prop, direction = sort or ("createdate", listing.DESC)
        if prop == "createdate":
            # Sorted by creation date, a list pages past the search cap by date windows.
            results, next_after, total = listing.windowed_page(
                client,
                self.type.name,
                text=text,
                filters=filters,
                direction=direction,
                properties=properties,
                limit=limit,
                after=after,
            )
            if total is None and with_total:
                total = self.count(terms=(text, filters))
            return Page(results, next_after, total)
        # Sorted by another column, a list pages past the search cap by that column's values.
        results, next_after = self.sorted_read(client, text, filters, prop, direction).page(
            after, limit
        )
        total = self.count(terms=(text, filters)) if with_total else None
        return Page(results, next_after, total)

    def sorted_read(self, client, text, filters, prop, direction) -> keyset.SortedRead:
        return keyset.SortedRead(
            client,
            self.type.name,
            text=text,
            filters=filters,
            prop=prop,
            direction=direction,
            properties=self.type.list_properties,
        )

    def count(self, *, query: str = "", filters=(), terms=None) -> int | None:
        """How many records the search matches (HubSpot's `total` is exact past the cap);
        None when HubSpot cannot say right now: the list still shows."""
        text, filters = terms or self.search_terms(query, filters)
        try:
            page = listing.search_page(
                get_client(),
                self.type.name,
                text=text,
                filters=filters,
                sorts=[],
                properties=["createdate"],
                limit=1,
                after=None,
            )
        except errors.HubSpotError:
            return None
        return page.get("total")

    def iter_all(self, *, query: str = "", filters=(), sort: tuple[str, str] | None = None):
        """Every record the search box and filters match, each once: oldest first, or in the
        order `sort` (a (property, direction) pair) says, the list's own."""
        text, filters = self.search_terms(query, filters)
        prop, direction = sort or ("createdate", listing.ASC)
        if prop != "createdate":
            read = self.sorted_read(get_client(), text, filters, prop, direction)
            return read.all(app_settings.EXPORT_PAGE_SIZE)
        return listing.iter_all(
            get_client(),
            self.type.name,
            text=text,
            filters=filters,
            properties=self.type.list_properties,
            direction=direction,
        )

    def get(self, object_id: str) -> dict:
        return get_client().get_object(
            self.type.name,
            object_id,
            properties=self.type.list_properties,
            associations=list(self.type.related) or None,
        )

    def related(self, record: dict) -> tuple[dict[str, list[dict]], dict[str, str]]:
        """Type -> summaries of the records linked to `record`, for the types the type lists;
        and type -> why they could not be read (a scope the credential lacks, HubSpot down),
        so one unreadable type leaves the others and the record itself shown."""
        client = get_client()
        found, problems = {}, {}
        for to_type in self.type.related:
            ids = associated_ids(record, to_type)[:RELATED_LIMIT]
            try:
                found[to_type] = (
                    client.batch_read(to_type, ids, properties=SUMMARY_PROPERTIES.get(to_type))
                    if ids
                    else []
                )
            except errors.HubSpotError as err:
                problems[to_type] = str(err)
        return found, problems

    def url(self, object_id: str, s: HubSpotSettings | None = None) -> str:
        return record_url(self.type.type_id, object_id, s)

    @staticmethod
    def url_of(type_name: str, object_id: str) -> str:
        """A link into HubSpot for a related record of a standard type."""
        type_id = STANDARD_TYPE_IDS.get(type_name)
        return record_url(type_id, object_id) if type_id else ""

    # --- validation ----------------------------------------------------------------------------
    def normalize(self, data: dict, *, partial: bool = False) -> dict:
        """The editable properties, cleaned; a ValidationError names each bad field."""
        cleaned, problems = {}, {}
        for prop in self.type.properties:
            words = {"record": self.type.noun, "property": in_sentence(prop.label)}
            if prop.kind == "email":
                missing = _("Enter the %(record)s's %(property)s address.") % words
            else:
                missing = _("Enter the %(record)s's %(property)s.") % words
            if prop.name not in data or data[prop.name] is None:
                if prop.required and not partial:
                    problems[prop.name] = missing
                continue
            value = str(data[prop.name]).strip()
            if prop.required and not value:
                problems[prop.name] = missing
            elif len(value) > prop.max_length:
                problems[prop.name] = _("At most %(count)s characters.") % {
                    "count": prop.max_length
                }
            elif value and (problem := self.check(prop.kind, value)):
                problems[prop.name] = problem
            else:
                try:
                    cleaned[prop.name] = self.clean_value(prop.name, value)
                except ValidationError as err:
                    problems.update(err.message_dict)
        if problems:
            raise ValidationError(problems)
        return cleaned

    @staticmethod
    def check(kind: str, value: str) -> str:
        try:
            if kind == "email":
                validate_email(value)
            elif kind == "url":
                URLValidator()(value)
        except ValidationError:
            if kind == "email":
                return _("%(value)r is not a valid email address.") % {"value": value}
            return _("%(value)r is not a valid URL.") % {"value": value}
        return ""

    def clean_value(self, name: str, value: str) -> str:
        """A type's own normalisation of one property (a contact's email in lower case)."""
        return value

    # --- writes --------------------------------------------------------------------------------
    def create(self, data: dict, *, user=None) -> outbox.Outcome:
        properties = self.normalize(data)
        return outbox.submit(self.type.kind("create"), {"properties": properties}, user=user)

    def update(self, object_id: str, data: dict, *, user=None) -> outbox.Outcome:
        properties = self.normalize(data, partial=True)
        if not properties:
            first = self.type.properties[0].name
            raise ValidationError({first: _("Nothing to change.")})
        payload = {"id": str(object_id), "properties": properties}
        return outbox.submit(self.type.kind("update"), payload, user=user)

    def archive(self, object_id: str, *, user=None) -> outbox.Outcome:
        return outbox.submit(self.type.kind("archive"), {"id": str(object_id)}, user=user)

    # --- outbox handlers -----------------------------------------------------------------------
    # Creates and updates drain in batches (`batch.drain`): the row being attempted takes the
    # other due rows of its kind along; one due alone keeps its single-object call.
    def handle_create(self, client, payload, operation):
        return batch.drain(
            operation,
            self.send_creates,
            alone=lambda: self.create_one(client, payload, operation),
        )

    def create_one(self, client, payload, operation):
        record = request_key.create(
            client,
            self.type.name,
            self.property_group,
            payload["properties"],
            operation,
            read_properties=self.type.list_properties,
        )
        return outbox.Result(record["id"], {self.type.singular: record})

    def send_creates(self, client, operations) -> dict:
        """Creates by batch upsert on the request key: a batch sent again after a lost answer
        finds the records it made instead of making them twice."""
        inputs = {
            op.idempotency_key: {"id": op.idempotency_key, "properties": op.payload["properties"]}
            for op in operations
        }
        found = self.upsert_by_key(client, inputs)
        return batch.results(
            operations,
            found,
            key=lambda op: op.idempotency_key,
            make=lambda record, op: outbox.Result(record["id"], {self.type.singular: record}),
        )

    def upsert_by_key(self, client, inputs: dict[str, dict]) -> dict:
        """Batch upsert keyed by `skypanel_request_key`, making the property first; inputs refused
        because HubSpot lost the property meanwhile are sent once more after making it again."""
        request_key.ensure_property(client, self.type.name, self.property_group)
        found = batch.upsert(client, self.type.name, inputs, request_key.PROPERTY)
        lost = [k for k, v in found.items() if _names_key_property(v)]
        if lost:
            logger.warning(
                "HubSpot no longer has the %s property %s; creating it again",
                self.type.name,
                request_key.PROPERTY,
            )
            request_key.ensure_property(client, self.type.name, self.property_group, recheck=True)
            again = batch.upsert(
                client, self.type.name, {k: inputs[k] for k in lost}, request_key.PROPERTY
            )
            for key, outcome in again.items():
                found[key] = (
                    request_key.not_known_yet(self.type.name)
                    if _names_key_property(outcome)
                    else outcome
                )
        return found

    def handle_update(self, client, payload, operation):
        return batch.drain(
            operation,
            self.send_updates,
            alone=lambda: self.update_one(client, payload, operation),
        )

    def update_properties(self, client, payload: dict) -> dict:
        """The properties a queued update sends. A type overrides it to finish, when the write
        runs, a check that could not be made when it was queued (tickets: a stage)."""
        return payload["properties"]

    def update_one(self, client, payload, operation):
        properties = self.update_properties(client, payload)
        record = client.update_object(self.type.name, payload["id"], properties)
        return outbox.Result(record["id"], {self.type.singular: record})

    def send_updates(self, client, operations) -> dict:
        """Updates by batch update; several changes of one record are one input, applied in the
        order they were made (the later value wins, as if sent one by one). A row whose
        properties cannot be finished (`update_properties`) is refused alone."""
        prepared = batch.each(operations, lambda op: self.update_properties(client, op.payload))
        ready = [op for op in operations if not isinstance(prepared[op.pk], Exception)]
        inputs: dict[str, dict] = {}
        for op in sorted(ready, key=lambda op: op.pk):
            entry = inputs.setdefault(str(op.payload["id"]), {"id": str(op.payload["id"])})
            entry["properties"] = {**entry.get("properties", {}), **prepared[op.pk]}
        found = batch.update(client, self.type.name, inputs) if inputs else {}
        outcomes = {op.pk: prepared[op.pk] for op in operations if op not in ready}
        outcomes.update(
            batch.results(
                ready,
                found,
                key=lambda op: str(op.payload["id"]),
                make=lambda record, op: outbox.Result(record["id"], {self.type.singular: record}),
            )
        )
        return outcomes

    def handle_archive(self, client, payload, operation):
        try:
            client.archive_object(self.type.name, payload["id"])
        except errors.NotFound:
            pass  # already gone: a retried archive after a lost answer lands here
        return outbox.Result(payload["id"], {"archived": True})

    def outbox_handlers(self) -> dict:
        """Kind -> handler, for AppConfig.ready() to register (`outbox.register`)."""
        return {self.type.kind(verb): getattr(self, f"handle_{verb}") for verb in self.type.verbs}


def _names_key_property(outcome) -> bool:
    """Whether a refusal is HubSpot not knowing the request-key property (deleted, a reset
    sandbox): by its code in the details or its name in the message."""
    return isinstance(outcome, errors.ValidationFailed) and (
        request_key.names_missing_property(outcome) or request_key.PROPERTY in outcome.message
    )
