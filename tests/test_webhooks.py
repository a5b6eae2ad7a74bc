"""The signed webhook receiver: v3 signatures, freshness, replays, redeliveries, and their effect."""

import json
import time

import pytest
from django.test import Client

from hubspot_integration.models import CustomerTicket, WebhookEvent
from hubspot_integration.tasks import process_webhook_events, sync_customer_tickets
from hubspot_integration.webhook_signature import sign_v3
from tests.fake_hubspot import TICKET_PIPELINE_ID
from tests.helpers import client_for

SECRET = "app-client-secret-0123456789"
URL = "/hubspot/webhooks/"


def sign(method, uri, body: bytes, timestamp, secret=SECRET):
    return sign_v3(secret, method, uri, body, timestamp)


def deliver(
    client,
    events,
    *,
    timestamp=None,
    secret=SECRET,
    uri=f"http://testserver{URL}",
    path=URL,
    signature=None,
    **extra,
):
    body = json.dumps(events).encode()
    timestamp = timestamp if timestamp is not None else int(time.time() * 1000)
    signature = signature or sign("POST", uri, body, timestamp, secret)
    return client.post(
        path,
        body,
        content_type="application/json",
        HTTP_X_HUBSPOT_SIGNATURE_V3=signature,
        HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=str(timestamp),
        **extra,
    )


def stage_event(event_id, ticket_id, stage="81234570", *, occurred=None, name="hs_pipeline_stage"):
    return {
        "eventId": event_id,
        "subscriptionId": 1,
        "portalId": 12345678,
        "appId": 99,
        "occurredAt": occurred or int(time.time() * 1000),
        "subscriptionType": "ticket.propertyChange",
        "attemptNumber": 0,
        "objectId": int(ticket_id),
        "changeSource": "CRM_UI",
        "propertyName": name,
        "propertyValue": stage,
    }


@pytest.fixture
def secret(hubspot_settings):
    hubspot_settings.webhook_secret = SECRET
    hubspot_settings.tickets_enabled = True
    hubspot_settings.save()
    return hubspot_settings


@pytest.fixture
def ticket(secret, customer):
    return CustomerTicket.objects.create(
        user=customer,
        email=customer.email,
        subject="Site down",
        hubspot_id="555",
        pipeline=TICKET_PIPELINE_ID,
        stage="81234568",
        stage_label="New",
        status="open",
    )


@pytest.fixture
def webhook_client():
    return Client(enforce_csrf_checks=True)  # HubSpot has no CSRF token: the view is exempt


def test_signed_stage_change_reaches_my_tickets(ticket, webhook_client, fake_hubspot, customer):
    response = deliver(webhook_client, [stage_event(1001, 555)])
    assert response.status_code == 204
    assert WebhookEvent.objects.get().event_id == "1001"
    process_webhook_events.call()
    ticket.refresh_from_db()
    assert (ticket.stage, ticket.stage_label, ticket.status) == (
        "81234570",
        "Waiting on us",
        "open",
    )
    assert "Waiting on us" in client_for(customer).get("/support/tickets/").content.decode()


