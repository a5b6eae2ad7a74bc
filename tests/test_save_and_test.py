""" "Save and test" on the settings page: what was typed is saved (as Save does) and then tested;
"Test connection" tests what is stored and never what the form holds."""

import pytest
from django.contrib.auth.models import Permission

from hubspot_integration.models import HubSpotSettings, SettingsAuditEntry
from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_SERVICE_KEY, FAKE_TOKEN
from tests.helpers import client_for
from tests.test_settings_admin import CHANGE_URL, TEST_URL, form_data

pytestmark = pytest.mark.django_db


def typed(**overrides):
    """A service key typed into an empty settings form, HubSpot switched on."""
    values = {
        "enabled": "on",
        "portal_id": str(FAKE_PORTAL_ID),
        "credential_type": "service_key",
        "new_token": FAKE_SERVICE_KEY,
        **overrides,
    }
    return form_data(**values)


def checked(fake_hubspot) -> bool:
    """Whether the connection check ran (its first call reads the account's details)."""
    return any(r.path.startswith("/account-info/") for r in fake_hubspot.requests)


def test_the_page_offers_both_and_says_which_tests_what(hubspot_admin):
    html = client_for(hubspot_admin).get(CHANGE_URL).content.decode()
    assert 'name="_saveandtest"' in html and 'value="Save and test"' in html
    # Inside the settings form, so it submits what was typed.
    form = html[html.index('id="hubspotsettings_form"') :]
    assert 'name="_saveandtest"' in form[: form.index("</form>")]
    assert "Test connection (stored settings)" in html
    assert "changes typed in the form below are not saved or tested" in html


def test_save_and_test_saves_what_was_typed_then_reports(hubspot_admin, fake_hubspot):
    client = client_for(hubspot_admin)
    response = client.post(CHANGE_URL, {**typed(), "_saveandtest": "Save and test"})
    assert response.status_code == 200
    assert "admin/hubspot_integration/hubspotsettings/test_connection.html" in [
        t.name for t in response.templates
    ]
    html = response.content.decode()
    assert "every check passed" in html
    assert "The HubSpot settings were saved." in html
    assert FAKE_SERVICE_KEY not in html
    s = HubSpotSettings.objects.get()
    assert s.access_token == FAKE_SERVICE_KEY and s.enabled and s.last_check_ok is True
    # The same audit as Save: who changed what, never the key.
    [entry] = SettingsAuditEntry.objects.all()
    assert entry.source == "admin" and entry.actor == hubspot_admin
    assert "token changed" in entry.summary and FAKE_SERVICE_KEY not in entry.summary
    # The check ran with the typed key.
    assert checked(fake_hubspot)
    assert any(
        r.headers.get("Authorization") == f"Bearer {FAKE_SERVICE_KEY}"
        for r in fake_hubspot.requests
    )


def test_save_and_test_with_errors_tests_nothing(hubspot_admin, hubspot_settings, fake_hubspot):
    before = HubSpotSettings.objects.get()
    response = client_for(hubspot_admin).post(
        CHANGE_URL, {**typed(portal_id="12ab"), "_saveandtest": "Save and test"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "digits" in html and 'id="connection-checks"' not in html
    assert 'name="_saveandtest"' in html  # the form again, with its errors
    assert not checked(fake_hubspot)
    after = HubSpotSettings.objects.get()
    assert (after.portal_id, after.access_token) == (before.portal_id, FAKE_TOKEN)
    assert not SettingsAuditEntry.objects.exists()


def test_save_still_only_saves(hubspot_admin, fake_hubspot):
    response = client_for(hubspot_admin).post(CHANGE_URL, typed())
    assert response.status_code == 302
    assert HubSpotSettings.objects.get().access_token == FAKE_SERVICE_KEY
    assert not checked(fake_hubspot)


def test_test_connection_ignores_what_the_form_holds(hubspot_admin, hubspot_settings):
    """Its own form posts nothing of the settings form: the stored token is what is tested."""
    response = client_for(hubspot_admin).post(TEST_URL, typed(new_token="typed-but-not-saved"))
    assert response.status_code == 200
    assert "every check passed" in response.content.decode()
    assert HubSpotSettings.objects.get().access_token == FAKE_TOKEN


def test_save_and_test_needs_the_test_permission(django_user_model, fake_hubspot):
    """May change the settings but not test them: no button, and a forged press changes nothing."""
    user = django_user_model.objects.create_user("editor", password="x", is_staff=True)
    for codename in ("view_hubspotsettings", "change_hubspotsettings"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = client_for(user)
    page = client.get(CHANGE_URL)
    assert page.status_code == 200 and 'name="_saveandtest"' not in page.content.decode()
    response = client.post(CHANGE_URL, {**typed(), "_saveandtest": "Save and test"})
    assert response.status_code == 403
    assert HubSpotSettings.objects.get().access_token == ""
    assert not checked(fake_hubspot)
    assert client.post(CHANGE_URL, typed()).status_code == 302  # Save itself is theirs


@pytest.mark.parametrize("who", ["staff", "plain_staff"])
def test_save_and_test_is_refused_without_the_settings_permission(users, who, fake_hubspot):
    response = client_for(users[who]).post(CHANGE_URL, {**typed(), "_saveandtest": "1"})
    assert response.status_code == 403
    stored = HubSpotSettings.objects.first()
    assert stored is None or not stored.access_token
    assert not checked(fake_hubspot)
