"""The "HubSpot contacts" admin pages, through the fake HubSpot and the real SDK."""

import re

import pytest
from django.contrib.messages import get_messages

from hubspot_integration.models import OutboxOperation
from hubspot_integration.services import outbox
from tests.fake_hubspot import FAKE_PORTAL_ID
from tests.helpers import client_for

LIST_URL = "/admin/hubspot_integration/hubspotcontact/"
ADD_URL = LIST_URL + "add/"

pytestmark = pytest.mark.django_db


def change_url(contact_id):
    return f"{LIST_URL}{contact_id}/change/"


def delete_url(contact_id):
    return f"{LIST_URL}{contact_id}/delete/"


def shown_messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def emails_on(response):
    return re.findall(r'<td class="email">([^<]*)</td>', response.content.decode())


def live_contacts(fake):
    return {c["properties"]["email"]: c for c in fake.objects("contacts")}


@pytest.fixture
def ann(fake_hubspot):
    return fake_hubspot.create_object(
        "contacts",
        {"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee", "company": "Acme"},
    )


# --- permissions ---------------------------------------------------------------------------------
MATRIX = [
    (None, 302),  # to the login page
    ("customer", 302),  # not staff: the admin sends them to log in
    ("plain_staff", 403),
    ("staff", 200),
    ("admin", 200),
    ("superuser", 200),
]


@pytest.mark.parametrize("page", ["list", "add", "change", "delete"])
@pytest.mark.parametrize("who,expected", MATRIX)
def test_every_page_checks_the_permission(users, hubspot_settings, ann, page, who, expected):
    url = {
        "list": LIST_URL,
        "add": ADD_URL,
        "change": change_url(ann["id"]),
        "delete": delete_url(ann["id"]),
    }[page]
    response = client_for(users.get(who) if who else None).get(url)
    assert response.status_code == expected
    if expected == 302:
        assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("who", ["plain_staff", "staff"])
def test_writes_check_the_permission_too(users, hubspot_settings, ann, fake_hubspot, who):
    client = client_for(users[who])
    responses = [
        client.post(ADD_URL, {"email": "new@example.com"}),
        client.post(change_url(ann["id"]), {"email": "ann@example.com", "firstname": "X"}),
        client.post(delete_url(ann["id"]), {"post": "yes"}),
    ]
    if who == "plain_staff":
        assert [r.status_code for r in responses] == [403, 403, 403]
        assert fake_hubspot.count("POST", "/crm") + fake_hubspot.count("PATCH", "/crm") == 0
        assert OutboxOperation.objects.count() == 0
    else:
        assert [r.status_code for r in responses] == [302, 302, 302]


def test_the_index_shows_contacts_only_to_those_allowed(users, hubspot_settings):
    assert "HubSpot contacts" in client_for(users["staff"]).get("/admin/").content.decode()
    assert (
        "HubSpot contacts" not in client_for(users["plain_staff"]).get("/admin/").content.decode()
    )


# --- list, paging, search --------------------------------------------------------------------------
def test_list_shows_the_columns_and_a_link_to_hubspot(hubspot_staff, hubspot_settings, ann):
    response = client_for(hubspot_staff).get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ann Lee" in html and "ann@example.com" in html and "Acme" in html
    assert f"https://app.hubspot.com/contacts/{FAKE_PORTAL_ID}/record/0-1/{ann['id']}" in html
    assert change_url(ann["id"]) in html
    assert 'id="next-page"' not in html and 'id="previous-page"' not in html


