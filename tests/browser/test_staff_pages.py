"""Staff work with HubSpot contacts and tickets in a real browser, against the fake HubSpot."""

import pytest

from hubspot_integration.models import OutboxOperation
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACTS = "/admin/hubspot_integration/hubspotcontact/"
TICKETS = "/admin/hubspot_integration/hubspotticket/"
BILLING, IN_PROGRESS, RECEIVED = "81234600", "81234602", "81234601"


@pytest.fixture
def people(fake_hubspot):
    ann = fake_hubspot.create_object(
        "contacts",
        {"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee", "company": "Acme"},
    )
    fake_hubspot.create_object(
        "contacts", {"email": "bob@example.com", "firstname": "Bob", "company": "Globex"}
    )
    return ann


def message(page) -> str:
    return page.inner_text("ul.messagelist")


def test_contacts_list_and_search(page, hubspot_staff, hubspot_settings, people):
    login(page, hubspot_staff, next_url=CONTACTS)
    assert page.locator("tr.contact-row").count() == 2
    page.fill("#searchbar", "globex")
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()
    assert page.locator("td.email").all_inner_texts() == ["bob@example.com"]
    page.click("#clear-search")
    page.wait_for_load_state()
    assert page.locator("tr.contact-row").count() == 2


def test_contact_create_then_edit(page, hubspot_staff, hubspot_settings, fake_hubspot):
    login(page, hubspot_staff, next_url=CONTACTS)
    page.click("#add-contact")
    page.fill("#id_email", "nia@example.com")
    page.fill("#id_firstname", "Nia")
    page.fill("#id_company", "Initech")
    page.click("#save")
    page.wait_for_load_state()
    assert "Contact nia@example.com created." in message(page)
    assert page.locator("ul.messagelist a", has_text="Open in HubSpot").count() == 1
    [created] = fake_hubspot.objects("contacts")
    assert created["properties"]["company"] == "Initech"

    page.click(f"tr.contact-row[data-id='{created['id']}'] th a")
    assert page.input_value("#id_firstname") == "Nia"
    page.fill("#id_firstname", "Nina")
    page.click("#save")
    page.wait_for_load_state()
    assert "Contact nia@example.com saved." in message(page)
    assert fake_hubspot.objects("contacts")[0]["properties"]["firstname"] == "Nina"


def test_duplicate_email_offers_the_existing_contact(
    page, hubspot_staff, hubspot_settings, fake_hubspot, people
):
    login(page, hubspot_staff, next_url=CONTACTS + "add/")
    page.fill("#id_email", "ann@example.com")
    page.fill("#id_firstname", "Annie")
    page.click("#save")
    page.wait_for_load_state()
    assert "A contact with this email already exists" in page.inner_text("#existing-contact")
    assert len(fake_hubspot.objects("contacts")) == 2  # no duplicate
    page.click("#update-existing")
    page.wait_for_load_state()
    assert "Contact ann@example.com saved." in message(page)
    ann = next(c for c in fake_hubspot.objects("contacts") if c["id"] == people["id"])
    assert ann["properties"]["firstname"] == "Annie"


def test_create_while_hubspot_is_down_is_queued(
    page, hubspot_staff, hubspot_settings, fake_hubspot
):
    login(page, hubspot_staff, next_url=CONTACTS + "add/")
    fake_hubspot.faults.down()
    page.fill("#id_email", "later@example.com")
    page.click("#save")
    page.wait_for_load_state()
    assert "Queued: will be sent to HubSpot when it is reachable." in message(page)
    assert "Could not read the contacts from HubSpot" in message(page)
    assert OutboxOperation.objects.get().status == "pending"


def test_tickets_list_create_and_move_stage(page, hubspot_staff, tickets_on, fake_hubspot, people):
    fake_hubspot.seed_tickets(3)
    login(page, hubspot_staff, next_url=TICKETS)
    assert page.locator("tr.ticket-row").count() == 3

    page.click("#add-ticket")
    page.fill("#id_subject", "Refund please")
    page.fill("#id_content", "Charged twice.")
    page.select_option("#id_priority", "URGENT")
    page.select_option("#id_pipeline", BILLING)
    page.select_option("#id_stage", RECEIVED)
    page.fill("#id_email", "ann@example.com")
    page.click("#save")
    page.wait_for_load_state()
    assert "Ticket “Refund please” created." in message(page)
    created = next(
        t for t in fake_hubspot.objects("tickets") if t["properties"]["subject"] == "Refund please"
    )
    assert created["properties"]["hs_pipeline"] == BILLING
    linked = [a["id"] for a in created["associations"]["contacts"]["results"]]
    assert people["id"] in linked
    assert page.inner_text("#ticket-stage") == "Received"

    page.select_option("#id_stage", IN_PROGRESS)
    page.click("#save")
    page.wait_for_load_state()
    assert "Ticket saved." in message(page)
    assert page.inner_text("#ticket-stage") == "In progress"
    stored = next(t for t in fake_hubspot.objects("tickets") if t["id"] == created["id"])
    assert stored["properties"]["hs_pipeline_stage"] == IN_PROGRESS
