"""A contact's whole story on its admin page (tickets, companies, deals, chat threads) and staff
replying to a chat, closing and reopening it: through the fake HubSpot and the real SDK."""

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.utils import timezone

from hubspot_integration.models import HubSpotSettings, OutboxOperation
from hubspot_integration.services import outbox
from tests.fake_hubspot import ALL_SCOPES, TICKET_PIPELINE_ID
from tests.helpers import client_for

Kind = OutboxOperation.Kind


def contact_url(contact_id):
    return f"/admin/hubspot_integration/hubspotcontact/{contact_id}/change/"


def thread_url(contact_id, thread_id, action):
    return f"/admin/hubspot_integration/hubspotcontact/{contact_id}/threads/{thread_id}/{action}/"


def notes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def staff_owner(hubspot_staff, fake_hubspot):
    """The staff member is a HubSpot user: an owner with their email (and a userId)."""
    owner = dict(fake_hubspot.state.owners[1], email=hubspot_staff.email, id="71000009")
    owner.update(userId=9100009, firstName="Sam", lastName="Staff")
    fake_hubspot.state.owners.append(owner)
    cache.clear()
    return owner


@pytest.fixture
def story(tickets_on, fake_hubspot):
    contact = fake_hubspot.create_object(
        "contacts", {"email": "mia@example.com", "firstname": "Mia", "lastname": "Lee"}
    )
    cid = contact["id"]
    ticket = fake_hubspot.create_object(
        "tickets",
        {
            "subject": "Printer jams",
            "hs_pipeline": TICKET_PIPELINE_ID,
            "hs_pipeline_stage": "81234570",
            "hs_ticket_priority": "HIGH",
        },
        associations={"contacts": [cid]},
    )
    company = fake_hubspot.create_object(
        "companies", {"name": "Acme", "domain": "acme.example"}, associations={"contacts": [cid]}
    )
    older = fake_hubspot.add_thread(contact_id=cid, ticket_id=ticket["id"], status="CLOSED")
    fake_hubspot.add_message(older["id"], "First question, long ago", sender="Mia Lee")
    newer = fake_hubspot.add_thread(contact_id=cid)
    fake_hubspot.add_message(newer["id"], "Is my order on its way?", sender="Mia Lee")
    fake_hubspot.add_message(newer["id"], "Check the warehouse", type="COMMENT", sender="Alex")
    fake_hubspot.add_message(
        newer["id"], "It left today.", direction="OUTGOING", sender="Alex Agent"
    )
    other = fake_hubspot.add_thread(contact_id="999999")
    fake_hubspot.add_message(other["id"], "Someone else's chat", sender="Zed")
    return {"contact": cid, "ticket": ticket, "company": company, "older": older, "newer": newer}


def test_the_contact_page_shows_its_tickets_companies_and_threads(story, hubspot_staff):
    response = client_for(hubspot_staff).get(contact_url(story["contact"]))
    assert response.status_code == 200
    html = response.content.decode()
    tickets = html[html.index('id="related-tickets"') :]
    assert "Printer jams" in tickets and "Stage: Waiting on us" in tickets
    assert "Priority: High" in tickets
    assert f"/admin/hubspot_integration/hubspotticket/{story['ticket']['id']}/change/" in tickets
    assert "Acme (acme.example)" in html[html.index('id="related-companies"') :]
    threads = html[html.index('id="threads"') :]
    assert "Chat conversations (2)" in threads
    # Newest thread first; its messages in the order they were written, notes marked.
    assert threads.index(f'id="thread-{story["newer"]["id"]}"') < threads.index(
        f'id="thread-{story["older"]["id"]}"'
    )
    assert threads.index("Is my order on its way?") < threads.index("It left today.")
    assert "internal note" in threads and "Check the warehouse" in threads
    assert "Alex Agent" in threads and "Someone else&#x27;s chat" not in threads
    assert "Someone else's chat" not in threads
    # A reply form on the open thread only; close on the open one, reopen on the closed one.
    assert f'id="reply-form-{story["newer"]["id"]}"' in threads
    assert f'id="reply-form-{story["older"]["id"]}"' not in threads
    assert f'id="close-thread-{story["newer"]["id"]}"' in threads
    assert f'id="reopen-thread-{story["older"]["id"]}"' in threads


