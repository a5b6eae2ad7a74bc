"""A customer in Chromium: the chat widget, consent, the support form and "My tickets".

HubSpot's tracking script is served by a stub (routed by Playwright) that records what the real
one would see: the hsConversationsSettings present when it ran, and calls to its widget API.
"""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from hubspot_integration.models import CustomerTicket, OutboxOperation
from hubspot_integration.services import outbox
from hubspot_integration.tasks import process_webhook_events
from hubspot_integration.webhook_signature import sign_v3
from tests.browser.conftest import sign_in
from tests.fake_hubspot import FAKE_PORTAL_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "browser-webhook-secret"
STUB = """
window.__hsLoads = (window.__hsLoads || 0) + 1;
window.__hsCalls = [];
window.__hsSettingsAtLoad = JSON.stringify(window.hsConversationsSettings || null);
window.HubSpotConversations = {
  widget: {
    load: function () { window.__hsCalls.push("load"); },
    remove: function () { window.__hsCalls.push("remove"); },
    refresh: function () { window.__hsCalls.push("refresh"); },
    status: function () { return {loaded: true}; }
  },
  clear: function (options) { window.__hsCalls.push("clear:" + JSON.stringify(options)); }
};
(window.hsConversationsOnReady || []).forEach(function (fn) { fn(); });
"""


@pytest.fixture
def hs_page(page):
    page.context.route(
        "https://*.hs-scripts.com/**",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=STUB),
    )
    return page


@pytest.fixture
def customer(verified_customer):
    """A customer whose email is confirmed: the one the chat identifies and support files for."""
    return verified_customer


@pytest.fixture
def chat(hubspot_settings):
    hubspot_settings.chat_enabled = True
    hubspot_settings.tickets_enabled = True
    hubspot_settings.webhook_secret = SECRET
    hubspot_settings.save()
    return hubspot_settings


def test_tracking_script_has_the_regions_host_and_portal(hs_page, chat):
    chat.data_hosting_region = "eu1"
    chat.save()
    hs_page.goto("/")
    src = hs_page.get_attribute("#hs-script-loader", "src")
    assert src == f"https://js-eu1.hs-scripts.com/{FAKE_PORTAL_ID}.js"
    hs_page.wait_for_function("window.__hsLoads === 1")


def test_no_script_at_all_when_chat_is_off(hs_page, hubspot_settings):
    hs_page.goto("/")
    assert hs_page.locator("#hs-script-loader").count() == 0
    assert hs_page.locator("#hubspot-config").count() == 0
    assert hs_page.evaluate("typeof window.HubSpotConversations") == "undefined"


def test_conversation_settings_only_for_a_logged_in_customer(hs_page, chat, customer, fake_hubspot):
    hs_page.goto("/")
    hs_page.wait_for_function("window.__hsLoads === 1")
    assert hs_page.evaluate("typeof window.hsConversationsSettings") == "undefined"
    assert hs_page.evaluate("window.__hsSettingsAtLoad") == "null"

    sign_in(hs_page, customer)
    hs_page.goto("/")
    hs_page.wait_for_function("window.__hsLoads === 1")
    [minted] = fake_hubspot.identification_tokens
    expected = {
        "loadImmediately": True,
        "identificationEmail": "cus@example.com",
        "identificationToken": minted["token"],
    }
    assert hs_page.evaluate("window.hsConversationsSettings") == expected
    # It was there before the tracking script ran, which is when HubSpot reads it.
    assert json.loads(hs_page.evaluate("window.__hsSettingsAtLoad")) == expected


def test_logout_clears_the_widget_identity(hs_page, chat, customer):
    sign_in(hs_page, customer)
    hs_page.goto("/")
    hs_page.click("#sign-out")
    hs_page.wait_for_selector("#signed-out")
    hs_page.wait_for_function(
        "(window.__hsCalls || []).indexOf('clear:{\"resetWidget\":true}') >= 0"
    )
    assert hs_page.evaluate("typeof window.hsConversationsSettings") == "undefined"


