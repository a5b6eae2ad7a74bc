"""The live lists behave like the admin's: a total, sortable columns, the filter sidebar, bulk
actions through the outbox, CSV export of the current filter, and lists past HubSpot's
10,000-result search cap. All through the fake HubSpot and the real SDK."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from django.contrib.messages import get_messages

from hubspot_integration.contacts.service import service as contacts
from hubspot_integration.crm import listing
from hubspot_integration.models import OutboxOperation
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

CONTACTS = "/admin/hubspot_integration/hubspotcontact/"
COMPANIES = "/admin/hubspot_integration/hubspotcompany/"
TICKETS = "/admin/hubspot_integration/hubspotticket/"
CLOSED, NEW = "81234571", "81234568"
DAY_MS = 86_400_000


def shown(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def emails_on(response):
    return re.findall(r'<td class="email">([^<]*)</td>', response.content.decode())


def csv_rows(response):
    assert response.status_code == 200, response
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def people(fake, *names):
    return [
        fake.create_object(
            "contacts", {"email": f"{n.lower()}@example.com", "firstname": n, "lastname": "Lee"}
        )
        for n in names
    ]


# --- count, sort, filters ------------------------------------------------------------------------
def test_the_list_says_how_many_there_are(hubspot_staff, hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(1234)
    page = client_for(hubspot_staff).get(CONTACTS)
    assert '<span class="action-counter" id="result-count">1,234 contacts</span>' in (
        page.content.decode()
    )
    searched = client_for(hubspot_staff).get(CONTACTS, {"q": "nobody-like-this"})
    assert "0 contacts" in searched.content.decode()


def test_sorting_by_a_column_changes_the_order(hubspot_staff, hubspot_settings, fake_hubspot):
    people(fake_hubspot, "Cleo", "Abe", "Bea")
    client = client_for(hubspot_staff)
    ascending = client.get(CONTACTS, {"o": "1"})
    assert emails_on(ascending) == ["abe@example.com", "bea@example.com", "cleo@example.com"]
    html = ascending.content.decode()
    assert 'class="sortable column-email sorted ascending"' in html
    assert 'href="?o=-1"' in html  # the header's link turns the order round
    descending = client.get(CONTACTS, {"o": "-1"})
    assert emails_on(descending) == ["cleo@example.com", "bea@example.com", "abe@example.com"]


@pytest.mark.parametrize(
    "params", [{"o": "99"}, {"o": "x"}, {"o": "-"}, {"created": "yesterday-ish"}, {"o": "3.1"}]
)
def test_a_bad_sort_or_filter_is_ignored(hubspot_staff, hubspot_settings, fake_hubspot, params):
    people(fake_hubspot, "Abe", "Bea")
    page = client_for(hubspot_staff).get(CONTACTS, params)
    assert page.status_code == 200
    assert sorted(emails_on(page)) == ["abe@example.com", "bea@example.com"]


def test_the_created_filter_in_the_sidebar(hubspot_staff, hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(3, days=30, end_ms=int(time.time() * 1000) - 60 * DAY_MS)
    people(fake_hubspot, "Abe", "Bea")
    page = client_for(hubspot_staff).get(CONTACTS, {"created": "past_7_days"})
    assert sorted(emails_on(page)) == ["abe@example.com", "bea@example.com"]
    html = page.content.decode()
    assert '<nav id="changelist-filter"' in html
    assert '<li class="selected"><a href="?created=past_7_days">Past 7 days</a></li>' in html
    assert "2 contacts" in html
    year = client_for(hubspot_staff).get(COMPANIES, {"created": "this_year"})
    assert year.status_code == 200 and 'id="filter-created"' in year.content.decode()


def test_tickets_filter_by_stage_in_the_sidebar_and_sort(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.seed_tickets(8)
    client = client_for(hubspot_staff)
    closed = client.get(TICKETS, {"stage": CLOSED})
    html = closed.content.decode()
    assert set(re.findall(r'<td class="stage">([^<]*)<', html)) == {"Closed"}
    assert "2 tickets" in html and 'id="filter-stage"' in html
    subjects = re.findall(
        r'/change/">([^<]*)</a></th>', client.get(TICKETS, {"o": "0"}).content.decode()
    )
    assert subjects == sorted(subjects, key=str.lower) and len(subjects) == 8


# --- bulk actions ----------------------------------------------------------------------------------
def test_bulk_archive_confirms_then_archives_each_through_the_outbox(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    abe, bea, cleo = people(fake_hubspot, "Abe", "Bea", "Cleo")
    client = client_for(hubspot_staff)
    chosen = {"action": "archive", "_selected_action": [abe["id"], bea["id"]], "list_query": "?o=1"}
    confirm = client.post(CONTACTS + "actions/", chosen)
    html = confirm.content.decode()
    assert "Abe Lee &lt;abe@example.com&gt;" in html and "Bea Lee" in html and "Cleo" not in html
    assert not OutboxOperation.objects.exists()  # nothing happens before the confirmation
    done = client.post(CONTACTS + "actions/", {**chosen, "post": "yes"})
    assert done.status_code == 302 and done["Location"] == CONTACTS + "?o=1"
    assert shown(done) == ["2 contacts archived in HubSpot."]
    live = {c["properties"]["email"] for c in fake_hubspot.objects("contacts")}
    assert live == {"cleo@example.com"}
    rows = OutboxOperation.objects.filter(kind="archive_contact")
    assert sorted(r.payload["id"] for r in rows) == sorted([abe["id"], bea["id"]])
    assert {r.status for r in rows} == {"succeeded"}


def test_bulk_archive_during_an_outage_is_queued(hubspot_staff, hubspot_settings, fake_hubspot):
    abe, bea = people(fake_hubspot, "Abe", "Bea")
    fake_hubspot.faults.down()
    chosen = {"action": "archive", "_selected_action": [abe["id"], bea["id"]], "post": "yes"}
    response = client_for(hubspot_staff).post(CONTACTS + "actions/", chosen)
    assert response.status_code == 302
    assert shown(response) == ["2 contacts: Queued: will be sent to HubSpot when it is reachable."]
    assert OutboxOperation.objects.filter(kind="archive_contact", status="pending").count() == 2


def test_bulk_archive_of_companies(hubspot_staff, hubspot_settings, fake_hubspot):
    gone = fake_hubspot.create_object("companies", {"name": "Gone Ltd"})
    response = client_for(hubspot_staff).post(
        COMPANIES + "actions/",
        {"action": "archive", "_selected_action": [gone["id"]], "post": "yes"},
    )
    assert shown(response) == ["1 company archived in HubSpot."]
    assert fake_hubspot.objects("companies") == [] or all(
        c["id"] != gone["id"] for c in fake_hubspot.objects("companies")
    )


def test_no_selection_or_action_changes_nothing(hubspot_staff, hubspot_settings, fake_hubspot):
    client = client_for(hubspot_staff)
    none = client.post(CONTACTS + "actions/", {"action": "archive"})
    assert "Items must be selected" in shown(none)[0]
    bad = client.post(CONTACTS + "actions/", {"action": "drop_tables", "_selected_action": ["1"]})
    assert shown(bad)[-1] == "No action selected."  # messages pile up without a page view
    odd = client.post(
        CONTACTS + "actions/",
        {"action": "archive", "_selected_action": ["1"], "list_query": "//evil.example"},
    )
    assert odd.status_code == 200  # the confirmation; the odd return address is dropped
    assert "evil.example" not in odd.content.decode()


def test_tickets_bulk_set_stage_and_owner(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.seed_tickets(4)
    ids = [t["id"] for t in fake_hubspot.objects("tickets")][:2]
    client = client_for(hubspot_staff)
    confirm = client.post(TICKETS + "actions/", {"action": "set_stage", "_selected_action": ids})
    assert 'id="bulk-stage"' in confirm.content.decode()
    done = client.post(
        TICKETS + "actions/",
        {"action": "set_stage", "_selected_action": ids, "post": "yes", "stage": CLOSED},
    )
    assert shown(done) == ["2 tickets updated."]
    by_id = {t["id"]: t["properties"] for t in fake_hubspot.objects("tickets")}
    assert {by_id[i]["hs_pipeline_stage"] for i in ids} == {CLOSED}
    owner = client.post(
        TICKETS + "actions/",
        {"action": "set_owner", "_selected_action": ids, "post": "yes", "owner": "71000002"},
    )
    assert shown(owner)[-1] == "2 tickets updated."
    by_id = {t["id"]: t["properties"] for t in fake_hubspot.objects("tickets")}
    assert {by_id[i]["hubspot_owner_id"] for i in ids} == {"71000002"}
    assert OutboxOperation.objects.filter(kind="update_ticket", status="succeeded").count() == 4
    wrong = client.post(
        TICKETS + "actions/",
        {"action": "set_stage", "_selected_action": ids, "post": "yes", "stage": "nope"},
    )
    assert wrong.status_code == 200 and shown(wrong)[-1] == "Choose the new stage."


@pytest.mark.parametrize("base", [CONTACTS, COMPANIES, TICKETS])
def test_plain_staff_may_not_export_or_act(plain_staff, tickets_on, base):
    client = client_for(plain_staff)
    assert client.get(base + "export/").status_code == 403
    assert client.post(base + "actions/", {"action": "export"}).status_code == 403


# --- export ----------------------------------------------------------------------------------------
def test_export_is_the_current_filter_as_csv_with_formulas_made_inert(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    fake_hubspot.create_object(
        "contacts", {"email": "evil@example.com", "firstname": "=cmd|'/C calc'!A0", "phone": "+1"}
    )
    people(fake_hubspot, "Abe")
    response = client_for(hubspot_staff).get(CONTACTS + "export/", {"q": "evil"})
    assert re.fullmatch(
        r'attachment; filename="hubspot-contacts-\d{4}-\d{2}-\d{2}\.csv"',
        response["Content-Disposition"],
    )
    header, *rows = csv_rows(response)
    assert header[:4] == ["ID", "Email", "First name", "Last name"] and "Created" in header
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["First name"] == "'=cmd|'/C calc'!A0"
    assert row["Phone"] == "'+1"
    assert row["Email"] == "evil@example.com"


def test_export_selected(hubspot_staff, hubspot_settings, fake_hubspot):
    abe, bea, _ = people(fake_hubspot, "Abe", "Bea", "Cleo")
    response = client_for(hubspot_staff).post(
        CONTACTS + "actions/", {"action": "export", "_selected_action": [bea["id"], abe["id"]]}
    )
    _, *rows = csv_rows(response)
    assert [r[0] for r in rows] == [bea["id"], abe["id"]]


def test_tickets_export_follows_the_stage_filter(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.seed_tickets(8)
    header, *rows = csv_rows(client_for(hubspot_staff).get(TICKETS + "export/", {"stage": CLOSED}))
    stage = header.index("hs_pipeline_stage")
    assert len(rows) == 2 and {r[stage] for r in rows} == {CLOSED}


def test_export_with_hubspot_down_says_so(hubspot_staff, hubspot_settings, fake_hubspot):
    fake_hubspot.faults.down()
    response = client_for(hubspot_staff).get(CONTACTS + "export/")
    assert response.status_code == 302
    assert shown(response)[0].startswith("Could not export from HubSpot:")


def test_an_export_of_25000_contacts_has_25000_rows(hubspot_staff, hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(25_000)
    before = fake_hubspot.count("POST", "/crm/objects/")
    _, *rows = csv_rows(client_for(hubspot_staff).get(CONTACTS + "export/"))
    assert len(rows) == 25_000
    assert len({r[0] for r in rows}) == 25_000
    searches = fake_hubspot.count("POST", "/crm/objects/") - before
    assert searches <= 25_000 // 200 + 5  # full pages, one new window per 10,000


# --- past the search cap ---------------------------------------------------------------------------
def test_a_sorted_list_pages_past_10000(hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(10_050)
    seen, after, pages = [], None, 0
    while True:
        page = contacts.list(
            limit=200, after=after, sort=("createdate", listing.DESC), with_total=True
        )
        seen.extend(r["id"] for r in page.results)
        pages += 1
        assert page.total == 10_050
        if not page.next_after:
            break
        after = page.next_after
    assert len(seen) == len(set(seen)) == 10_050
    assert pages == 51


def test_window_cursors_survive_bad_input():
    assert listing.decode_cursor("w12~zz~x")[0].bound == 12
    assert listing.decode_cursor("wx~~")[0].bound is None
    assert listing.decode_cursor("garbage")[1] is None
    window = listing.Window(5, {"1", "2"})
    assert listing.decode_cursor(listing.encode_cursor(window, "200")) == (window, "200")
