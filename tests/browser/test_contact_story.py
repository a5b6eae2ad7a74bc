"""Staff open a contact in a real browser: its tickets and chat threads, then answer the chat."""

import pytest
from django.core.cache import cache

from tests.browser.conftest import login
from tests.fake_hubspot import TICKET_PIPELINE_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACTS = "/admin/hubspot_integration/hubspotcontact/"


def test_staff_read_a_contacts_story_and_reply_to_its_chat(
    page, hubspot_staff, tickets_on, fake_hubspot
):
    owner = dict(fake_hubspot.state.owners[1], email=hubspot_staff.email, id="71000009")
    owner.update(userId=9100009, firstName="Sam", lastName="Staff")
    fake_hubspot.state.owners.append(owner)
    cache.clear()
    mia = fake_hubspot.create_object(
        "contacts", {"email": "mia@example.com", "firstname": "Mia", "lastname": "Lee"}
    )
    fake_hubspot.create_object(
        "tickets",
        {
            "subject": "Printer jams",
            "hs_pipeline": TICKET_PIPELINE_ID,
            "hs_pipeline_stage": "81234570",
            "hs_ticket_priority": "HIGH",
        },
        associations={"contacts": [mia["id"]]},
    )
    thread = fake_hubspot.add_thread(contact_id=mia["id"])
    fake_hubspot.add_message(thread["id"], "Is my order on its way?", sender="Mia Lee")

    login(page, hubspot_staff, next_url=CONTACTS)
    page.click(f"tr.contact-row[data-id='{mia['id']}'] th a")
    page.wait_for_load_state()
    assert "Printer jams" in page.inner_text("#related-tickets")
    assert "Waiting on us" in page.inner_text("#related-tickets")
    chat = page.locator(f"#thread-{thread['id']}")
    assert "Is my order on its way?" in chat.inner_text()

    page.fill(f"#reply-{thread['id']}", "It left the warehouse today.")
    page.click(f"#send-reply-{thread['id']}")
    page.wait_for_load_state()
    assert "Reply sent." in page.inner_text(".messagelist")
    assert "It left the warehouse today." in page.locator(f"#thread-{thread['id']}").inner_text()
    assert "Sam Staff" in page.locator(f"#thread-{thread['id']}").inner_text()
    sent = fake_hubspot.state.thread_messages[thread["id"]][-1]
    assert (sent["direction"], sent["createdBy"]) == ("OUTGOING", "A-9100009")

    page.click(f"#close-thread-{thread['id']}")
    page.wait_for_load_state()
    assert "Thread closed." in page.inner_text(".messagelist")
    assert page.locator(f"#reply-form-{thread['id']}").count() == 0
    assert fake_hubspot.state.threads[thread["id"]]["thread"]["status"] == "CLOSED"