def test_consent_holds_the_script_back_until_accepted_and_withdrawal_removes_it(hs_page, chat):
    chat.wait_for_consent = True
    chat.save()
    hs_page.goto("/")
    assert hs_page.is_visible("#consent-banner")
    assert hs_page.locator("#hs-script-loader").count() == 0
    hs_page.wait_for_timeout(300)
    assert hs_page.evaluate("window.__hsLoads || 0") == 0

    hs_page.click("#consent-accept")
    hs_page.wait_for_function("window.__hsLoads === 1")
    assert not hs_page.is_visible("#consent-banner")
    assert hs_page.get_attribute("#hs-script-loader", "src").endswith(f"/{FAKE_PORTAL_ID}.js")

    hs_page.reload()  # remembered: loads at once, no banner
    hs_page.wait_for_function("window.__hsLoads === 1")
    assert not hs_page.is_visible("#consent-banner")

    hs_page.evaluate("window.skypanelConsent.withdraw()")  # a site's own consent manager
    assert hs_page.locator("#hs-script-loader").count() == 0
    assert "remove" in hs_page.evaluate("window.__hsCalls")
    hs_page.reload()
    hs_page.wait_for_timeout(300)
    assert hs_page.locator("#hs-script-loader").count() == 0
    assert hs_page.evaluate("window.__hsLoads || 0") == 0
    assert not hs_page.is_visible("#consent-banner")


def send_request(page, subject):
    page.goto("/support/")
    assert page.locator("#id_email").count() == 0  # a customer's requests use their address
    assert "cus@example.com" in page.inner_text("#support-email")
    page.fill("#id_subject", subject)
    page.fill("#id_description", "Since this morning example.com answers 502.")
    page.select_option("#id_priority", "HIGH")
    page.click("#support-form button[type=submit]")
    page.wait_for_selector("#support-received")


def status_of(page, subject):
    page.goto("/support/tickets/")
    row = page.locator("#my-tickets tbody tr", has_text=subject)
    return row.locator(".status").inner_text().strip()


def test_support_request_with_hubspot_up(page, chat, customer, fake_hubspot):
    sign_in(page, customer)
    send_request(page, "Site down")
    assert status_of(page, "Site down") == "New"
    [ticket] = fake_hubspot.objects("tickets")
    assert ticket["properties"]["subject"] == "Site down"


def test_support_request_with_hubspot_down_then_the_worker_delivers_it(
    page, chat, customer, fake_hubspot
):
    sign_in(page, customer)
    fake_hubspot.faults.down()
    send_request(page, "Mail bounces")
    assert status_of(page, "Mail bounces") == "Received, being filed"
    assert fake_hubspot.objects("tickets") == []

    fake_hubspot.faults.up()
    OutboxOperation.objects.filter(status="pending").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    # Due besides the ticket: the confirmed customer's contact sync (services/user_sync.py).
    outbox.process_due()
    assert OutboxOperation.objects.get(kind="create_ticket").status == "succeeded"
    assert status_of(page, "Mail bounces") == "New"
    assert len(fake_hubspot.objects("tickets")) == 1


def test_my_tickets_shows_a_stage_change_sent_by_a_signed_webhook(
    page, chat, customer, fake_hubspot, live_server
):
    sign_in(page, customer)
    send_request(page, "Backup missing")
    ticket = CustomerTicket.objects.get(subject="Backup missing")
    body = json.dumps(
        [
            {
                "eventId": 4242,
                "subscriptionType": "ticket.propertyChange",
                "objectId": int(ticket.hubspot_id),
                "occurredAt": int(time.time() * 1000) + 1000,
                "propertyName": "hs_pipeline_stage",
                "propertyValue": "81234570",
                "attemptNumber": 0,
            }
        ]
    )
    uri = f"{live_server.url}/hubspot/webhooks/"
    timestamp = str(int(time.time() * 1000))
    signature = sign_v3(SECRET, "POST", uri, body.encode(), timestamp)
    response = page.request.post(
        uri,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": signature,
            "X-HubSpot-Request-Timestamp": timestamp,
        },
    )
    assert response.status == 204
    process_webhook_events.call()  # the worker's part
    assert status_of(page, "Backup missing") == "Waiting on us"
