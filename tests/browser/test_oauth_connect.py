"""Connect with HubSpot in a real browser: the settings page, the fake's consent page, and back."""

import pytest

from hubspot_integration.models import CredentialType, HubSpotSettings
from tests.browser.conftest import login
from tests.fake_hubspot import FAKE_APP_NAME, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_PORTAL_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETTINGS_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"


def test_admin_connects_with_hubspot_then_disconnects(page, hubspot_admin, fake_hubspot, settings):
    settings.HUBSPOT_OAUTH_AUTHORIZE_URL = fake_hubspot.url + "/oauth/authorize"
    login(page, hubspot_admin, next_url=SETTINGS_URL)
    assert "Not connected" in page.inner_text("#oauth-status")
    assert page.is_disabled("#oauth-connect")  # nothing to connect with yet
    assert page.inner_text("#oauth-redirect-uri").endswith("/hubspot/oauth/callback/")

    page.fill("#id_oauth_client_id", FAKE_CLIENT_ID)
    page.fill("#id_new_oauth_client_secret", FAKE_CLIENT_SECRET)
    page.click("input[name=_continue]")
    page.wait_for_load_state()
    assert "was changed successfully" in page.inner_text("ul.messagelist")
    assert FAKE_CLIENT_SECRET not in page.content()

    page.click("#oauth-connect")
    page.wait_for_selector("#consent")
    assert page.url.startswith(fake_hubspot.url + "/oauth/authorize?")
    assert page.inner_text("#app-name") == FAKE_APP_NAME
    assert "crm.objects.contacts.write" in page.inner_text("#scopes")
    page.click("#authorize")
    page.wait_for_selector("#oauth-status")

    assert page.url.endswith(SETTINGS_URL)
    assert f"Connected with HubSpot: portal {FAKE_PORTAL_ID}." in page.inner_text("ul.messagelist")
    assert page.inner_text("#oauth-status").startswith("Connected")
    s = HubSpotSettings.objects.get()
    assert s.credential_type == CredentialType.OAUTH and s.oauth_refresh_token
    assert s.oauth_access_token not in page.content()
    assert s.oauth_refresh_token not in page.content()

    page.click("#oauth-disconnect")
    page.wait_for_load_state()
    assert "Disconnected from HubSpot" in page.inner_text("ul.messagelist")
    assert page.locator("#oauth-disconnect").count() == 0
    assert "Not connected" in page.inner_text("#oauth-status")
    assert fake_hubspot.oauth.revocations == 1
    assert HubSpotSettings.objects.get().oauth_refresh_token == ""


def test_cancel_on_hubspots_page_changes_nothing(page, hubspot_admin, fake_hubspot, settings):
    settings.HUBSPOT_OAUTH_AUTHORIZE_URL = fake_hubspot.url + "/oauth/authorize"
    s = HubSpotSettings.load()
    s.oauth_client_id, s.oauth_client_secret = FAKE_CLIENT_ID, FAKE_CLIENT_SECRET
    s.save()
    login(page, hubspot_admin, next_url=SETTINGS_URL)
    page.click("#oauth-connect")
    page.wait_for_selector("#consent")
    page.click("#cancel")
    page.wait_for_selector("#oauth-status")
    assert "access_denied" in page.inner_text("ul.messagelist")
    assert "Not connected" in page.inner_text("#oauth-status")
    assert HubSpotSettings.objects.get().oauth_refresh_token == ""
