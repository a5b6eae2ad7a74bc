"""The account page's services: the user's own choices, a change of address (confirmed by the
verification link before it is used), and "my data"."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ..models import CustomerProfile, OutboxOperation
from . import consent, email_verification, gdpr, support_requests


def profile_of(user) -> CustomerProfile:
    profile, _ = CustomerProfile.objects.get_or_create(user=user)
    return profile


def ticket_emails_wanted(user) -> bool:
    """Whether `user` gets ticket status emails (on unless they switched them off)."""
    found = CustomerProfile.objects.filter(user_id=user.pk).values_list("ticket_emails", flat=True)
    return next(iter(found), True)


def set_ticket_emails(user, wanted: bool) -> None:
    CustomerProfile.objects.update_or_create(user=user, defaults={"ticket_emails": bool(wanted)})


def change_name(user, first_name: str, last_name: str) -> None:
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.save(update_fields=["first_name", "last_name"])


def request_email_change(request, user, new_email: str) -> str:
    """Keep `new_email` as pending and send its confirmation link: "same" (already the
    address), "sent", or "not_sent" (the mail failed; the change stays pending).

    An address another account holds gets no link, and the user sees "sent" all the same: the
    account page is not a way to find out who has an account."""
    new_email = email_verification.normalize(new_email)
    if new_email == email_verification.normalize(user.email):
        CustomerProfile.objects.filter(user=user).update(pending_email="")
        return "same"
    with transaction.atomic():
        CustomerProfile.objects.update_or_create(
            user=user,
            defaults={"pending_email": new_email, "pending_email_requested_at": timezone.now()},
        )
    taken = get_user_model().objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists()
    if taken:
        return "sent"
    return "sent" if email_verification.send_verification(request, user, new_email) else "not_sent"


def _request_row(operation: OutboxOperation) -> dict:
    payload = dict(operation.payload or {})
    return {
        "kind": operation.kind,
        "status": operation.status,
        "createdAt": operation.created_at.isoformat(),
        "completedAt": operation.completed_at.isoformat() if operation.completed_at else None,
        "sent": payload,
    }


def my_data(user) -> dict:
    """What the panel holds about `user`, as JSON-ready data: their account, the requests the
    outbox still holds that they sent, their ticket rows, their choices and consent answers.
    Never a password hash, a token or a row of anyone else's."""
    verified = email_verification.verified_email(user)
    profile = CustomerProfile.objects.filter(user=user).first()
    # Only rows tied to the account: a ticket a visitor sent with this address typed in could be
    # anyone's words.
    tickets = support_requests.tickets_of(user)
    return {
        "account": {
            "username": user.get_username(),
            "firstName": user.first_name,
            "lastName": user.last_name,
            "email": user.email,
            "emailVerified": bool(verified),
            "pendingEmail": profile.pending_email if profile else "",
            "dateJoined": user.date_joined.isoformat(),
            "ticketEmails": profile.ticket_emails if profile else True,
            "language": profile.language if profile else "",
        },
        "requests": [
            _request_row(op)
            for op in OutboxOperation.objects.filter(
                requested_by=user, kind__in=gdpr.THEIR_REQUESTS
            )
        ],
        "tickets": [
            {
                "reference": f"SR-{t.pk}",
                "subject": t.subject,
                "email": t.email,
                "priority": t.priority,
                "status": t.status,
                "stage": t.stage_label,
                "hubspotId": t.hubspot_id,
                "createdAt": t.created_at.isoformat(),
                "updatedAt": t.updated_at.isoformat(),
            }
            for t in tickets.order_by("created_at", "pk")
        ],
        "consent": consent.records_of(user),
    }
