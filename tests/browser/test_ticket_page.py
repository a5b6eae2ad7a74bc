"""A customer in Chromium opens one of their tickets from My tickets: its stage and priority, what
they wrote, and the conversation HubSpot's inbox holds for it (never the agents' comments)."""

import pytest
from django.core import mail

from hubspot_integration.models import CustomerTicket
from hubspot_integration.services import sweep, ticket_sync
from tests.browser.test_customer import chat, customer, send_request, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_opens_a_ticket_and_reads_its_conversation(
    page,
    chat,  # noqa: F811
    customer,  # noqa: F811
    fake_hubspot,
):
    sign_in(page, customer)
    send_request(page, "Backup missing")
    ticket = CustomerTicket.objects.get(subject="Backup missing")
    thread = fake_hubspot.add_thread(ticket_id=ticket.hubspot_id)
    fake_hubspot.add_message(thread["id"], "Is there any news?", sender="Cus")
    fake_hubspot.add_message(thread["id"], "Ask ops first.", type="COMMENT", sender="Alex")
    fake_hubspot.add_message(
        thread["id"], "Your backup is restored.", direction="OUTGOING", sender="Alex Agent"
    )
    # HubSpot moves it on (as a webhook would): the page shows the new stage, an email goes out.
    ticket_sync.apply_ticket_change(ticket.hubspot_id, "hs_pipeline_stage", "81234570")
    sweep.sweep()
    assert len(mail.outbox) == 1 and "Waiting on us" in mail.outbox[0].subject

    page.goto("/support/tickets/")
    page.click("#my-tickets a:has-text('Backup missing')")
    page.wait_for_selector("#ticket")
    assert page.url.endswith(f"/support/tickets/{ticket.pk}/")
    assert page.inner_text("#ticket .subject") == "Backup missing"
    assert page.inner_text("#ticket .status").strip() == "Waiting on us"
    assert page.inner_text("#ticket .priority") == "High"
    assert "Since this morning example.com answers 502." in page.inner_text("#ticket .content")
    messages = page.locator("#conversation .message-item")
    assert messages.count() == 2
    assert "Is there any news?" in messages.nth(0).inner_text()
    assert "You" in messages.nth(0).inner_text()
    assert "Your backup is restored." in messages.nth(1).inner_text()
    assert "Alex Agent" in messages.nth(1).inner_text()
    assert "Ask ops first." not in page.inner_text("main")
    page.click("main a[href='/support/tickets/']")
    page.wait_for_selector("#my-tickets")
