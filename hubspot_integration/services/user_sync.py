"""Site users as HubSpot contacts, both ways.

Panel to HubSpot: a customer's address once confirmed, and each later change of a mapped field,
becomes one `SYNC_USER_CONTACT` outbox row naming the user, never the values: whoever sends it
reads the user as they are then, so several changes waiting in the outbox are one write. The
handler of one row claims the other due rows of its kind and sends them all in one batch upsert
by email (at most 100 inputs, HubSpot's batch limit); each row is settled from HubSpot's answer
for its own input, so a refused input fails only its row. Upsert by email is idempotent, so a
retry after a lost answer changes nothing. Only confirmed addresses are sent: a changed address
waits for its confirmation, then the contact the user was linked to gets it (update by ID).

HubSpot to panel (off by default): a `contact.propertyChange` webhook event for a mapped property
of a linked contact sets the user's field. The email is never taken from HubSpot (the panel would
be trusting an address nobody confirmed), nor is any field that must be unique (username).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import errors
from ..conf import app_settings
from ..credentials import get_client
from ..crm import batch
from ..models import (
    DEFAULT_USER_PROPERTY_MAP,
    CustomerEmail,
    HubSpotSettings,
    HubSpotUserContact,
    OutboxOperation,
)
from . import email_verification, outbox

logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # HubSpot's batch endpoints take at most 100 inputs
KIND = OutboxOperation.Kind.SYNC_USER_CONTACT
Status = OutboxOperation.Status
PROPERTIES_CACHE_KEY = "hubspot:contact-properties:v1"
NEVER_MAPPED = {"password"}


# --- the mapping -----------------------------------------------------------------------------------
def mappable_fields() -> list[str]:
    """User fields that can be sent: the user model's own text and email columns."""
    return [
        f.name
        for f in get_user_model()._meta.concrete_fields
        if isinstance(f, models.CharField) and f.name not in NEVER_MAPPED
    ]


def mapping(s: HubSpotSettings | None = None) -> dict[str, str]:
    s = s or HubSpotSettings.load()
    return dict(s.user_property_map or DEFAULT_USER_PROPERTY_MAP)


def _format_problems(value) -> list[str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
    ):
        return [
            _('Enter a JSON object of user field to contact property, e.g. {"email": "email"}.')
        ]
    problems = []
    allowed = mappable_fields()
    for field in value:
        if field not in allowed:
            problems.append(
                _("“%(field)s” is not a user field that can be sent (one of: %(allowed)s).")
                % {"field": field, "allowed": ", ".join(allowed)}
            )
    if value.get("email") != "email":
        problems.append(
            _("email must stay mapped to the contact property “email”: contacts are matched by it.")
        )
    seen: dict[str, str] = {}
    for field, prop in value.items():
        if prop in seen:
            problems.append(
                _("%(first)s and %(second)s are both mapped to “%(property)s”.")
                % {"first": seen[prop], "second": field, "property": prop}
            )
        seen[prop] = field
    return problems


def contact_properties(*, refresh: bool = False) -> dict[str, dict]:
    """HubSpot's contact properties by name, cached briefly: shared, and rarely changed."""
    known = None if refresh else cache.get(PROPERTIES_CACHE_KEY)
    if known is None:
        known = {p["name"]: p for p in get_client().list_properties("contacts") if p.get("name")}
        cache.set(PROPERTIES_CACHE_KEY, known, app_settings.CONTACT_PROPERTIES_TTL)
    return known


def _read_only(definition: dict) -> bool:
    meta = definition.get("modificationMetadata") or {}
    return bool(meta.get("readOnlyValue") or definition.get("calculated"))


def _property_problems(value: dict, known: dict[str, dict]) -> list[str]:
    problems = []
    for field, prop in value.items():
        definition = known.get(prop)
        if definition is None:
            problems.append(
                _("%(field)s → %(property)s: HubSpot has no contact property “%(property)s”.")
                % {"field": field, "property": prop}
            )
        elif _read_only(definition):
            problems.append(
                _("%(field)s → %(property)s: the contact property “%(property)s” is read-only.")
                % {"field": field, "property": prop}
            )
    return problems


def mapping_problems(value, stored=None) -> list[str]:
    """Why a mapping cannot be saved, each message naming the user field and the property.

    A changed mapping is checked against HubSpot's contact properties; when HubSpot cannot be
    asked it is refused (not kept unchecked), because every later batch would carry it and a
    property HubSpot does not have fails the whole batch."""
    problems = _format_problems(value)
    if problems or value == (stored or DEFAULT_USER_PROPERTY_MAP):
        return problems
    try:
        problems = _property_problems(value, contact_properties())
        if problems:  # created in HubSpot since the list was cached? ask again before refusing
            problems = _property_problems(value, contact_properties(refresh=True))
    except errors.HubSpotError as err:
        return [
            _(
                "HubSpot cannot be asked now whether these contact properties exist, so the "
                "mapping was not changed (%(error)s). Try again once the connection check passes."
            )
            % {"error": err}
        ]
    return problems


