"""The CRM dashboard in a real browser: figures, the pipeline chart, Refresh, a failing card."""

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

URL = "/admin/hubspot_integration/crmdashboard/"


@pytest.fixture
def seeded(hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(2500)
    fake_hubspot.seed_deals(350, pipelines=2)
    fake_hubspot.seed_tickets(120)
    return fake_hubspot


def test_dashboard_renders_with_its_chart(page, hubspot_staff, seeded):
    login(page, hubspot_staff, next_url=URL)
    assert page.inner_text("#contacts-count") == "2500"
    assert page.inner_text("#deals-count") == "350"
    charts = page.locator("svg.pipeline-chart")
    assert charts.count() == 2
    # The bars are drawn: each stage with deals has a visible rect with a width.
    bars = page.locator("svg.pipeline-chart rect")
    assert bars.count() == 11
    box = charts.first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    widths = [float(bars.nth(i).get_attribute("width")) for i in range(bars.count())]
    assert max(widths) > 100
    calls = seeded.count()
    page.click("#dashboard-refresh")
    page.wait_for_load_state()
    assert "refreshed" in page.content()
    assert seeded.count() > calls


def test_dashboard_survives_one_failing_card(page, hubspot_staff, seeded):
    seeded.faults.fail_next(50, status=503, path_prefix="/crm/objects/2026-09/deals")
    login(page, hubspot_staff, next_url=URL)
    assert "server error (503)" in page.inner_text("#card-pipeline")
    assert page.locator("svg.pipeline-chart").count() == 0
    assert page.inner_text("#tickets-open").isdigit()
    assert page.locator("#card-recent-contacts tr.recent-contact").count() == 10
    assert page.inner_text("#page-views").isdigit()
