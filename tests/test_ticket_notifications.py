"""Customers hear about their tickets: one email per change HubSpot reports, through the worker.

Webhooks are signed and delivered to the panel's receiver, the fake HubSpot answers the pipelines
and the staff's "sync now" through the real SDK, and the email is read from Django's outbox as
the customer would read it.
"""

import smtplib
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import Client
from django.utils import timezone

from hubspot_integration.models import CustomerProfile, CustomerTicket, TicketNotification
from hubspot_integration.services import profiles, sweep, ticket_notifications, webhook_events
from hubspot_integration.tasks import process_webhook_events
from tests.fake_hubspot import TICKET_PIPELINE_ID
from tests.helpers import client_for, make_user
from tests.test_webhooks import deliver, secret, stage_event, ticket  # noqa: F401 (fixtures)

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
WAITING_ON_US = "81234570"
CLOSED = "81234571"


class FailingBackend(EmailBackend):
    """A mail server that refuses the next `failures` messages, then accepts (locmem)."""

    failures = 0

    def send_messages(self, messages):
        if FailingBackend.failures > 0:
            FailingBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def worker(settings, django_capture_on_commit_callbacks):
    """The task worker, run in-process: jobs queued once a change commits run there and then."""
    settings.TASKS = IMMEDIATE

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


@pytest.fixture
def mine(ticket, verified_customer):  # noqa: F811 (the fixture imported above)
    """test_webhooks' ticket (HubSpot ID 555, stage "New"), its customer's address confirmed."""
    return ticket


@pytest.fixture
def hooks():
    return Client(enforce_csrf_checks=True)


def deliver_and_apply(worker, hooks, events, **kwargs):
    assert deliver(hooks, events, **kwargs).status_code == 204
    worker(process_webhook_events.call)


def test_a_stage_change_sends_one_email(mine, hooks, worker, settings):
    settings.HUBSPOT_SITE_URL = "https://panel.example.com"
    settings.DEFAULT_FROM_EMAIL = "SkyPanel <help@example.com>"
    deliver_and_apply(worker, hooks, [stage_event(2001, 555, WAITING_ON_US)])

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["cus@example.com"]
    assert email.from_email == "SkyPanel <help@example.com>"
    assert "Site down" in email.subject and "Waiting on us" in email.subject
    assert "Waiting on us" in email.body
    assert "https://panel.example.com/support/tickets/" in email.body
    html, kind = email.alternatives[0]
    assert kind == "text/html"
    assert "Waiting on us" in html and 'href="https://panel.example.com/support/tickets/"' in html
    note = TicketNotification.objects.get()
    assert (note.status, note.key, note.attempts) == ("sent", "event:2001", 1)


def test_the_same_webhook_delivered_twice_sends_one_email(mine, hooks, worker):
    event = stage_event(2002, 555, WAITING_ON_US)
    deliver_and_apply(worker, hooks, [event])
    # HubSpot's retry: the same event ID, a new attempt number, a new signed request.
    retry = dict(event, attemptNumber=1)
    deliver_and_apply(worker, hooks, [retry], timestamp=int(time.time() * 1000) + 1)
    assert len(mail.outbox) == 1


def test_the_event_id_decides_even_when_an_event_is_applied_again(mine, worker):
    event = stage_event(2003, 555, WAITING_ON_US)
    worker(webhook_events.apply, event)
    # The ticket is put back as if the first application never happened; the event comes again.
    CustomerTicket.objects.filter(pk=mine.pk).update(
        stage="81234568", stage_label="New", updated_at=timezone.now() - timedelta(hours=1)
    )
    worker(webhook_events.apply, event)
    assert len(mail.outbox) == 1
    assert TicketNotification.objects.count() == 1


def test_closed_and_deleted_say_so(mine, hooks, worker):
    deliver_and_apply(worker, hooks, [stage_event(2004, 555, CLOSED)])
    closed = mail.outbox[-1]
    assert "closed" in closed.subject and "has been closed" in closed.body
    assert "Closed" in closed.body
    deletion = {
        "eventId": 2005,
        "subscriptionType": "ticket.deletion",
        "objectId": 555,
        "occurredAt": int(time.time() * 1000),
    }
    deliver_and_apply(worker, hooks, [deletion])
    removed = mail.outbox[-1]
    assert len(mail.outbox) == 2
    assert "removed" in removed.subject and "closed and removed" in removed.body
    assert "/support/tickets/" in removed.body
    # Deleted again (another event, or a sync that no longer finds it): nothing new to say.
    deliver_and_apply(worker, hooks, [dict(deletion, eventId=2006)])
    assert len(mail.outbox) == 2


def test_a_priority_change_is_no_news(mine, hooks, worker):
    deliver_and_apply(worker, hooks, [stage_event(2007, 555, "HIGH", name="hs_ticket_priority")])
    assert mail.outbox == []


def test_an_unknown_stage_is_named_by_its_id(mine, hooks, worker):
    deliver_and_apply(worker, hooks, [stage_event(2008, 555, "99999999")])
    assert "99999999" in mail.outbox[0].subject