# --- what a user is sent as --------------------------------------------------------------------------
def eligible(user) -> bool:
    """Customers with a confirmed address; staff accounts and inactive ones are never sent."""
    return bool(user.is_active and not user.is_staff and email_verification.verified_email(user))


def user_values(user, fields: dict[str, str]) -> dict[str, str]:
    values = {prop: str(getattr(user, field, "") or "").strip() for field, prop in fields.items()}
    values["email"] = email_verification.normalize(user.email)
    return values


def digest(values: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _enabled(s: HubSpotSettings) -> bool:
    return bool(s.is_configured and s.user_sync_enabled)


def request_sync(user) -> OutboxOperation | None:
    """Record that this user's contact is due (in the caller's transaction); the queue sends it
    after the commit, the sweep if the queue loses it. None when nothing needs recording."""
    if not _enabled(HubSpotSettings.load()) or not eligible(user):
        return None
    if OutboxOperation.objects.filter(
        kind=KIND, status=Status.PENDING, payload__user_id=user.pk
    ).exists():
        return None  # the waiting row reads the user when it is sent: it carries this change
    operation = outbox.record(KIND, {"user_id": user.pk})
    transaction.on_commit(lambda: outbox.schedule(operation.pk))
    return operation


def user_saved(user, *, created: bool, update_fields=None) -> None:
    """post_save of the user: a change of a mapped field is sent; any other save costs nothing."""
    if created:
        return  # a new account has no confirmed address yet
    s = HubSpotSettings.load()
    if not _enabled(s):
        return
    fields = mapping(s)
    if update_fields is not None and not set(update_fields) & set(fields):
        return  # e.g. last_login on every sign-in
    if not eligible(user):
        return
    link = HubSpotUserContact.objects.filter(user_id=user.pk).first()
    if link is not None and link.synced_digest == digest(user_values(user, fields)):
        return
    request_sync(user)


def email_confirmed(customer_email: CustomerEmail) -> None:
    """post_save of the confirmed address: the first sync, or the one a changed email waited for."""
    user = customer_email.user
    # The confirm view asked "verified?" before the row existed: forget that answer.
    user.__dict__.pop("_hubspot_verified_email", None)
    request_sync(user)


# --- sending ---------------------------------------------------------------------------------------
def _sendable(values: dict[str, str]) -> dict[str, str]:
    # A blank field is not sent: an empty profile field must not wipe what HubSpot holds.
    return {prop: value for prop, value in values.items() if value}


def send(client, operations: list[OutboxOperation]) -> dict[int, outbox.Result | Exception]:
    """Send these rows' users in one batch upsert (and one batch update for changed addresses);
    the outcome of each row by its primary key."""
    User = get_user_model()
    fields = mapping()
    by_user: dict[int, list[OutboxOperation]] = {}
    for op in operations:
        by_user.setdefault(op.payload.get("user_id"), []).append(op)
    links = {link.user_id: link for link in HubSpotUserContact.objects.filter(user_id__in=by_user)}
    outcomes: dict[int, outbox.Result | Exception] = {}
    upserts, renames = {}, {}
    for user in User.objects.filter(pk__in=by_user):
        if not eligible(user):
            continue  # unconfirmed since (a changed address) or a staff account now: not sent
        values = user_values(user, fields)
        link = links.get(user.pk)
        if link and link.contact_id and link.email and link.email != values["email"]:
            renames[link.contact_id] = (user, values)
        else:
            upserts[values["email"]] = (user, values)
    answers: dict[int, tuple[str, bool] | Exception] = {}
    if upserts:
        _settle_upserts(client, upserts, answers)
    if renames:
        _settle_renames(client, renames, answers)
    for user_id, ops in by_user.items():
        answer = answers.get(user_id)
        for op in ops:
            if answer is None:
                outcomes[op.pk] = outbox.Result("", {"skipped": True})
            elif isinstance(answer, Exception):
                outcomes[op.pk] = answer
            else:
                outcomes[op.pk] = outbox.Result(answer[0], {"created": answer[1]})
    return outcomes


def _settle_upserts(client, upserts: dict, answers: dict) -> None:
    inputs = {email: {"id": email, "properties": _sendable(v)} for email, (_, v) in upserts.items()}
    found = batch.upsert(client, "contacts", inputs, id_property="email")
    for email, (user, values) in upserts.items():
        result = found[email]
        if isinstance(result, errors.HubSpotError):
            answers[user.pk] = result
            continue
        _remember(user, str(result["id"]), values)
        answers[user.pk] = (str(result["id"]), bool(result.get("new")))


def _settle_renames(client, renames: dict, answers: dict) -> None:
    """Users whose confirmed address changed: their contact gets the new address (by its ID).
    A contact HubSpot no longer has, or one it will not rename, falls back to the upsert by the
    new address, which links the user to the contact that address has (or a new one)."""
    inputs = [{"id": cid, "properties": _sendable(v)} for cid, (_, v) in renames.items()]
    try:
        found = {str(r.get("id")) for r in client.batch_update("contacts", inputs)["results"]}
    except errors.HubSpotError as err:
        if err.transient:
            answers.update({user.pk: err for user, _ in renames.values()})
            return
        found = set()
    fallback = {}
    for contact_id, (user, values) in renames.items():
        if contact_id in found:
            _remember(user, contact_id, values)
            answers[user.pk] = (contact_id, False)
        else:
            fallback[values["email"]] = (user, values)
    if fallback:
        _settle_upserts(client, fallback, answers)


def _remember(user, contact_id: str, values: dict[str, str]) -> None:
    HubSpotUserContact.objects.update_or_create(
        user=user,
        defaults={
            "contact_id": contact_id,
            "email": values["email"],
            "synced_digest": digest(values),
            "synced_at": timezone.now(),
        },
    )


def handle_sync(client, payload, operation):
    """The outbox handler: this row and the other due rows of its kind, in one batch call per
    100 (`crm.batch.drain`); even a row due alone goes as a batch of one."""
    return batch.drain(operation, send)


OUTBOX_HANDLERS = {KIND: handle_sync}


# --- the backfill (manage.py hubspot_sync_users) ---------------------------------------------------
@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    refused: int = 0
    queued: int = 0
    skipped: int = 0

    @property
    def complete(self) -> bool:
        return not (self.refused or self.queued)

    def __str__(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, refused {self.refused}, "
            f"queued {self.queued}"
        )


def backfill_candidates(*, everyone: bool = False):
    """Active customers whose address is confirmed; without `everyone`, only those not linked
    to a contact yet."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=False, customer_email__isnull=False)
        .annotate(_address=Lower("email"), _confirmed=Lower("customer_email__email"))
        .filter(_address=models.F("_confirmed"))
        .exclude(email="")
    )
    if not everyone:
        users = users.exclude(hubspot_contact__contact_id__gt="")
    return users.order_by("pk")


def backfill(user_ids: list[int], *, progress=None) -> Summary:
    """Send these users now, a batch call per 100; what HubSpot did not take stays queued."""
    progress = progress or (lambda n: None)
    recorded: list[int] = []
    for start in range(0, len(user_ids), BATCH_SIZE):
        chunk = user_ids[start : start + BATCH_SIZE]
        with transaction.atomic():
            ops = [outbox.record(KIND, {"user_id": pk}) for pk in chunk]
        recorded += [op.pk for op in ops]
        outbox.process(ops[0].pk)  # its handler takes the other due rows along
        progress(len(chunk))
    # Rows an older due row pushed out of a full batch are still due: send them too.
    for pk in list(
        OutboxOperation.objects.filter(pk__in=recorded, status=Status.PENDING)
        .filter(next_attempt_at__lte=timezone.now())
        .values_list("pk", flat=True)
    ):
        outbox.process(pk)
    return tally(recorded)


def tally(operation_ids: list[int]) -> Summary:
    summary = Summary()
    for status, result in OutboxOperation.objects.filter(pk__in=operation_ids).values_list(
        "status", "result"
    ):
        result = result or {}
        if status == Status.SUCCEEDED:
            if result.get("skipped"):
                summary.skipped += 1
            elif result.get("created"):
                summary.created += 1
            else:
                summary.updated += 1
        elif status in (Status.FAILED, Status.DISCARDED):
            summary.refused += 1
        else:
            summary.queued += 1
    return summary


# --- HubSpot to panel ------------------------------------------------------------------------------
def _settable_fields(fields: dict[str, str], prop: str) -> list[str]:
    User = get_user_model()
    return [
        field
        for field, mapped in fields.items()
        if mapped == prop and field != "email" and not User._meta.get_field(field).unique
    ]


def apply_contact_change(contact_id: str, prop: str, value: str, *, at) -> int:
    """A mapped property changed in HubSpot: set it on the linked users, when that direction is
    on. Returns how many users changed."""
    s = HubSpotSettings.load()
    if not s.user_sync_from_hubspot:
        return 0
    fields = mapping(s)
    targets = _settable_fields(fields, prop)
    if not targets:
        return 0
    changed = 0
    User = get_user_model()
    for link in HubSpotUserContact.objects.filter(contact_id=contact_id).select_related("user"):
        if link.synced_at and at <= link.synced_at:
            continue  # the echo of the panel's own write, or older than it
        user = link.user
        updated = []
        for field in targets:
            new = str(value or "")[: User._meta.get_field(field).max_length]
            if getattr(user, field) != new:
                setattr(user, field, new)
                updated.append(field)
        if not updated:
            continue
        with transaction.atomic():
            # Remembered as synced first, so the user's save is not sent back to HubSpot.
            link.synced_digest = digest(user_values(user, fields))
            link.save(update_fields=["synced_digest"])
            user.save(update_fields=updated)
        changed += 1
    return changed
