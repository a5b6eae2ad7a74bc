"""Emails to customers about their tickets: owed when `ticket_sync` applies a change, sent by the
worker.

A change (a new stage, closed, deleted in HubSpot) to a ticket of a panel customer with a verified
address records one `TicketNotification` in the same transaction as the change, keyed by what
caused it (the webhook event's ID, or the sync's change): the unique (ticket, key) pair is what
makes a redelivered event or a repeated sync send nothing twice. The row, not the queue, is the
record of what is owed: the task `send_ticket_email` claims it atomically (so two workers, or a
worker and the sweep, never both send it), a failed send leaves it pending with a backoff, and
the sweep sends whatever a lost task left behind.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from ..conf import app_settings
from ..models import CustomerTicket, TicketNotification
from . import email_verification, outbox, queue, user_language

# The account page owns the switch (CustomerProfile.ticket_emails, default on).
from .profiles import ticket_emails_wanted as wants_ticket_emails

logger = logging.getLogger(__name__)

Kind = TicketNotification.Kind
Status = TicketNotification.Status
TEMPLATE = "support/email/ticket_update"


def recipient(ticket: CustomerTicket) -> str:
    """The address a ticket's email goes to: its customer's verified one, else "" (none is sent).
    The address typed on the form is never used: it is not proved to be theirs."""
    user = ticket.user
    if user is None or not user.is_active or not wants_ticket_emails(user):
        return ""
    return email_verification.verified_email(user)


def change_kind(ticket: CustomerTicket, *, old_stage: str, old_status: str) -> str | None:
    """What the customer hears about, comparing the ticket with its state before the change."""
    if ticket.status == old_status and ticket.stage == old_stage:
        return None
    if ticket.status == CustomerTicket.Status.DELETED:
        return Kind.DELETED
    if ticket.status == CustomerTicket.Status.CLOSED and old_status != ticket.status:
        return Kind.CLOSED
    # The first stage the panel learns (a request filed while the pipelines could not be read)
    # is no news to the customer: only a move from one stage to another is.
    if old_stage and ticket.stage and ticket.stage != old_stage:
        return Kind.STAGE
    return None


def record_change(
    ticket: CustomerTicket, *, old_stage: str, old_status: str, key: str
) -> TicketNotification | None:
    """Record the email a change applied to `ticket` owes its customer, if any; `key` names the
    cause (the same key twice records one email). The send is queued once the change commits."""
    kind = change_kind(ticket, old_stage=old_stage, old_status=old_status)
    if kind is None or not recipient(ticket):
        return None
    if kind == Kind.DELETED:
        key = "deleted"  # a ticket is deleted once, whether a webhook or a sync saw it first
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction goes on either way
            row = TicketNotification.objects.create(
                ticket=ticket,
                key=key[:100],
                kind=kind,
                stage_label=ticket.stage_label or ticket.stage,
            )
    except IntegrityError:
        return None  # this cause was recorded already
    transaction.on_commit(lambda: _enqueue(row.pk))
    return row


def _enqueue(notification_id: int, run_after=None) -> None:
    queue.enqueue(
        queue.SEND_TICKET_EMAIL,
        notification_id,
        what=f"ticket email {notification_id}",
        run_after=run_after,
    )


# --- sending -------------------------------------------------------------------------------------
def _due(now) -> Q:
    # Pending and its time has come, or held by a worker whose lease ran out (it died sending).
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.SENDING, locked_until__lt=now
    )


def claim(notification_id: int) -> TicketNotification | None:
    """The row, leased to this worker, if it is due and nobody else holds it."""
    now = timezone.now()
    taken = TicketNotification.objects.filter(_due(now), pk=notification_id).update(
        status=Status.SENDING,
        locked_until=now + timedelta(seconds=app_settings.TICKET_EMAIL_LEASE_SECONDS),
        attempts=F("attempts") + 1,
    )
    if not taken:
        return None
    return TicketNotification.objects.select_related("ticket__user").get(pk=notification_id)


def send(notification_id: int) -> str:
    """Send one owed email; its status afterwards ("not due" when it is not this worker's)."""
    row = claim(notification_id)
    if row is None:
        return "not due"
    to = recipient(row.ticket)
    if not to:
        # Switched off, or the address changed and is not verified yet, since the change.
        return _finish(row, Status.SKIPPED)
    try:
        message(row, to).send()
    except Exception as err:  # any mail backend's failure (SMTP, DNS, a refused login) is retried
        return _retry_later(row, err)
    return _finish(row, Status.SENT, sent_at=timezone.now())


def _finish(row: TicketNotification, status: str, **fields) -> str:
    TicketNotification.objects.filter(pk=row.pk).update(
        status=status, locked_until=None, last_error="", **fields
    )
    return status


def _retry_later(row: TicketNotification, err: Exception) -> str:
    reason = f"{type(err).__name__}: {err}"[:500]
    if row.attempts >= app_settings.TICKET_EMAIL_MAX_ATTEMPTS:
        logger.error(
            "Ticket email %s not sent after %d attempts, given up: %s", row.pk, row.attempts, reason
        )
        TicketNotification.objects.filter(pk=row.pk).update(
            status=Status.FAILED, locked_until=None, last_error=reason
        )
        return Status.FAILED
    due = timezone.now() + timedelta(
        seconds=outbox.backoff_seconds(
            row.attempts,
            base=app_settings.TICKET_EMAIL_BACKOFF_BASE_SECONDS,
            cap=app_settings.TICKET_EMAIL_BACKOFF_CAP_SECONDS,
        )
    )
    logger.warning("Ticket email %s not sent (%s); retrying at %s", row.pk, reason, due)
    TicketNotification.objects.filter(pk=row.pk).update(
        status=Status.PENDING, locked_until=None, next_attempt_at=due, last_error=reason
    )
    _enqueue(row.pk, run_after=due)
    return Status.PENDING


def send_due(limit: int = 100) -> int:
    """The sweep's step: send owed emails that are due (a lost task, a retry whose task was
    lost, a worker that died holding one); how many were sent."""
    due = (
        TicketNotification.objects.filter(_due(timezone.now()))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(send(pk) == Status.SENT for pk in list(due))


# --- the email -----------------------------------------------------------------------------------
def site_url(name: str, *args) -> str:
    return app_settings.SITE_URL + reverse(name, args=args)


def message(row: TicketNotification, to: str) -> EmailMultiAlternatives:
    """The email, in its customer's language (their account page's choice, else the site's):
    the worker that sends it has no request to take a language from."""
    with translation.override(user_language.language_for(row.ticket.user)):
        return _message(row, to)


def _message(row: TicketNotification, to: str) -> EmailMultiAlternatives:
    ticket = row.ticket
    context = {
        "ticket": ticket,
        "kind": row.kind,
        "stage": row.stage_label or ticket.stage or "",
        "user": ticket.user,
        "my_tickets_url": site_url("my-tickets"),
        "ticket_url": site_url("my-ticket", ticket.pk),
    }
    subject = " ".join(render_to_string(f"{TEMPLATE}_subject.txt", context).split())
    email = EmailMultiAlternatives(
        subject, render_to_string(f"{TEMPLATE}.txt", context), None, [to]
    )
    email.attach_alternative(render_to_string(f"{TEMPLATE}.html", context), "text/html")
    return email