def test_delivery_is_handed_to_the_task_queue(
    ticket, webhook_client, fake_hubspot, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(webhook_client, [stage_event(1002, 555, "81234571")]).status_code == 204
    ticket.refresh_from_db()
    assert (ticket.stage_label, ticket.status) == ("Closed", "closed")


def test_forged_signature_is_refused(ticket, webhook_client, caplog):
    response = deliver(webhook_client, [stage_event(1003, 555)], secret="not-the-secret")
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert "signature mismatch" in caplog.text


def test_tampered_body_is_refused(ticket, webhook_client):
    timestamp = int(time.time() * 1000)
    good = sign("POST", f"http://testserver{URL}", b"[]", timestamp)
    response = deliver(
        webhook_client, [stage_event(1004, 555)], timestamp=timestamp, signature=good
    )
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_stale_timestamp_is_refused(ticket, webhook_client, caplog):
    old = int(time.time() * 1000) - 6 * 60 * 1000
    response = deliver(webhook_client, [stage_event(1005, 555)], timestamp=old)
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert "stale timestamp" in caplog.text


def test_missing_headers_are_refused(ticket, webhook_client):
    response = webhook_client.post(URL, b"[]", content_type="application/json")
    assert response.status_code == 401


def test_replayed_delivery_is_refused(ticket, webhook_client):
    timestamp = int(time.time() * 1000)
    events = [stage_event(1006, 555)]
    assert deliver(webhook_client, events, timestamp=timestamp).status_code == 204
    assert deliver(webhook_client, events, timestamp=timestamp).status_code == 409
    assert WebhookEvent.objects.count() == 1


def test_redelivered_event_changes_nothing(ticket, webhook_client):
    events = [stage_event(1007, 555, "81234570")]
    assert deliver(webhook_client, events).status_code == 204
    process_webhook_events.call()
    # Meanwhile someone moved the ticket on; HubSpot's retry of the old event arrives later.
    assert deliver(webhook_client, [stage_event(1008, 555, "81234571")]).status_code == 204
    process_webhook_events.call()
    retry = [dict(events[0], attemptNumber=1)]
    assert deliver(webhook_client, retry, timestamp=int(time.time() * 1000) + 1).status_code == 204
    assert WebhookEvent.objects.count() == 2
    process_webhook_events.call()
    ticket.refresh_from_db()
    assert ticket.stage_label == "Closed"


def test_older_event_arriving_late_does_not_undo_a_newer_one(ticket, webhook_client):
    now = int(time.time() * 1000)
    deliver(webhook_client, [stage_event(1009, 555, "81234571", occurred=now)])
    deliver(webhook_client, [stage_event(1010, 555, "81234569", occurred=now - 60_000)])
    process_webhook_events.call()
    ticket.refresh_from_db()
    assert ticket.stage_label == "Closed"


def test_priority_change_and_deletion(ticket, webhook_client, customer):
    deliver(webhook_client, [stage_event(1011, 555, "LOW", name="hs_ticket_priority")])
    process_webhook_events.call()
    ticket.refresh_from_db()
    assert ticket.priority == "LOW"
    deletion = {
        "eventId": 1012,
        "subscriptionType": "ticket.deletion",
        "objectId": 555,
        "occurredAt": int(time.time() * 1000),
    }
    deliver(webhook_client, [deletion])
    process_webhook_events.call()
    ticket.refresh_from_db()
    assert ticket.status == "deleted"
    assert "Closed (removed)" in client_for(customer).get("/support/tickets/").content.decode()


def test_other_customers_tickets_are_untouched(ticket, webhook_client, django_user_model):
    other = django_user_model.objects.create_user("oth", "oth@example.com", "x-pass-1234567")
    theirs = CustomerTicket.objects.create(
        user=other, email=other.email, subject="Theirs", hubspot_id="777", stage_label="New"
    )
    deliver(webhook_client, [stage_event(1013, 555, "81234571")])
    process_webhook_events.call()
    theirs.refresh_from_db()
    assert theirs.stage_label == "New"


def test_uri_as_the_proxy_forwarded_it(ticket, webhook_client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["testserver", "panel.example.com"]
    public = "https://panel.example.com/hubspot/webhooks/"
    headers = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "panel.example.com"}
    assert (
        deliver(webhook_client, [stage_event(1014, 555)], uri=public, **headers).status_code == 204
    )
    # Signed over the URI the server saw internally, it does not match what HubSpot called.
    internal = f"http://testserver{URL}"
    response = deliver(webhook_client, [stage_event(1015, 555)], uri=internal, **headers)
    assert response.status_code == 401


def test_encoded_characters_in_the_uri_are_decoded_as_hubspot_does(ticket, webhook_client):
    path = f"{URL}?source=hub%3Aspot%2Fv3"
    signed = "http://testserver/hubspot/webhooks/?source=hub:spot/v3"
    response = deliver(webhook_client, [stage_event(1016, 555)], uri=signed, path=path)
    assert response.status_code == 204


def test_without_a_secret_everything_is_refused(hubspot_settings, webhook_client):
    response = deliver(webhook_client, [stage_event(1017, 555)])
    assert response.status_code == 503
    assert not WebhookEvent.objects.exists()


def test_refusal_never_shows_a_traceback(ticket, webhook_client):
    body = b"not json"
    timestamp = int(time.time() * 1000)
    response = webhook_client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_HUBSPOT_SIGNATURE_V3=sign("POST", f"http://testserver{URL}", body, timestamp),
        HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=str(timestamp),
    )
    assert response.status_code == 400
    assert response.json() == {"success": False, "message": "Webhook refused."}


