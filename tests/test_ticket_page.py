"""A ticket's own page in My tickets: what the customer sent, where it stands, and the conversation
HubSpot's inbox holds for it, read through the real SDK from the fake HubSpot."""

import pytest

from hubspot_integration.models import CredentialType, CustomerTicket
from hubspot_integration.services import support_requests
from hubspot_integration.services.connection import check_connection
from tests.fake_hubspot import ALL_SCOPES, TICKET_PIPELINE_ID
from tests.helpers import client_for, make_user

UNAVAILABLE = "The conversation cannot be shown right now"


@pytest.fixture
def live(tickets_on, fake_hubspot):
    """A ticket in HubSpot with a thread: the customer's question, an internal note, the answer."""
    found = fake_hubspot.create_object(
        "tickets",
        {
            "subject": "Invoice missing",
            "content": "I did not get my invoice for November.",
            "hs_pipeline": TICKET_PIPELINE_ID,
            "hs_pipeline_stage": "81234570",
            "hs_ticket_priority": "HIGH",
        },
    )
    thread = fake_hubspot.add_thread(ticket_id=found["id"])
    fake_hubspot.add_message(thread["id"], "Any news on my invoice?", sender="Cus Tomer")
    fake_hubspot.add_message(
        thread["id"], "Customer is on the old plan, careful.", type="COMMENT", sender="Alex"
    )
    fake_hubspot.add_message(
        thread["id"], "We have sent it again today.", direction="OUTGOING", sender="Alex Agent"
    )
    return found


@pytest.fixture
def mine(live, customer):
    return CustomerTicket.objects.create(
        user=customer,
        email=customer.email,
        subject="Invoice missing",
        content="I did not get my invoice for November.\nOrder 4711.",
        priority="HIGH",
        hubspot_id=str(live["id"]),
        pipeline=TICKET_PIPELINE_ID,
        stage="81234570",
        stage_label="Waiting on us",
        status="open",
    )


def page(user, ticket):
    return client_for(user).get(f"/support/tickets/{ticket.pk}/")


def test_the_page_shows_the_ticket_and_its_conversation(mine, customer):
    response = page(customer, mine)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Invoice missing" in html
    assert "I did not get my invoice for November.<br>Order 4711." in html
    assert "Waiting on us" in html
    assert '<dd class="priority">High</dd>' in html
    assert mine.created_at.strftime("%Y-%m-%d") in html
    assert f'datetime="{mine.updated_at.isoformat()}"' in html
    assert "Any news on my invoice?" in html and "We have sent it again today." in html
    assert html.index("Any news on my invoice?") < html.index("We have sent it again today.")
    assert "Alex Agent" in html and ">You<" in html
    assert UNAVAILABLE not in html


def test_an_internal_note_is_never_shown(mine, customer):
    html = page(customer, mine).content.decode()
    assert "old plan" not in html


def test_the_list_links_each_ticket_to_its_page(mine, customer):
    html = client_for(customer).get("/support/tickets/").content.decode()
    assert f'href="/support/tickets/{mine.pk}/"' in html


def test_someone_elses_ticket_is_not_found(mine, django_user_model, hubspot_staff, superuser):
    other = make_user(django_user_model, "oth")
    for user in (other, hubspot_staff, superuser):
        assert page(user, mine).status_code == 404
    assert client_for(other).get("/support/tickets/999999/").status_code == 404


def test_signed_out_is_asked_to_sign_in(mine):
    response = client_for(None).get(f"/support/tickets/{mine.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_without_the_conversations_scope_the_page_still_shows(
    mine, customer, fake_hubspot, hubspot_settings
):
    limited = "pat-na1-00000000-1111-2222-3333-444444444444"
    fake_hubspot.add_token(limited, [s for s in ALL_SCOPES if s != "conversations.read"])
    hubspot_settings.access_token = limited
    hubspot_settings.save()
    response = page(customer, mine)
    assert response.status_code == 200
    html = response.content.decode()
    assert UNAVAILABLE in html and "Invoice missing" in html and "Waiting on us" in html
    assert fake_hubspot.count(path_prefix="/conversations/") == 1  # the 403 was HubSpot's


def test_hubspot_down_the_page_still_shows(mine, customer, fake_hubspot):
    fake_hubspot.faults.down()
    response = page(customer, mine)
    assert response.status_code == 200
    assert UNAVAILABLE in response.content.decode()


def test_a_ticket_not_filed_yet_has_no_conversation_to_read(tickets_on, customer, fake_hubspot):
    pending = CustomerTicket.objects.create(user=customer, email=customer.email, subject="Later")
    html = page(customer, pending).content.decode()
    assert "Received, being filed" in html and "No messages on this ticket yet." in html
    assert fake_hubspot.count(path_prefix="/conversations/") == 0


def test_a_ticket_with_no_thread_says_so(mine, customer, fake_hubspot):
    fake_hubspot.state.threads.clear()
    html = page(customer, mine).content.decode()
    assert "No messages on this ticket yet." in html and UNAVAILABLE not in html


def test_a_long_conversation_is_read_page_by_page_up_to_the_cap(
    mine, customer, fake_hubspot, live, settings
):
    thread = fake_hubspot.add_thread(ticket_id=live["id"])
    for i in range(130):
        fake_hubspot.add_message(thread["id"], f"Line {i}", direction="OUTGOING", sender="Bot")
    html = page(customer, mine).content.decode()
    assert "Line 0" in html and "Line 129" in html
    settings.HUBSPOT_TICKET_CONVERSATION_MAX_MESSAGES = 5
    html = page(customer, mine).content.decode()
    assert html.count('class="message-item') == 5


def test_what_they_wrote_comes_from_the_request(tickets_on, verified_customer):
    ticket, _ = support_requests.submit_support_request(
        {"subject": "Router", "description": "It blinks red.", "priority": "LOW"},
        user=verified_customer,
    )
    assert ticket.content == "It blinks red."
    html = page(verified_customer, ticket).content.decode()
    assert "It blinks red." in html and '<dd class="priority">Low</dd>' in html


def test_the_connection_check_calls_the_missing_scope_optional(tickets_on, fake_hubspot):
    key = "Yk7qP2vLm9RtB4wZc8NfJ3hD6sGy1AeU5oTi0VbZ"
    everything_else = [s for s in ALL_SCOPES if s != "conversations.read"]
    fake_hubspot.add_token(key, everything_else, kind="service_key")
    tickets_on.credential_type = CredentialType.SERVICE_KEY
    tickets_on.access_token = key
    tickets_on.save()
    [scopes] = [c for c in check_connection().checks if c.name == "scopes"]
    assert scopes.ok, scopes.message
    assert (
        "Missing for optional features (the rest of the panel works): conversations.read (for ticket conversations)"
        in (scopes.message)
    )


def test_odd_answers_never_break_the_page(mine, customer, fake_hubspot):
    messages = "/conversations/conversations/2026-09/threads/"
    odd = '{"results": [{"type": "MESSAGE", "text": "Odd one", "senders": {"x": 1}}, "junk", 7]}'
    fake_hubspot.faults.fail_next(1, status=200, path_prefix=messages, body=odd)
    response = page(customer, mine)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Odd one" in html and ">Support<" in html
    # A proxy's HTML page where HubSpot's JSON should be: the notice, not an error.
    fake_hubspot.faults.fail_next(1, status=200, body="<html>Sign in to the Wi-Fi</html>")
    response = page(customer, mine)
    assert response.status_code == 200 and UNAVAILABLE in response.content.decode()
