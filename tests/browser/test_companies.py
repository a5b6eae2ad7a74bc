"""Staff work with HubSpot companies in a real browser, against the fake HubSpot."""

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPANIES = "/admin/hubspot_integration/hubspotcompany/"


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
        "deals", {"dealname": "Acme renewal"}, associations={"companies": [company["id"]]}
    )
    fake_hubspot.create_object("companies", {"name": "Globex", "domain": "globex.example"})
    return company


def test_companies_list_search_page_and_create(
    page, hubspot_staff, hubspot_settings, acme, fake_hubspot
):
    login(page, hubspot_staff, next_url="/admin/")
    page.click(f"a[href='{COMPANIES}']")  # from the admin index, as staff find it
    page.wait_for_load_state()
    assert page.locator("tr.company-row").count() == 2
    page.fill("#searchbar", "globex")
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()
    assert page.locator("tr.company-row th a").all_inner_texts() == ["Globex"]
    page.click("#clear-search")
    page.wait_for_load_state()

    page.click(f"tr.company-row[data-id='{acme['id']}'] th a")
    page.wait_for_load_state()
    assert page.input_value("#id_domain") == "acme.example"
    assert "Ann Lee <ann@example.com>" in page.inner_text("#related-contacts")
    assert "Acme renewal" in page.inner_text("#related-deals")
    page.click("#related-contacts li a >> nth=0")  # to the contact's own page in the panel
    page.wait_for_load_state()
    assert page.input_value("#id_email") == "ann@example.com"

    page.goto(COMPANIES)
    page.click("#add-company")
    page.fill("#id_name", "Initech")
    page.fill("#id_domain", "not a domain")
    page.click("#save")
    page.wait_for_load_state()
    assert "not a domain name" in page.inner_text(".field-domain .errorlist")
    page.fill("#id_domain", "www.initech.example")
    page.click("#save")
    page.wait_for_load_state()
    assert "Company Initech created." in page.inner_text("ul.messagelist")
    assert "initech.example" in page.inner_text("#result_list")
    assert {c["properties"]["name"] for c in fake_hubspot.objects("companies")} == {
        "Acme Hosting",
        "Globex",
        "Initech",
    }
