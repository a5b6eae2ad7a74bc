"""The "HubSpot tickets" admin pages, through the fake HubSpot and the real SDK."""

import re

import pytest
from django.contrib.messages import get_messages

from hubspot_integration.models import HubSpotSettings, OutboxOperation
from hubspot_integration.services import outbox
from tests.fake_hubspot import FAKE_PORTAL_ID
from tests.helpers import client_for

LIST_URL = "/admin/hubspot_integration/hubspotticket/"
ADD_URL = LIST_URL + "add/"
REFRESH_URL = LIST_URL + "refresh-pipelines/"
SUPPORT, NEW, WAITING_ON_US, CLOSED = "81234567", "81234568", "81234570", "81234571"
BILLING, RECEIVED, IN_PROGRESS = "81234600", "81234601", "81234602"
DISABLED = "Tickets are switched off in the HubSpot settings."

pytestmark = pytest.mark.django_db


def change_url(ticket_id):
    return f"{LIST_URL}{ticket_id}/change/"


def shown_messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def subjects_on(response):
    return re.findall(r'/change/">([^<]*)</a></th>', response.content.decode())


def new_ticket_data(**overrides):
    data = {
        "subject": "Printer on fire",
        "content": "Smoke everywhere.",
        "priority": "HIGH",
        "category": "PRODUCT_ISSUE",
        "pipeline": SUPPORT,
        "stage": NEW,
        "email": "req@example.com",
    }
    data.update(overrides)
    return data


@pytest.fixture
def ticket(fake_hubspot, tickets_on):
    contact = fake_hubspot.create_object("contacts", {"email": "tia@example.com"})
    return fake_hubspot.create_object(
        "tickets",
        {
            "subject": "Cannot log in",
            "content": "Since Monday.",
            "hs_pipeline": SUPPORT,
            "hs_pipeline_stage": NEW,
            "hs_ticket_priority": "LOW",
        },
        associations={"contacts": [contact["id"]]},
    )


# --- permissions ---------------------------------------------------------------------------------
MATRIX = [
    (None, 302),  # to the login page
    ("customer", 302),
    ("plain_staff", 403),
    ("staff", 200),
    ("admin", 200),
    ("superuser", 200),
]


@pytest.mark.parametrize("page", ["list", "add", "change"])
@pytest.mark.parametrize("who,expected", MATRIX)
def test_every_page_checks_the_permission(users, ticket, page, who, expected):
    url = {"list": LIST_URL, "add": ADD_URL, "change": change_url(ticket["id"])}[page]
    response = client_for(users.get(who) if who else None).get(url)
    assert response.status_code == expected
    if expected == 302:
        assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("who,expected", MATRIX)
def test_writes_check_the_permission(users, ticket, fake_hubspot, who, expected):
    client = client_for(users.get(who) if who else None)
    responses = [
        client.post(REFRESH_URL),
        client.post(ADD_URL, new_ticket_data()),
        client.post(change_url(ticket["id"]), {"stage": CLOSED, "priority": "LOW"}),
    ]
    codes = {r.status_code for r in responses}
    if expected == 200:
        assert codes == {302}  # done: back to a page with a message
    else:
        assert codes == {expected}
        assert OutboxOperation.objects.count() == 0
        assert len(fake_hubspot.objects("tickets")) == 1


def test_the_index_shows_tickets_only_to_those_allowed(users, tickets_on):
    assert "HubSpot tickets" in client_for(users["staff"]).get("/admin/").content.decode()
    assert "HubSpot tickets" not in client_for(users["plain_staff"]).get("/admin/").content.decode()


# --- switched off --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method,url",
    [
        ("get", LIST_URL),
        ("get", ADD_URL),
        ("get", change_url(5)),
        ("post", REFRESH_URL),
        ("post", ADD_URL),
    ],
)
def test_every_page_says_when_tickets_are_off(
    hubspot_staff, hubspot_settings, fake_hubspot, method, url
):
    response = getattr(client_for(hubspot_staff), method)(
        url, new_ticket_data() if method == "post" else None
    )
    assert response.status_code == 200
    assert DISABLED in response.content.decode()
    assert fake_hubspot.requests == []
    assert OutboxOperation.objects.count() == 0


