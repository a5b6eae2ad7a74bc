"""Companies end to end: the admin pages and the API, through the outbox, the real SDK and the
fake HubSpot. Built only from the shared CRM base (`crm/`) and the `companies` package."""

import re

import pytest
from django.contrib.messages import get_messages

from hubspot_integration.crm.request_key import PROPERTY as REQUEST_KEY
from hubspot_integration.models import OutboxOperation
from hubspot_integration.services import outbox
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/hubspot_integration/hubspotcompany/"
API = "/api/admin/settings/hubspot/companies"


def shown_messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def names_on(response):
    return re.findall(
        # After the row's action checkbox: the name's link.
        r'<tr class="company-row"[^>]*>\s*(?:<td class="action-checkbox">.*?</td>\s*)?<th><a [^>]*>([^<]*)</a>',
        response.content.decode(),
    )


def live(fake):
    return {c["properties"]["name"]: c for c in fake.objects("companies")}


@pytest.fixture
def acme(fake_hubspot):
    ann = fake_hubspot.create_object(
        "contacts", {"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee"}
    )
    company = fake_hubspot.create_object(
        "companies",
        {"name": "Acme Hosting", "domain": "acme.example", "city": "Berlin"},
        associations={"contacts": [ann["id"]]},
    )
    fake_hubspot.create_object(
        "deals",
        {"dealname": "Acme renewal", "amount": "1200"},
        associations={"companies": [company["id"]]},
    )
    fake_hubspot.create_object("companies", {"name": "Globex", "domain": "globex.example"})
    return {"company": company, "contact": ann}


# --- the admin pages -------------------------------------------------------------------------------
def test_the_list_shows_companies_and_search_finds_one(hubspot_staff, hubspot_settings, acme):
    client = client_for(hubspot_staff)
    page = client.get(LIST_URL)
    assert page.status_code == 200
    assert sorted(names_on(page)) == ["Acme Hosting", "Globex"]
    assert "acme.example" in page.content.decode()
    found = client.get(LIST_URL, {"q": "globex"})
    assert names_on(found) == ["Globex"]
    nothing = client.get(LIST_URL, {"q": "initech"})
    assert "No company matches “initech”." in nothing.content.decode()


