"""The admin index shows the connection watch's banner after a failing check."""

import pytest

from hubspot_integration.services.sweep import sweep
from tests.browser.conftest import login
from tests.fake_hubspot import FAKE_TOKEN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_admin_index_shows_the_banner_after_a_failing_check(
    page, superuser, hubspot_settings, fake_hubspot
):
    fake_hubspot.revoke_token(FAKE_TOKEN)
    sweep()
    login(page, superuser, next_url="/admin/")
    banner = page.locator("#hubspot-connection-banner")
    banner.wait_for()
    assert "HubSpot connection failing since" in banner.inner_text()
    assert "Wrong token" in banner.inner_text()
    banner.get_by_role("link", name="Open the HubSpot settings").click()
    page.wait_for_url("**/hubspotsettings/1/change/")
    assert page.locator("#hubspot-connection-banner").is_visible()