def test_a_reply_reaches_the_thread_as_the_staff_member(
    story, hubspot_staff, staff_owner, fake_hubspot
):
    thread = story["newer"]["id"]
    response = client_for(hubspot_staff).post(
        thread_url(story["contact"], thread, "reply"), {"text": "Your parcel arrives Monday."}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"#thread-{thread}")
    assert notes(response) == ["Reply sent."]
    sent = fake_hubspot.state.thread_messages[thread][-1]
    assert (sent["direction"], sent["text"]) == ("OUTGOING", "Your parcel arrives Monday.")
    assert sent["senders"][0] == {
        "actorId": "A-9100009",
        "name": "Sam Staff",
        "senderField": "FROM",
    }
    assert sent["channelId"] == story["newer"]["originalChannelId"]
    op = OutboxOperation.objects.get(kind=Kind.REPLY_TO_THREAD)
    assert op.status == "succeeded" and op.requested_by == hubspot_staff
    page = client_for(hubspot_staff).get(contact_url(story["contact"])).content.decode()
    assert "Your parcel arrives Monday." in page and "Sam Staff" in page


def test_a_reply_during_an_outage_is_queued_then_delivered_once(
    story, hubspot_staff, staff_owner, fake_hubspot
):
    thread = story["newer"]["id"]
    fake_hubspot.faults.down()
    response = client_for(hubspot_staff).post(
        thread_url(story["contact"], thread, "reply"), {"text": "Sorry for the wait."}
    )
    assert response.status_code == 302
    assert [n for n in notes(response) if n.startswith("Queued")]
    op = OutboxOperation.objects.get(kind=Kind.REPLY_TO_THREAD)
    assert op.status == "pending"
    before = len(fake_hubspot.state.thread_messages[thread])
    fake_hubspot.faults.up()
    OutboxOperation.objects.update(next_attempt_at=timezone.now())
    assert outbox.process_due() == 1
    assert outbox.process_due() == 0
    op.refresh_from_db()
    assert op.status == "succeeded"
    added = fake_hubspot.state.thread_messages[thread][before:]
    assert [(m["text"], m["createdBy"]) for m in added] == [("Sorry for the wait.", "A-9100009")]


def test_a_closed_thread_takes_no_reply(story, hubspot_staff, staff_owner, fake_hubspot):
    thread = story["older"]["id"]
    response = client_for(hubspot_staff).post(
        thread_url(story["contact"], thread, "reply"), {"text": "Hello again"}
    )
    assert notes(response) == ["This thread is closed: reopen it to reply."]
    assert not OutboxOperation.objects.filter(kind=Kind.REPLY_TO_THREAD).exists()
    assert [m["text"] for m in fake_hubspot.state.thread_messages[thread]] == [
        "First question, long ago"
    ]


def test_a_thread_closed_before_a_queued_reply_is_delivered_refuses_it(
    story, hubspot_staff, staff_owner, fake_hubspot
):
    thread = story["newer"]["id"]
    fake_hubspot.faults.down()
    client_for(hubspot_staff).post(thread_url(story["contact"], thread, "reply"), {"text": "Hi"})
    fake_hubspot.faults.up()
    fake_hubspot.state.thread_update(thread, {"status": "CLOSED"})
    OutboxOperation.objects.update(next_attempt_at=timezone.now())
    outbox.process_due()
    op = OutboxOperation.objects.get(kind=Kind.REPLY_TO_THREAD)
    assert op.status == "failed" and "closed" in op.last_error
    assert [m["text"] for m in fake_hubspot.state.thread_messages[thread]][-1] == "It left today."


def test_close_and_reopen_change_the_thread(story, hubspot_staff, fake_hubspot):
    thread = story["newer"]["id"]
    client = client_for(hubspot_staff)
    closed = client.post(thread_url(story["contact"], thread, "status"), {"status": "CLOSED"})
    assert notes(closed) == ["Thread closed."]
    assert fake_hubspot.state.threads[thread]["thread"]["status"] == "CLOSED"
    page = client.get(contact_url(story["contact"])).content.decode()
    assert f'id="reply-form-{thread}"' not in page and f'id="reopen-thread-{thread}"' in page
    reopened = client.post(thread_url(story["contact"], thread, "status"), {"status": "OPEN"})
    assert notes(reopened)[-1] == "Thread reopened."
    assert fake_hubspot.state.threads[thread]["thread"]["status"] == "OPEN"
    bad = client.post(thread_url(story["contact"], thread, "status"), {"status": "SHUT"})
    assert notes(bad)[-1] == "Choose to close or to reopen the thread."