# --- list ----------------------------------------------------------------------------------------
def test_list_shows_stage_labels_and_links(hubspot_staff, ticket):
    html = client_for(hubspot_staff).get(LIST_URL).content.decode()
    assert "Cannot log in" in html
    assert '<td class="stage">New</td>' in html and '<td class="priority">Low</td>' in html
    assert "Support Pipeline" in html
    assert f"https://app.hubspot.com/contacts/{FAKE_PORTAL_ID}/record/0-5/{ticket['id']}" in html
    assert change_url(ticket["id"]) in html


def test_list_filters_by_stage_and_priority_and_searches_subjects(
    hubspot_staff, tickets_on, fake_hubspot
):
    fake_hubspot.seed_tickets(8)  # stages and priorities round-robin
    client = client_for(hubspot_staff)
    by_stage = client.get(LIST_URL, {"stage": CLOSED})
    assert len(subjects_on(by_stage)) == 2
    assert set(re.findall(r'<td class="stage">([^<]*)<', by_stage.content.decode())) == {"Closed"}
    by_priority = client.get(LIST_URL, {"priority": "urgent"})
    assert set(re.findall(r'<td class="priority">([^<]*)<', by_priority.content.decode())) == {
        "Urgent"
    }
    by_subject = client.get(LIST_URL, {"q": "invoice"})
    assert subjects_on(by_subject) and all("Invoice" in s for s in subjects_on(by_subject))
    both = client.get(LIST_URL, {"stage": CLOSED, "priority": "URGENT"})
    # The chosen filters are marked in the admin's filter sidebar.
    chosen = re.findall(r'<li class="selected"><a [^>]*>([^<]*)</a>', both.content.decode())
    assert "Support Pipeline: Closed" in chosen and "Urgent" in chosen


