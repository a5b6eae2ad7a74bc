"""The HubSpot lists in a real browser: a bulk action, an export download, live search (and the
filter and sort links it leaves carrying the search)."""

import csv
import io

import pytest

from hubspot_integration.models import OutboxOperation
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACTS = "/admin/hubspot_integration/hubspotcontact/"


@pytest.fixture
def people(fake_hubspot, hubspot_settings):
    return [
        fake_hubspot.create_object(
            "contacts", {"email": f"{n.lower()}@example.com", "firstname": n, "lastname": "Lee"}
        )
        for n in ("Abe", "Bea", "Cleo")
    ]


def test_select_two_archive_and_confirm(page, hubspot_staff, people, fake_hubspot):
    login(page, hubspot_staff, next_url=CONTACTS)
    assert page.inner_text("#result-count") == "3 contacts"
    abe, bea, _ = people
    page.check(f"tr[data-id='{abe['id']}'] input.action-select")
    page.check(f"tr[data-id='{bea['id']}'] input.action-select")
    page.select_option("#action-select", "archive")
    page.click("#action-go")
    page.wait_for_load_state()
    listed = page.locator("#action-records li").all_inner_texts()
    assert listed == ["Abe Lee <abe@example.com>", "Bea Lee <bea@example.com>"]
    page.click("#confirm-action")
    page.wait_for_load_state()
    assert "2 contacts archived in HubSpot." in page.inner_text("ul.messagelist")
    assert page.locator("tr.contact-row").count() == 1
    assert {c["properties"]["email"] for c in fake_hubspot.objects("contacts")} == {
        "cleo@example.com"
    }
    assert OutboxOperation.objects.filter(kind="archive_contact", status="succeeded").count() == 2


def test_export_downloads_the_current_filter(page, hubspot_staff, people):
    login(page, hubspot_staff, next_url=CONTACTS + "?q=bea")
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename.startswith("hubspot-contacts-")
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        header, *rows = list(csv.reader(io.StringIO(handle.read())))
    assert header[:2] == ["ID", "Email"]
    assert [r[1] for r in rows] == ["bea@example.com"]


def test_live_search_narrows_the_list_as_you_type(page, hubspot_staff, people):
    login(page, hubspot_staff, next_url=CONTACTS)
    assert page.locator("tr.contact-row").count() == 3
    page.type("#searchbar", "cleo", delay=20)  # no Enter: the list follows the typing
    page.wait_for_function("document.querySelectorAll('tr.contact-row').length === 1")
    assert page.locator("tr.contact-row td.email").all_inner_texts() == ["cleo@example.com"]
    assert page.inner_text("#result-count") == "1 contact"
    assert "q=cleo" in page.url


def test_a_filter_chosen_after_a_live_search_keeps_the_search(page, hubspot_staff, people):
    login(page, hubspot_staff, next_url=CONTACTS)
    page.type("#searchbar", "cleo", delay=20)
    page.wait_for_function("document.querySelectorAll('tr.contact-row').length === 1")
    assert "q=cleo" in page.get_attribute("a.sort-link[data-column='email']", "href")
    page.click("#filter-created a:text-is('This year')")
    page.wait_for_load_state()
    assert "q=cleo" in page.url and "created=this_year" in page.url
    assert page.input_value("#searchbar") == "cleo"
    assert page.locator("tr.contact-row td.email").all_inner_texts() == ["cleo@example.com"]
    assert page.locator("#filter-created li.selected").inner_text() == "This year"
