"""The dashboard's support card in a real browser: its SVG charts drawn, labels and legend read."""

import pytest

from tests.browser.conftest import login
from tests.test_support_analytics import seed_chats, seed_support

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

URL = "/admin/hubspot_integration/crmdashboard/"


def test_support_charts_render_with_readable_labels(
    page, hubspot_staff, hubspot_settings, fake_hubspot
):
    seed_support(fake_hubspot, 600)
    seed_chats(fake_hubspot)
    login(page, hubspot_staff, next_url=f"{URL}?period=7")
    card = page.locator("#card-support")
    assert "Support, last 7 days" in card.inner_text()
    assert int(page.inner_text("#support-opened")) > 0
    assert page.inner_text("#support-chats-opened") == "6"
    per_day = page.locator("svg#support-tickets-per-day")
    box = per_day.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    # Two bars a day, opened solid and closed hatched; the legend names both.
    assert page.locator("svg#support-tickets-per-day rect.bar").count() == 14
    legend = page.locator("svg#support-tickets-per-day .legend-label").all_text_contents()
    assert legend == ["Opened", "Closed"]
    hatched = page.locator("svg#support-tickets-per-day rect.series-closed").first
    assert "hatch" in hatched.get_attribute("fill")
    stages = page.locator("svg#support-by-stage .bar-label").all_text_contents()
    assert "Support Pipeline: New" in stages and "Billing: Received" in stages
    priorities = page.locator("svg#support-by-priority .bar-label").all_text_contents()
    assert priorities[:4] == ["Low", "Medium", "High", "Urgent"]
    times = page.locator("svg#support-times .bar-label").all_text_contents()
    assert times == [
        "Ticket close, median",
        "Ticket close, 90th percentile",
        "Chat first reply, median",
    ]
    # The label text is laid out inside the chart, not clipped away.
    label = page.locator("svg#support-by-priority .bar-label").first.bounding_box()
    assert (
        label
        and label["width"] > 10
        and label["x"] >= page.locator("svg#support-by-priority").bounding_box()["x"]
    )
    assert page.locator("svg#support-chats-per-day rect.bar").count() == 14
