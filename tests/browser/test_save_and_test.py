"""Save and test in a real browser: a service key typed into the settings form is saved and
tested in one press, and the report says every check passed."""

import pytest

from hubspot_integration.models import CredentialType, HubSpotSettings, SettingsAuditEntry
from tests.browser.conftest import login
from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_SERVICE_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETTINGS_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"


def test_admin_types_a_service_key_and_presses_save_and_test(page, hubspot_admin, fake_hubspot):
    login(page, hubspot_admin, next_url=SETTINGS_URL)
    assert "No token is stored" in page.content()
    assert "stored settings" in page.inner_text("#test-connection")

    page.check("#id_enabled")
    page.fill("#id_portal_id", str(FAKE_PORTAL_ID))
    page.select_option("#id_credential_type", CredentialType.SERVICE_KEY)
    page.fill("#id_new_token", FAKE_SERVICE_KEY)
    page.click("#save-and-test")
    page.wait_for_selector("#connection-checks")

    assert "every check passed" in page.inner_text("#check-summary")
    assert "The HubSpot settings were saved." in page.inner_text("ul.messagelist")
    results = page.locator("#connection-checks tbody tr td:nth-child(2)").all_inner_texts()
    assert results and all("OK" in r for r in results)
    assert FAKE_SERVICE_KEY not in page.content()

    s = HubSpotSettings.objects.get()
    assert s.access_token == FAKE_SERVICE_KEY
    assert s.credential_type == CredentialType.SERVICE_KEY and s.enabled
    assert s.last_check_ok is True
    assert "token changed" in SettingsAuditEntry.objects.get().summary

    page.click("text=Back to the settings")
    page.wait_for_load_state()
    assert "Stored: " in page.content()  # the masked key, never the key
    assert FAKE_SERVICE_KEY not in page.content()