@pytest.mark.parametrize(
    "timestamp",
    ["9" * 400, "9" * 5000, "١٢٣", "²", "1e9", "-5", "", " 12", "12\n", "0x1F", "1_000"],
)
def test_malformed_timestamps_are_refused_with_401_and_no_debug_page(
    ticket, webhook_client, settings, timestamp
):
    settings.DEBUG = True  # a crash would answer Django's debug page, showing the secret
    webhook_client.raise_request_exception = False
    body = json.dumps([stage_event(1030, 555)]).encode()
    response = webhook_client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_HUBSPOT_SIGNATURE_V3=sign("POST", f"http://testserver{URL}", body, timestamp),
        HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=timestamp,
    )
    assert response.status_code == 401
    assert response.json() == {"success": False, "message": "Webhook refused."}
    assert SECRET not in response.content.decode()
    assert not WebhookEvent.objects.exists()


# --- sync now ---------------------------------------------------------------------------------------
def test_staff_sync_now_pulls_the_current_state(secret, fake_hubspot, users):
    live = fake_hubspot.create_object(
        "tickets",
        {
            "subject": "Site down",
            "hs_pipeline": TICKET_PIPELINE_ID,
            "hs_pipeline_stage": "81234569",
        },
    )
    mine = CustomerTicket.objects.create(
        user=users["customer"],
        email="cus@example.com",
        subject="Site down",
        hubspot_id=str(live["id"]),
        stage="81234568",
        stage_label="New",
    )
    gone = CustomerTicket.objects.create(
        user=users["customer"],
        email="cus@example.com",
        subject="Gone",
        hubspot_id="999999",
    )
    url = "/admin/hubspot_integration/customerticket/"
    c = client_for(users["staff"])
    response = c.post(
        url, {"action": "sync_now", "_selected_action": [mine.pk, gone.pk]}, follow=True
    )
    assert "Synced from HubSpot: 1 updated, 1 deleted there." in response.content.decode()
    mine.refresh_from_db()
    gone.refresh_from_db()
    assert mine.stage_label == "Waiting on contact" and gone.status == "deleted"


def test_sync_now_is_staff_only(secret, users):
    CustomerTicket.objects.create(email="cus@example.com", subject="x", hubspot_id="1")
    url = "/admin/hubspot_integration/customerticket/"
    assert client_for(users["plain_staff"]).get(url).status_code == 403
    assert client_for(users["customer"]).get(url).status_code == 302
    html = client_for(users["staff"]).get(url).content.decode()
    assert "sync_now" in html


def test_sync_task_runs_for_every_ticket(secret, fake_hubspot, customer):
    live = fake_hubspot.create_object(
        "tickets",
        {"subject": "x", "hs_pipeline": TICKET_PIPELINE_ID, "hs_pipeline_stage": "81234571"},
    )
    t = CustomerTicket.objects.create(
        user=customer, email=customer.email, subject="x", hubspot_id=str(live["id"])
    )
    assert sync_customer_tickets.call() == {"updated": 1, "deleted": 0}
    t.refresh_from_db()
    assert (t.stage_label, t.status) == ("Closed", "closed")