def test_staff_without_a_hubspot_user_are_refused_and_nothing_is_queued(
    story, hubspot_staff, fake_hubspot
):
    thread = story["newer"]["id"]
    response = client_for(hubspot_staff).post(
        thread_url(story["contact"], thread, "reply"), {"text": "Hello"}
    )
    [note] = notes(response)
    assert "no HubSpot user has your email address (sam@example.com)" in note
    assert not OutboxOperation.objects.exists()
    assert len(fake_hubspot.state.thread_messages[thread]) == 3


def test_another_contacts_thread_and_empty_replies_are_refused(
    story, hubspot_staff, staff_owner, fake_hubspot
):
    client = client_for(hubspot_staff)
    other = fake_hubspot.add_thread(contact_id="999999")
    response = client.post(thread_url(story["contact"], other["id"], "reply"), {"text": "Hi"})
    assert notes(response) == [f"Chat thread {other['id']} is not this contact's."]
    empty = client.post(thread_url(story["contact"], story["newer"]["id"], "reply"), {"text": " "})
    assert notes(empty)[-1] == "Write a reply of 1 to 10,000 characters."
    assert not OutboxOperation.objects.exists()
    assert (
        client.get(thread_url(story["contact"], story["newer"]["id"], "reply")).status_code == 405
    )


def test_plain_staff_and_anonymous_cannot_reply(story, plain_staff, client):
    url = thread_url(story["contact"], story["newer"]["id"], "reply")
    assert client_for(plain_staff).post(url, {"text": "x"}).status_code == 403
    assert client.post(url, {"text": "x"}).status_code == 302  # to the login page
    status = thread_url(story["contact"], story["newer"]["id"], "status")
    assert client_for(plain_staff).post(status, {"status": "CLOSED"}).status_code == 403
    assert not OutboxOperation.objects.exists()


def test_without_the_conversations_scopes_the_page_says_so(story, hubspot_staff, fake_hubspot):
    key = "conversations-less-token"
    fake_hubspot.add_token(key, [s for s in ALL_SCOPES if not s.startswith("conversations.")])
    s = HubSpotSettings.load()
    s.access_token = key
    s.save()
    response = client_for(hubspot_staff).get(contact_url(story["contact"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="threads-unavailable"' in html and "Printer jams" in html
    assert any("chat conversations cannot be shown" in n for n in notes(response))


def test_without_the_write_scope_a_reply_is_refused_with_hubspots_reason(
    story, hubspot_staff, staff_owner, fake_hubspot
):
    key = "read-only-conversations"
    fake_hubspot.add_token(key, [s for s in ALL_SCOPES if s != "conversations.write"])
    s = HubSpotSettings.load()
    s.access_token = key
    s.save()
    thread = story["newer"]["id"]
    response = client_for(hubspot_staff).post(
        thread_url(story["contact"], thread, "reply"), {"text": "Hello"}
    )
    assert response.status_code == 302
    [note] = notes(response)
    assert note.startswith("HubSpot refused the reply:")
    assert len(fake_hubspot.state.thread_messages[thread]) == 3


def test_the_contact_page_survives_hubspot_failing_the_threads(story, hubspot_staff, fake_hubspot):
    fake_hubspot.faults.fail_next(5, status=503, path_prefix="/conversations/")
    response = client_for(hubspot_staff).get(contact_url(story["contact"]))
    assert response.status_code == 200
    assert 'id="threads-unavailable"' in response.content.decode()


def test_a_tickets_page_shows_its_contact_and_its_conversation(story, hubspot_staff):
    ticket = story["ticket"]["id"]
    response = client_for(hubspot_staff).get(
        f"/admin/hubspot_integration/hubspotticket/{ticket}/change/"
    )
    html = response.content.decode()
    contacts = html[html.index('id="ticket-contacts"') :]
    assert "Mia Lee &lt;mia@example.com&gt;" in contacts
    assert contact_url(story["contact"]) in contacts
    threads = html[html.index('id="threads"') :]
    assert "First question, long ago" in threads and "Is my order" not in threads
