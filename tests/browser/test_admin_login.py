"""The browser reaches the admin and the settings page renders with its test button."""

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_tests_the_connection_in_the_browser(page, hubspot_admin, hubspot_settings):
    login(page, hubspot_admin, next_url="/admin/hubspot_integration/hubspotsettings/")
    assert "HubSpot settings" in page.content()
    assert "pat-…5555" in page.content()
    page.click("#test-connection")
    page.wait_for_selector("#connection-checks")
    assert "every check passed" in page.inner_text("#check-summary")
    names = page.locator("#connection-checks tbody tr td:first-child").all_inner_texts()
    assert names[:3] == ["credential", "api_version", "token"]
    assert "scopes" in names and "legacy_endpoints" in names and "rate_limit" in names


def test_staff_cannot_open_the_settings(page, hubspot_staff):
    login(page, hubspot_staff, next_url="/admin/")
    response = page.goto("/admin/hubspot_integration/hubspotsettings/1/change/")
    assert response.status == 403