@pytest.mark.usefixtures("secret")
def test_staff_sync_now_emails_the_changes_only(fake_hubspot, verified_customer, worker, users):
    live = fake_hubspot.create_object(
        "tickets",
        {"subject": "Site down", "hs_pipeline": TICKET_PIPELINE_ID, "hs_pipeline_stage": CLOSED},
    )
    CustomerTicket.objects.create(
        user=verified_customer,
        email=verified_customer.email,
        subject="Site down",
        hubspot_id=str(live["id"]),
        pipeline=TICKET_PIPELINE_ID,
        stage="81234568",
        stage_label="New",
        status="open",
    )
    staff = client_for(users["staff"])
    url = "/admin/hubspot_integration/customerticket/"
    ids = list(CustomerTicket.objects.values_list("pk", flat=True))
    response = worker(staff.post, url, {"action": "sync_now", "_selected_action": ids})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "closed" in mail.outbox[0].subject
    # Synced again with nothing changed in HubSpot: nothing to tell.
    worker(staff.post, url, {"action": "sync_now", "_selected_action": ids})
    assert len(mail.outbox) == 1


def test_no_email_without_a_verified_address(ticket, hooks, worker):  # noqa: F811
    deliver_and_apply(worker, hooks, [stage_event(2009, 555, WAITING_ON_US)])
    assert mail.outbox == []
    assert not TicketNotification.objects.exists()


@pytest.mark.usefixtures("secret")
def test_no_email_for_a_visitors_ticket(hooks, worker):
    CustomerTicket.objects.create(
        email="visitor@example.com", subject="x", hubspot_id="555", stage="81234568"
    )
    deliver_and_apply(worker, hooks, [stage_event(2010, 555, WAITING_ON_US)])
    assert mail.outbox == []


def test_a_user_without_a_profile_wants_the_emails(verified_customer):
    assert not CustomerProfile.objects.filter(user=verified_customer).exists()
    assert ticket_notifications.wants_ticket_emails(verified_customer) is True


def test_switched_off_on_the_account_page_no_email(mine, hooks, worker, verified_customer):
    page = client_for(verified_customer).post(
        "/accounts/profile/",
        {"action": "notifications"},  # the box left unticked
    )
    assert page.status_code in (200, 302)
    assert CustomerProfile.objects.get(user=verified_customer).ticket_emails is False
    deliver_and_apply(worker, hooks, [stage_event(2011, 555, WAITING_ON_US)])
    assert mail.outbox == []


def test_switched_off_after_the_change_no_email(mine, hooks, settings, verified_customer):
    # Recorded while on, sent by a worker after the customer switched it off.
    assert deliver(hooks, [stage_event(2012, 555, WAITING_ON_US)]).status_code == 204
    process_webhook_events.call()
    profiles.set_ticket_emails(verified_customer, False)
    note = TicketNotification.objects.get()
    assert ticket_notifications.send(note.pk) == "skipped"
    assert mail.outbox == []


def test_a_failing_mail_server_is_retried_and_delivers_once(mine, hooks, worker, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    FailingBackend.failures = 2
    deliver_and_apply(worker, hooks, [stage_event(2013, 555, WAITING_ON_US)])
    note = TicketNotification.objects.get()
    assert (note.status, note.attempts) == ("pending", 1)
    assert "SMTPServerDisconnected" in note.last_error
    assert note.next_attempt_at > timezone.now()
    assert mail.outbox == []

    # Not due yet: the sweep leaves it alone.
    assert sweep.sweep().ticket_emails == 0
    for attempt in (2, 3):
        TicketNotification.objects.update(next_attempt_at=timezone.now())
        swept = sweep.sweep().ticket_emails
        note.refresh_from_db()
        assert note.attempts == attempt
    assert swept == 1 and note.status == "sent"
    assert len(mail.outbox) == 1
    # Everything after is a no-op: the task for the old retry, another sweep.
    assert ticket_notifications.send(note.pk) == "not due"
    assert sweep.sweep().ticket_emails == 0
    assert len(mail.outbox) == 1


def test_a_mail_server_that_never_answers_gives_up_loudly(mine, hooks, settings, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    settings.HUBSPOT_TICKET_EMAIL_MAX_ATTEMPTS = 2
    FailingBackend.failures = 10
    assert deliver(hooks, [stage_event(2014, 555, WAITING_ON_US)]).status_code == 204
    process_webhook_events.call()
    note = TicketNotification.objects.get()
    assert ticket_notifications.send(note.pk) == "pending"
    TicketNotification.objects.update(next_attempt_at=timezone.now())
    assert ticket_notifications.send(note.pk) == "failed"
    assert "given up" in caplog.text
    FailingBackend.failures = 0


def test_a_lost_task_is_sent_by_the_sweep(mine, hooks, settings):
    # The database backend stores the job; no worker runs it. The row is still owed.
    assert deliver(hooks, [stage_event(2015, 555, WAITING_ON_US)]).status_code == 204
    process_webhook_events.call()
    assert mail.outbox == []
    assert sweep.sweep().ticket_emails == 1
    assert len(mail.outbox) == 1


def test_a_worker_that_died_sending_is_taken_over_after_its_lease(mine, hooks):
    assert deliver(hooks, [stage_event(2016, 555, WAITING_ON_US)]).status_code == 204
    process_webhook_events.call()
    note = TicketNotification.objects.get()
    assert ticket_notifications.claim(note.pk) is not None  # that worker then died
    assert ticket_notifications.send(note.pk) == "not due"  # its lease still runs
    TicketNotification.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert ticket_notifications.send(note.pk) == "sent"
    assert len(mail.outbox) == 1


def test_only_the_tickets_owner_is_emailed(mine, hooks, worker, django_user_model):
    other = make_user(django_user_model, "oth")
    from hubspot_integration.services.email_verification import mark_verified

    mark_verified(other)
    CustomerTicket.objects.create(
        user=other, email=other.email, subject="Theirs", hubspot_id="777", stage="81234568"
    )
    deliver_and_apply(worker, hooks, [stage_event(2017, 555, WAITING_ON_US)])
    assert [m.to for m in mail.outbox] == [["cus@example.com"]]
