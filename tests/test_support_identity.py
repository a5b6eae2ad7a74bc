"""Whose contact a support request is filed on, through the real SDK and the fake HubSpot.

A confirmed customer's request lands on their own contact. Anyone else (a visitor, or an account
whose address is not confirmed) may cause a new contact, but never changes or files on an existing
one, and "My tickets" lists only what the account itself sent.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hubspot_integration.models import CustomerTicket, OutboxOperation
from hubspot_integration.services import outbox
from tests.helpers import client_for

ALICE = {
    "email": "alice@example.com",
    "firstname": "Alice",
    "lastname": "Liddell",
    "phone": "+44 20 7946 0000",
    "company": "Wonderland Ltd",
}


@pytest.fixture
def alice(fake_hubspot):
    """Alice's contact in HubSpot (she has no account in the panel, or has not signed in)."""
    return fake_hubspot.create_object("contacts", ALICE)


def request_data(**overrides):
    data = {
        "subject": "Please delete my account",
        "description": "And send the invoices to me at another address.",
        "priority": "HIGH",
        "website": "",
    }
    data.update(overrides)
    return data


def contact(fake_hubspot, contact_id):
    return next(c for c in fake_hubspot.objects("contacts") if c["id"] == contact_id)


def linked_contacts(ticket) -> list[str]:
    results = ((ticket.get("associations") or {}).get("contacts") or {}).get("results") or []
    return [str(a["id"]) for a in results]


def only_ticket(fake_hubspot):
    [ticket] = fake_hubspot.objects("tickets")
    return ticket


# --- a visitor -----------------------------------------------------------------------------------
def test_a_visitor_with_alices_email_changes_nothing_of_hers(tickets_on, fake_hubspot, alice):
    before = contact(fake_hubspot, alice["id"])
    response = Client().post("/support/", request_data(email="Alice@Example.com"), follow=True)
    assert "Your request was received" in response.content.decode()
    after = contact(fake_hubspot, alice["id"])
    assert after["properties"] == before["properties"]  # name, phone, company, last-modified
    assert after.get("associations") == before.get("associations")
    ticket = only_ticket(fake_hubspot)
    assert alice["id"] not in linked_contacts(ticket)
    assert linked_contacts(ticket) == []
    assert "has not confirmed the address alice@example.com" in ticket["properties"]["content"]
    assert len(fake_hubspot.objects("contacts")) == 1  # no second Alice either
    assert fake_hubspot.count("PATCH", "/crm/v3/objects/contacts") == 0
    row = CustomerTicket.objects.get()
    assert row.user is None and row.hubspot_id == ticket["id"]


def test_a_visitor_with_a_new_address_gets_a_new_contact(tickets_on, fake_hubspot):
    Client().post("/support/", request_data(email="newcomer@example.com"))
    [new] = fake_hubspot.objects("contacts")
    assert new["properties"]["email"] == "newcomer@example.com"
    assert linked_contacts(only_ticket(fake_hubspot)) == [new["id"]]


def test_a_queued_visitor_request_still_leaves_alice_alone(tickets_on, fake_hubspot, alice):
    before = contact(fake_hubspot, alice["id"])
    fake_hubspot.faults.down()
    Client().post("/support/", request_data(email="alice@example.com"))
    assert OutboxOperation.objects.get().payload["unverified_requester"] is True
    fake_hubspot.faults.up()
    OutboxOperation.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert outbox.process_due() == 1
    assert contact(fake_hubspot, alice["id"])["properties"] == before["properties"]
    assert linked_contacts(only_ticket(fake_hubspot)) == []


def test_a_visitors_request_is_in_no_ones_tickets(tickets_on, fake_hubspot, verified_customer):
    Client().post("/support/", request_data(email="cus@example.com", subject="Not from cus"))
    html = client_for(verified_customer).get("/support/tickets/").content.decode()
    assert "Not from cus" not in html and 'id="no-tickets"' in html
    # Nor is a contact made for that customer's address, where their own requests would land.
    assert linked_contacts(only_ticket(fake_hubspot)) == []
    assert fake_hubspot.objects("contacts") == []


# --- an account whose address is not confirmed ------------------------------------------------------
@pytest.fixture
def impostor(db, django_user_model):
    """Signed up with Alice's address (she has no account here) and could not confirm it."""
    return django_user_model.objects.create_user(
        "mallory", "alice@example.com", "x-pass-1234567", first_name="Mal", last_name="Lory"
    )


def test_an_unconfirmed_account_is_filed_as_a_visitor(tickets_on, fake_hubspot, alice, impostor):
    before = contact(fake_hubspot, alice["id"])
    c = client_for(impostor)
    page = c.get("/support/").content.decode()
    assert 'name="email"' not in page and "not confirmed yet" in page
    # An email smuggled into the POST is ignored too.
    c.post("/support/", request_data(email="bob@example.com"))
    assert contact(fake_hubspot, alice["id"])["properties"] == before["properties"]
    ticket = only_ticket(fake_hubspot)
    assert linked_contacts(ticket) == []
    assert [x["properties"]["email"] for x in fake_hubspot.objects("contacts")] == [
        "alice@example.com"
    ]
    assert CustomerTicket.objects.get().email == "alice@example.com"


def test_an_unconfirmed_accounts_tickets_are_only_its_own(
    tickets_on, fake_hubspot, alice, impostor, django_user_model
):
    # Alice's own tickets (filed by staff on her contact) and anyone's anonymous ones with her
    # address must not appear; only what this account sent.
    fake_hubspot.create_object(
        "tickets", {"subject": "Alice's real problem"}, associations={"contacts": [alice["id"]]}
    )
    CustomerTicket.objects.create(user=None, email=ALICE["email"], subject="Visitor as Alice")
    other = django_user_model.objects.create_user("oth", "oth@example.com", "x-pass-1234567")
    CustomerTicket.objects.create(user=other, email=ALICE["email"], subject="Other account")
    c = client_for(impostor)
    c.post("/support/", request_data(subject="Mallory's own"))
    html = c.get("/support/tickets/").content.decode()
    assert "Mallory&#x27;s own" in html
    for foreign in ("Alice", "Visitor as Alice", "Other account"):
        assert foreign not in html.replace("Mallory&#x27;s own", "")


# --- a confirmed customer ---------------------------------------------------------------------------
def test_a_confirmed_customers_request_is_filed_on_their_own_contact(
    tickets_on, fake_hubspot, verified_customer, alice
):
    own = fake_hubspot.create_object("contacts", {"email": "cus@example.com", "firstname": "Cus"})
    c = client_for(verified_customer)
    page = c.get("/support/").content.decode()
    assert 'name="email"' not in page and "We answer at <strong>cus@example.com</strong>" in page
    assert "not confirmed" not in page
    c.post("/support/", request_data(email="alice@example.com"))  # a typed address is ignored
    ticket = only_ticket(fake_hubspot)
    assert linked_contacts(ticket) == [own["id"]]
    assert "has not confirmed" not in ticket["properties"]["content"]
    assert CustomerTicket.objects.get().email == "cus@example.com"
    assert "Please delete my account" in c.get("/support/tickets/").content.decode()
    assert contact(fake_hubspot, alice["id"]).get("associations") in (None, {})


def test_staff_still_file_tickets_on_the_requesters_contact(tickets_on, fake_hubspot, alice):
    from hubspot_integration.tickets import service as tickets

    outcome = tickets.create_ticket({"subject": "Called us", "email": "alice@example.com"})
    assert outcome.done
    assert linked_contacts(only_ticket(fake_hubspot)) == [alice["id"]]