def test_a_company_page_lists_its_contacts_and_deals(hubspot_staff, hubspot_settings, acme):
    page = client_for(hubspot_staff).get(f"{LIST_URL}{acme['company']['id']}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="Acme Hosting"' in html
    contacts = re.search(r'id="related-contacts".*?</ul>', html, re.S).group(0)
    deals = re.search(r'id="related-deals".*?</ul>', html, re.S).group(0)
    # Staff may open contacts: the contact links to its page in the panel.
    contact_page = f"/admin/hubspot_integration/hubspotcontact/{acme['contact']['id']}/change/"
    assert "Ann Lee &lt;ann@example.com&gt;" in contacts and contact_page in contacts
    # Deals have no page in the panel: the name and amount, linked to HubSpot.
    assert "Acme renewal: $1,200.00" in deals and "/record/0-3/" in deals  # the account's USD


def test_related_records_that_cannot_be_read_leave_the_form(
    hubspot_staff, hubspot_settings, fake_hubspot, acme
):
    fake_hubspot.faults.fail_next(1, status=503, path_prefix="/crm/objects/2026-09/contacts/batch")
    page = client_for(hubspot_staff).get(f"{LIST_URL}{acme['company']['id']}/change/")
    assert page.status_code == 200 and 'value="Acme Hosting"' in page.content.decode()
    assert any("Could not read the linked contacts" in m for m in shown_messages(page))
    assert "Acme renewal" in page.content.decode()  # the deals were read all the same


def test_api_detail_says_which_links_it_could_not_read(
    hubspot_staff, hubspot_settings, fake_hubspot, acme
):
    fake_hubspot.faults.fail_next(1, status=503, path_prefix="/crm/objects/2026-09/deals/batch")
    answer = client_for(hubspot_staff).get(f"{API}/{acme['company']['id']}")
    assert answer.status_code == 200
    body = answer.json()
    assert [c["properties"]["email"] for c in body["company"]["contacts"]] == ["ann@example.com"]
    assert "deals" not in body["company"] and "deals" in body["unavailable"]


def test_create_normalises_the_domain_and_marks_the_record(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    response = client_for(hubspot_staff).post(
        LIST_URL + "add/",
        {"name": "Initech", "domain": "https://www.Initech.example/about", "city": "Austin"},
    )
    assert response.status_code == 302, shown_messages(response)
    assert any("Company Initech created." in m for m in shown_messages(response))
    created = live(fake_hubspot)["Initech"]
    assert created["properties"]["domain"] == "initech.example"
    [operation] = OutboxOperation.objects.filter(kind="create_company")
    assert operation.status == OutboxOperation.Status.SUCCEEDED
    # The idempotency key travels in the unique property the panel made on first use.
    assert created["properties"][REQUEST_KEY] == operation.idempotency_key


def test_bad_input_names_the_field_and_sends_nothing(hubspot_staff, hubspot_settings, fake_hubspot):
    client = client_for(hubspot_staff)
    page = client.post(LIST_URL + "add/", {"name": "", "domain": "not a domain"})
    assert page.status_code == 200
    form = page.context["form"]
    assert "name" in form.errors
    assert form.data["domain"] == "not a domain"  # what they typed is shown again
    page = client.post(LIST_URL + "add/", {"name": "Initech", "domain": "not a domain"})
    assert page.context["form"].errors["domain"] == [
        "'not a domain' is not a domain name like example.com."
    ]
    assert not OutboxOperation.objects.exists() and fake_hubspot.objects("companies") == []


def test_a_create_during_an_outage_is_queued_then_sent_once(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    fake_hubspot.faults.down()
    response = client_for(hubspot_staff).post(LIST_URL + "add/", {"name": "Umbrella"})
    assert response.status_code == 302
    assert any("Queued" in m for m in shown_messages(response))
    [operation] = OutboxOperation.objects.all()
    assert operation.status == OutboxOperation.Status.PENDING
    fake_hubspot.faults.up()
    OutboxOperation.objects.update(next_attempt_at=operation.created_at)
    outbox.process_due()
    operation.refresh_from_db()
    assert operation.status == OutboxOperation.Status.SUCCEEDED
    assert list(live(fake_hubspot)) == ["Umbrella"]


def test_a_create_whose_answer_was_lost_does_not_make_a_second_company(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    # HubSpot stores the company, and the answer never arrives: the retry meets the request key.
    fake_hubspot.faults.drop_next(1, after_store=True, path_prefix="/crm/objects/2026-09/companies")
    client_for(hubspot_staff).post(LIST_URL + "add/", {"name": "Hooli"})
    operation = OutboxOperation.objects.get()
    OutboxOperation.objects.update(next_attempt_at=operation.created_at)
    outbox.process_due()
    operation.refresh_from_db()
    assert operation.status == OutboxOperation.Status.SUCCEEDED
    [company] = fake_hubspot.objects("companies")
    assert operation.hubspot_object_id == company["id"]


def test_a_request_key_property_deleted_in_hubspot_is_made_again(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    client = client_for(hubspot_staff)
    client.post(LIST_URL + "add/", {"name": "First"})
    fake_hubspot.delete_property("companies", REQUEST_KEY)  # someone tidied HubSpot's schema
    response = client.post(LIST_URL + "add/", {"name": "Second"})
    assert any("Company Second created." in m for m in shown_messages(response))
    assert sorted(live(fake_hubspot)) == ["First", "Second"]


def test_edit_then_archive(hubspot_staff, hubspot_settings, fake_hubspot, acme):
    client = client_for(hubspot_staff)
    company_id = acme["company"]["id"]
    response = client.post(
        f"{LIST_URL}{company_id}/change/",
        {"name": "Acme Hosting GmbH", "domain": "acme.example", "city": "Hamburg"},
    )
    assert response.status_code == 302
    assert live(fake_hubspot)["Acme Hosting GmbH"]["properties"]["city"] == "Hamburg"
    confirm = client.get(f"{LIST_URL}{company_id}/delete/")
    assert (
        "Archive the HubSpot company “Acme Hosting GmbH (acme.example)”?"
        in confirm.content.decode()
    )
    client.post(f"{LIST_URL}{company_id}/delete/", {"post": "yes"})
    assert "Acme Hosting GmbH" not in live(fake_hubspot)


def test_the_staff_group_holds_the_companies_permission(
    hubspot_staff, plain_staff, hubspot_settings
):
    assert hubspot_staff.has_perm("hubspot_integration.manage_companies")
    assert client_for(plain_staff).get(LIST_URL).status_code == 403
    index = client_for(hubspot_staff).get("/admin/").content.decode()
    assert LIST_URL in index and "HubSpot companies" in index


# --- the API ---------------------------------------------------------------------------------------
def test_api_list_search_and_detail_with_related(hubspot_staff, hubspot_settings, acme):
    client = client_for(hubspot_staff)
    listed = client.get(API).json()
    assert listed["success"] and {c["properties"]["name"] for c in listed["companies"]} == {
        "Acme Hosting",
        "Globex",
    }
    assert "next" in listed["paging"]
    found = client.get(API, {"q": "acme"}).json()["companies"]
    assert [c["properties"]["name"] for c in found] == ["Acme Hosting"]
    detail = client.get(f"{API}/{acme['company']['id']}").json()["company"]
    assert detail["properties"]["domain"] == "acme.example"
    assert [c["properties"]["email"] for c in detail["contacts"]] == ["ann@example.com"]
    assert [d["properties"]["dealname"] for d in detail["deals"]] == ["Acme renewal"]


def test_api_create_change_archive(hubspot_staff, hubspot_settings, fake_hubspot):
    client = client_for(hubspot_staff)
    created = client.post(API, {"name": "Initech", "domain": "INITECH.example"}, "application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["created"] is True and body["company"]["properties"]["domain"] == "initech.example"
    company_id = body["company"]["id"]
    changed = client.patch(f"{API}/{company_id}", {"city": "Austin"}, "application/json")
    assert (
        changed.status_code == 200 and changed.json()["company"]["properties"]["city"] == "Austin"
    )
    assert client.delete(f"{API}/{company_id}").json() == {"success": True, "archived": True}
    assert fake_hubspot.objects("companies") == []


def test_api_refuses_bad_input_by_field_and_queues_during_an_outage(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    client = client_for(hubspot_staff)
    refused = client.post(API, {"domain": "acme.example"}, "application/json")
    assert refused.status_code == 400 and refused.json()["message"] == "Invalid input: name."
    for domain in ("no way", "[acme", "http://[::1"):  # the last two are not even URLs
        refused = client.post(API, {"name": "Acme", "domain": domain}, "application/json")
        assert refused.status_code == 400 and "domain" in refused.json()["details"], domain
    fake_hubspot.faults.down()
    queued = client.post(API, {"name": "Acme"}, "application/json")
    assert queued.status_code == 202 and queued.json()["queued"] is True
    assert OutboxOperation.objects.get().kind == "create_company"