def test_paging_goes_forward_and_back(hubspot_staff, hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(45)
    client = client_for(hubspot_staff)
    pages = []
    response = client.get(LIST_URL)
    pages.append(emails_on(response))
    for _ in range(2):
        next_url = re.search(r'href="(\?[^"]*)" id="next-page"', response.content.decode())
        response = client.get(LIST_URL + next_url.group(1).replace("&amp;", "&"))
        pages.append(emails_on(response))
    assert [len(p) for p in pages] == [20, 20, 5]
    assert len({e for p in pages for e in p}) == 45
    assert 'id="next-page"' not in response.content.decode()
    assert "Page 3" in response.content.decode()
    for expected in (pages[1], pages[0]):
        prev_url = re.search(r'href="(\?[^"]*)" id="previous-page"', response.content.decode())
        response = client.get(LIST_URL + prev_url.group(1).replace("&amp;", "&"))
        assert emails_on(response) == expected
    assert 'id="previous-page"' not in response.content.decode()


@pytest.mark.parametrize("query", ["ann@example.com", "Lee", "acme"])
def test_search_by_email_name_or_company(hubspot_staff, hubspot_settings, fake_hubspot, ann, query):
    fake_hubspot.create_object(
        "contacts", {"email": "bob@example.com", "firstname": "Bob", "company": "Globex"}
    )
    response = client_for(hubspot_staff).get(LIST_URL, {"q": query})
    assert emails_on(response) == ["ann@example.com"]
    assert fake_hubspot.count("POST", "/crm/objects/2026-09/contacts/search") == 1


def test_search_keeps_the_query_when_paging(hubspot_staff, hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(30)
    response = client_for(hubspot_staff).get(LIST_URL, {"q": "example"})
    assert re.search(
        r'href="\?q=example&amp;after=\d+&amp;prev=" id="next-page"', response.content.decode()
    )


def test_hubspot_down_shows_an_error_not_a_500(hubspot_staff, hubspot_settings, fake_hubspot):
    fake_hubspot.faults.down()
    response = client_for(hubspot_staff).get(LIST_URL)
    assert response.status_code == 200
    [message] = shown_messages(response)
    assert message.startswith("Could not read the contacts from HubSpot: HubSpot")
    assert "Traceback" not in response.content.decode()


def test_hubspot_not_configured_is_said_plainly(hubspot_staff, db):
    response = client_for(hubspot_staff).get(LIST_URL)
    assert response.status_code == 200
    assert "HubSpot is switched off in the HubSpot settings" in shown_messages(response)[0]


# --- create ----------------------------------------------------------------------------------------
def test_create_makes_the_contact_and_links_to_it(hubspot_staff, hubspot_settings, fake_hubspot):
    response = client_for(hubspot_staff).post(
        ADD_URL,
        {"email": "New@Example.com", "firstname": "Nia", "company": "Initech", "phone": ""},
        follow=True,
    )
    created = live_contacts(fake_hubspot)["new@example.com"]
    assert created["properties"]["firstname"] == "Nia"
    assert "phone" not in created["properties"] or not created["properties"]["phone"]
    html = response.content.decode()
    assert "Contact new@example.com created." in html
    assert f"/record/0-1/{created['id']}" in html
    assert response.redirect_chain[-1][0] == LIST_URL
    operation = OutboxOperation.objects.get()
    assert operation.status == "succeeded" and operation.requested_by == hubspot_staff


def test_create_validates_the_email_before_calling_hubspot(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    for data in ({"email": ""}, {"email": "not-an-email"}):
        response = client_for(hubspot_staff).post(ADD_URL, data)
        assert response.status_code == 200
        assert "errornote" in response.content.decode()
    assert fake_hubspot.requests == []
    assert OutboxOperation.objects.count() == 0


def test_create_with_an_existing_email_offers_to_update(
    hubspot_staff, hubspot_settings, fake_hubspot, ann
):
    response = client_for(hubspot_staff).post(
        ADD_URL, {"email": "ANN@example.com", "firstname": "Annie"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "A contact with this email already exists" in html
    assert f'href="{change_url(ann["id"])}"' in html  # "Edit the existing contact"
    assert 'value="Annie"' in html  # kept, and offered as the update
    assert len(fake_hubspot.objects("contacts")) == 1
    assert fake_hubspot.count("POST", "/crm/objects/2026-09/contacts") == 0


def test_the_offered_update_updates_the_existing_contact(
    hubspot_staff, hubspot_settings, fake_hubspot, ann
):
    client = client_for(hubspot_staff)
    client.post(ADD_URL, {"email": "ann@example.com", "firstname": "Annie"})
    client.post(change_url(ann["id"]), {"email": "ann@example.com", "firstname": "Annie"})
    [contact] = fake_hubspot.objects("contacts")
    assert contact["properties"]["firstname"] == "Annie"


def test_create_while_hubspot_is_down_is_queued_not_lost(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    fake_hubspot.faults.down()
    response = client_for(hubspot_staff).post(
        ADD_URL, {"email": "queued@example.com", "lastname": "Later"}, follow=True
    )
    assert "Queued: will be sent to HubSpot when it is reachable." in response.content.decode()
    operation = OutboxOperation.objects.get()
    assert operation.status == "pending"
    assert operation.payload["properties"]["email"] == "queued@example.com"
    fake_hubspot.faults.up()
    OutboxOperation.objects.update(next_attempt_at=operation.created_at)
    outbox.process_due()
    assert live_contacts(fake_hubspot)["queued@example.com"]["properties"]["lastname"] == "Later"


def test_create_refused_by_hubspot_says_why_and_keeps_the_input(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    # Django accepts user@localhost; HubSpot does not: a permanent failure, not a retry.
    response = client_for(hubspot_staff).post(
        ADD_URL, {"email": "ann@localhost", "firstname": "Ann"}
    )
    assert response.status_code == 200
    [message] = shown_messages(response)
    assert message.startswith("HubSpot refused the change:") and "invalid" in message
    assert 'value="ann@localhost"' in response.content.decode()
    assert OutboxOperation.objects.get().status == "failed"


# --- edit ------------------------------------------------------------------------------------------
def test_edit_form_shows_hubspots_values(hubspot_staff, hubspot_settings, ann):
    html = client_for(hubspot_staff).get(change_url(ann["id"])).content.decode()
    assert 'value="ann@example.com"' in html and 'value="Acme"' in html
    assert f"/record/0-1/{ann['id']}" in html
    assert delete_url(ann["id"]) in html


def test_edit_saves_to_hubspot(hubspot_staff, hubspot_settings, fake_hubspot, ann):
    response = client_for(hubspot_staff).post(
        change_url(ann["id"]),
        {"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee", "company": ""},
        follow=True,
    )
    assert "Contact ann@example.com saved." in response.content.decode()
    [contact] = fake_hubspot.objects("contacts")
    assert contact["properties"]["company"] == ""  # a cleared field is cleared in HubSpot


def test_edit_while_hubspot_is_down_is_queued(hubspot_staff, hubspot_settings, fake_hubspot, ann):
    fake_hubspot.faults.down()
    response = client_for(hubspot_staff).post(
        change_url(ann["id"]), {"email": "ann@example.com", "firstname": "Later"}, follow=True
    )
    assert "Queued: will be sent to HubSpot when it is reachable." in response.content.decode()
    assert OutboxOperation.objects.get().status == "pending"


def test_edit_refused_by_hubspot_shows_the_reason(hubspot_staff, hubspot_settings, ann):
    response = client_for(hubspot_staff).post(
        change_url(ann["id"]), {"email": "ann@localhost", "firstname": "Ann"}
    )
    assert response.status_code == 200
    assert shown_messages(response)[0].startswith("HubSpot refused the change:")


def test_edit_of_an_unknown_contact_goes_back_to_the_list(hubspot_staff, hubspot_settings):
    response = client_for(hubspot_staff).get(change_url("999999"), follow=True)
    assert response.redirect_chain[-1][0] == LIST_URL
    assert "Could not read contact 999999 from HubSpot" in response.content.decode()


# --- archive ---------------------------------------------------------------------------------------
def test_archive_asks_first_then_archives(hubspot_staff, hubspot_settings, fake_hubspot, ann):
    client = client_for(hubspot_staff)
    confirm = client.get(delete_url(ann["id"]))
    assert "Archive the HubSpot contact" in confirm.content.decode()
    assert "ann@example.com" in confirm.content.decode()
    assert len(fake_hubspot.objects("contacts")) == 1  # asking archives nothing
    response = client.post(delete_url(ann["id"]), {"post": "yes"}, follow=True)
    assert f"Contact {ann['id']} archived in HubSpot." in response.content.decode()
    assert fake_hubspot.objects("contacts") == []
