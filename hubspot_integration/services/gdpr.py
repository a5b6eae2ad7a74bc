"""Erasing a person: their HubSpot contact (GDPR delete, through the outbox) and what the panel
holds about them, in one transaction. The customer's "Delete my account" and the staff's "GDPR
delete" on a contact's page both come here (`erase`).

What goes: the user account (and with it, by cascade, their verified email, profile, consent
records, API token and admin log entries), their ticket rows and the requests they sent that the
outbox still holds (support tickets and form submissions naming their address), the login
records django-axes kept under their username, and their sessions.

What stays: one audit line (`SettingsAuditEntry`, action "gdpr_delete") saying that an erasure
was done, when, by whom (the staff member, or "the account holder") and how many records went,
with no name or address: proof that the request was honoured (GDPR art. 5(2), 17). The outbox row
that asks HubSpot to delete the contact holds the address only until HubSpot confirmed it; then
the address is blanked too. Both are purged by the retention settings like any other row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import errors
from ..models import CustomerTicket, OutboxOperation, SettingsAuditEntry
from . import email_verification, outbox

logger = logging.getLogger(__name__)

Kind = OutboxOperation.Kind
AUDIT_ACTION = "gdpr_delete"
ERASED = "(erased)"
# The kinds whose payload is something the person sent (their ticket, their form message).
THEIR_REQUESTS = (Kind.CREATE_TICKET, Kind.SUBMIT_FORM)


@dataclass
class Erasure:
    """What `erase` found (for the confirmation page) or removed (after)."""

    email: str
    user: object = None
    tickets: int = 0
    requests: int = 0
    operation: OutboxOperation | None = None
    outcome: outbox.Outcome | None = field(default=None, repr=False)

    @property
    def summary(self) -> str:
        parts = [
            "the user account" if self.user is not None else "no user account",
            f"{self.tickets} ticket row{'s' if self.tickets != 1 else ''}",
            f"{self.requests} stored request{'s' if self.requests != 1 else ''}",
        ]
        return ", ".join(parts)


def _account(email: str, user=None):
    return user if user is not None else email_verification.account_with(email)


def _tickets(email: str, user):
    match = Q(email__iexact=email)
    if user is not None:
        match |= Q(user=user)
    return CustomerTicket.objects.filter(match)


def _requests(email: str, user):
    # A visitor's requests carry the address they typed; a customer's are also theirs by account.
    match = Q(payload__email=email) | Q(payload__values__email=email)
    if user is not None:
        match |= Q(requested_by=user)
    return OutboxOperation.objects.filter(match, kind__in=THEIR_REQUESTS)


def inventory(email: str, *, user=None) -> Erasure:
    """What erasing `email` would remove here, without removing it."""
    email = email_verification.normalize(email)
    user = _account(email, user)
    return Erasure(
        email=email,
        user=user,
        tickets=_tickets(email, user).count(),
        requests=_requests(email, user).count(),
    )


def _forget_sessions(user) -> None:
    # The account is gone, so its sessions could not sign in anyway; they go now, not at expiry.
    # A scan: erasures are rare, and the database backend keeps no index by user.
    pk = str(user.pk)
    doomed = [
        s.session_key
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(s.get_decoded().get("_auth_user_id")) == pk
    ]
    Session.objects.filter(session_key__in=doomed).delete()


def _forget_login_records(username: str) -> None:
    if not apps.is_installed("axes"):
        return
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username=username).delete()


def erase(email: str, *, user=None, actor=None, source: str) -> Erasure:
    """Ask HubSpot to GDPR-delete the contact with `email` and remove the local records, in one
    transaction with the audit line; then attempt the HubSpot call (an outage leaves it queued).

    `user`: the account being deleted (the customer's own path); else the account with that
    address, if any. `actor`: the staff member who asked, or None when it is the account holder."""
    found = inventory(email, user=user)
    email, user = found.email, found.user
    with transaction.atomic():
        # Recorded without `requested_by`: the requester may be the account about to go.
        found.operation = outbox.record(Kind.GDPR_DELETE_CONTACT, {"email": email})
        _tickets(email, user).delete()
        _requests(email, user).delete()
        if user is not None:
            _forget_sessions(user)
            _forget_login_records(user.get_username())
            user_pk = user.pk
            user.delete()
            cache.delete(email_verification.state_key(user_pk))
        SettingsAuditEntry.objects.create(
            actor=actor,
            actor_name=actor.get_username() if actor is not None else "",
            source=source,
            action=AUDIT_ACTION,
            summary=(
                f"Personal data erased at the {'account holder' if actor is None else 'staff'}'s "
                f"request: {found.summary}; HubSpot contact deletion is outbox operation "
                f"#{found.operation.pk}."
            ),
        )
    found.outcome = outbox.attempt(found.operation)
    logger.info("GDPR erasure done (%s); outbox operation %s", source, found.operation.pk)
    return found


def _gdpr_delete_contact(client, payload, operation):
    email = payload.get("email") or ""
    if email and email != ERASED:
        try:
            client.gdpr_delete("contacts", email, id_property="email")
        except errors.NotFound:
            pass  # HubSpot has no such contact (any more): nothing is left to delete
    # HubSpot confirmed: the address has no reason to stay in the outbox row.
    OutboxOperation.objects.filter(pk=operation.pk).update(payload={"email": ERASED})
    return outbox.Result("", {"deleted": True})


# Installed by AppConfig.ready() (`outbox.register`): kind -> handler.
OUTBOX_HANDLERS = {Kind.GDPR_DELETE_CONTACT: _gdpr_delete_contact}