def test_list_pages_with_the_filters_kept(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.seed_tickets(25)
    client = client_for(hubspot_staff)
    first = client.get(LIST_URL)
    assert len(subjects_on(first)) == 20
    next_url = re.search(r'href="(\?[^"]*)" id="next-page"', first.content.decode()).group(1)
    second = client.get(LIST_URL + next_url.replace("&amp;", "&"))
    assert len(subjects_on(second)) == 5
    assert 'id="previous-page"' in second.content.decode()


def test_list_with_hubspot_down_shows_an_error(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.faults.down()
    response = client_for(hubspot_staff).get(LIST_URL)
    assert response.status_code == 200
    assert shown_messages(response)[0].startswith("Could not read the tickets from HubSpot:")


def test_refresh_pipelines_rereads_hubspots_list(hubspot_staff, tickets_on, fake_hubspot):
    client = client_for(hubspot_staff)
    client.get(LIST_URL)  # caches the pipelines
    pipelines = fake_hubspot.pipelines("tickets")
    pipelines[0]["stages"].append(
        {
            "id": "81234599",
            "label": "Escalated",
            "displayOrder": 9,
            "metadata": {"ticketState": "OPEN"},
        }
    )
    fake_hubspot.set_pipelines("tickets", pipelines)
    assert "Escalated" not in client.get(LIST_URL).content.decode()  # still cached
    response = client.post(REFRESH_URL, follow=True)
    assert "Pipelines refreshed from HubSpot: 2 pipelines, 8 stages." in response.content.decode()
    assert "Support Pipeline: Escalated</a></li>" in response.content.decode()


# --- create --------------------------------------------------------------------------------------
def test_create_form_offers_hubspots_pipelines_with_the_default_chosen(hubspot_staff, tickets_on):
    tickets_on.default_ticket_pipeline, tickets_on.default_ticket_stage = BILLING, IN_PROGRESS
    tickets_on.save()
    html = client_for(hubspot_staff).get(ADD_URL).content.decode()
    assert f'<option value="{BILLING}" selected>Billing</option>' in html
    assert f'<option value="{IN_PROGRESS}" selected>In progress</option>' in html
    assert '<optgroup label="Support Pipeline">' in html
    assert 'value="URGENT"' in html


def test_create_lands_with_its_contact_association(hubspot_staff, tickets_on, fake_hubspot):
    response = client_for(hubspot_staff).post(
        ADD_URL, new_ticket_data(pipeline=BILLING, stage=RECEIVED), follow=True
    )
    [ticket] = fake_hubspot.objects("tickets")
    [contact] = fake_hubspot.objects("contacts")  # created for the requester
    assert contact["properties"]["email"] == "req@example.com"
    props = ticket["properties"]
    assert (props["hs_pipeline"], props["hs_pipeline_stage"]) == (BILLING, RECEIVED)
    assert props["hs_ticket_priority"] == "HIGH" and props["content"] == "Smoke everywhere."
    assert props["hs_ticket_category"] == "PRODUCT_ISSUE"
    linked = [a["id"] for a in ticket["associations"]["contacts"]["results"]]
    assert contact["id"] in linked
    html = response.content.decode()
    assert "Ticket “Printer on fire” created." in html
    assert f"/record/0-5/{ticket['id']}" in html
    assert response.redirect_chain[-1][0] == change_url(ticket["id"])


def test_create_uses_the_existing_contact(hubspot_staff, ticket, fake_hubspot):
    client_for(hubspot_staff).post(ADD_URL, new_ticket_data(email="TIA@example.com"))
    assert len(fake_hubspot.objects("contacts")) == 1
    assert len(fake_hubspot.objects("tickets")) == 2


def test_create_checks_the_stage_belongs_to_the_pipeline(hubspot_staff, tickets_on, fake_hubspot):
    response = client_for(hubspot_staff).post(ADD_URL, new_ticket_data(pipeline=BILLING, stage=NEW))
    assert "Choose a stage of the chosen pipeline." in response.content.decode()
    assert fake_hubspot.objects("tickets") == []


def test_create_needs_subject_and_email(hubspot_staff, tickets_on):
    response = client_for(hubspot_staff).post(ADD_URL, new_ticket_data(subject="", email="nope"))
    html = response.content.decode()
    assert response.status_code == 200 and html.count('class="errorlist') >= 2
    assert OutboxOperation.objects.count() == 0


def test_create_while_hubspot_is_down_is_queued_then_lands(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.faults.down()
    client = client_for(hubspot_staff)
    form = client.get(ADD_URL)
    assert "The default (HubSpot is unreachable)" in form.content.decode()
    response = client.post(ADD_URL, new_ticket_data(pipeline="", stage=""), follow=True)
    assert "Queued: will be sent to HubSpot when it is reachable." in response.content.decode()
    operation = OutboxOperation.objects.get()
    assert operation.status == "pending"
    fake_hubspot.faults.up()
    OutboxOperation.objects.update(next_attempt_at=operation.created_at)
    outbox.process_due()
    [ticket] = fake_hubspot.objects("tickets")
    assert ticket["properties"]["hs_pipeline"] == SUPPORT  # the first pipeline: no default set
    assert ticket["associations"]["contacts"]["results"]


def test_create_refused_by_hubspot_says_why(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.faults.fail_next(1, status=400, path_prefix="/crm/objects/2026-09/tickets")
    response = client_for(hubspot_staff).post(ADD_URL, new_ticket_data())
    assert response.status_code == 200
    assert shown_messages(response)[-1].startswith("HubSpot refused the change:")
    assert 'value="Printer on fire"' in response.content.decode()  # nothing typed is lost


# --- detail and update ---------------------------------------------------------------------------
def test_detail_shows_properties_stage_label_and_contacts(hubspot_staff, ticket, fake_hubspot):
    [contact] = fake_hubspot.objects("contacts")
    html = client_for(hubspot_staff).get(change_url(ticket["id"])).content.decode()
    assert '<td id="ticket-stage">New</td>' in html
    assert "Since Monday." in html and "Support Pipeline" in html
    assert f'data-id="{contact["id"]}"' in html
    assert f"/admin/hubspot_integration/hubspotcontact/{contact['id']}/change/" in html
    assert f"/record/0-5/{ticket['id']}" in html
    assert "Ava Owner &lt;ava.owner@skypanel.test&gt;" in html  # owners offered


def test_update_moves_stage_priority_and_owner(hubspot_staff, ticket, fake_hubspot):
    response = client_for(hubspot_staff).post(
        change_url(ticket["id"]),
        {"stage": WAITING_ON_US, "priority": "URGENT", "owner": "71000002"},
        follow=True,
    )
    [stored] = fake_hubspot.objects("tickets")
    props = stored["properties"]
    assert props["hs_pipeline_stage"] == WAITING_ON_US
    assert props["hs_ticket_priority"] == "URGENT"
    assert props["hubspot_owner_id"] == "71000002"
    html = response.content.decode()
    assert "Ticket saved." in html
    assert '<td id="ticket-stage">Waiting on us</td>' in html
    assert "Ben Support" in html


def test_update_with_nothing_changed_sends_nothing(hubspot_staff, ticket, fake_hubspot):
    response = client_for(hubspot_staff).post(
        change_url(ticket["id"]), {"stage": NEW, "priority": "LOW", "owner": ""}, follow=True
    )
    assert "Nothing changed." in response.content.decode()
    assert fake_hubspot.count("PATCH", "/crm") == 0


def test_update_offers_only_stages_of_the_tickets_pipeline(hubspot_staff, ticket):
    response = client_for(hubspot_staff).post(
        change_url(ticket["id"]), {"stage": RECEIVED, "priority": "LOW"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_unknown_ticket_goes_back_to_the_list(hubspot_staff, tickets_on):
    response = client_for(hubspot_staff).get(change_url("999999"), follow=True)
    assert response.redirect_chain[-1][0] == LIST_URL
    assert "Could not read ticket 999999 from HubSpot" in response.content.decode()


def test_default_settings_are_used_when_pipeline_is_left_blank(
    hubspot_staff, tickets_on, fake_hubspot
):
    s = HubSpotSettings.load()
    s.default_ticket_pipeline, s.default_ticket_stage = BILLING, IN_PROGRESS
    s.save()
    client_for(hubspot_staff).post(ADD_URL, new_ticket_data(pipeline="", stage=""))
    [ticket] = fake_hubspot.objects("tickets")
    assert ticket["properties"]["hs_pipeline_stage"] == IN_PROGRESS


# --- the settings' default pipeline and stage ----------------------------------------------------
SETTINGS_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"


def test_settings_offer_hubspots_pipelines_as_choices(hubspot_admin, hubspot_settings):
    html = client_for(hubspot_admin).get(SETTINGS_URL).content.decode()
    assert '<select name="default_ticket_pipeline"' in html
    assert f'<option value="{BILLING}">Billing</option>' in html
    assert f'<option value="{IN_PROGRESS}">In progress</option>' in html


def test_settings_fall_back_to_text_when_hubspot_is_down(
    hubspot_admin, hubspot_settings, fake_hubspot
):
    fake_hubspot.faults.down()
    html = client_for(hubspot_admin).get(SETTINGS_URL).content.decode()
    assert '<input type="text" name="default_ticket_pipeline"' in html


def test_settings_save_a_chosen_pipeline_and_check_the_stage(hubspot_admin, hubspot_settings):
    from tests.fake_hubspot import FAKE_PORTAL_ID as portal
    from tests.test_settings_admin import form_data

    client = client_for(hubspot_admin)
    data = form_data(enabled="on", portal_id=str(portal), tickets_enabled="on")
    wrong = client.post(
        SETTINGS_URL, {**data, "default_ticket_pipeline": BILLING, "default_ticket_stage": NEW}
    )
    assert "Choose a stage of the chosen pipeline." in wrong.content.decode()
    client.post(
        SETTINGS_URL,
        {**data, "default_ticket_pipeline": BILLING, "default_ticket_stage": IN_PROGRESS},
    )
    stored = HubSpotSettings.objects.get()
    assert (stored.default_ticket_pipeline, stored.default_ticket_stage) == (BILLING, IN_PROGRESS)
