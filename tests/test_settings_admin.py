"""The admin settings page: who may see it, the write-only token, validation and the audit log."""

import pytest
from django.urls import reverse

from hubspot_integration.models import HubSpotSettings, SettingsAuditEntry
from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN
from tests.helpers import client_for

CHANGE_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"
LIST_URL = "/admin/hubspot_integration/hubspotsettings/"
TEST_URL = "/admin/hubspot_integration/hubspotsettings/test-connection/"
AUDIT_URL = "/admin/hubspot_integration/settingsauditentry/"
TOKEN = "pat-na1-aaaabbbb-cccc-dddd-eeee-ffff00001234"


def form_data(**overrides):
    data = {
        "enabled": "",
        "portal_id": "",
        "credential_type": "service_key",
        "oauth_client_id": "",
        "new_token": "",
        "chat_enabled": "",
        "tickets_enabled": "",
        "ticket_form_id": "",
        "contact_form_id": "",
        "default_ticket_pipeline": "",
        "default_ticket_stage": "",
        "script_url_override": "",
        "wait_for_consent": "",
        "new_webhook_secret": "",
        "rate_limit_per_10s": "100",
        "dashboard_cache_seconds": "300",
        "user_sync_enabled": "on",  # the page shows it ticked (its default)
    }
    data.update(overrides)
    # An unticked checkbox is absent from a real POST, so empty values are left out.
    return {k: v for k, v in data.items() if v != ""}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who,expected",
    [
        (None, 302),  # to the login page
        ("customer", 302),  # not staff: the admin sends them to log in
        ("plain_staff", 403),
        ("staff", 403),  # HubSpot staff work with contacts, not settings
        ("admin", 200),
        ("superuser", 200),
    ],
)
def test_settings_page_permissions(users, who, expected):
    client = client_for(users.get(who) if who else None)
    response = client.get(CHANGE_URL)
    assert response.status_code == expected
    if expected == 302:
        assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who,expected", [(None, 302), ("customer", 302), ("staff", 403), ("admin", 302)]
)
def test_changelist_redirects_admins_to_the_single_row(users, who, expected):
    response = client_for(users.get(who) if who else None).get(LIST_URL)
    assert response.status_code == expected
    if who == "admin":
        assert response["Location"] == CHANGE_URL


@pytest.mark.django_db
def test_no_add_or_delete(hubspot_admin, superuser):
    for user in (hubspot_admin, superuser):
        client = client_for(user)
        assert client.get(LIST_URL + "add/").status_code == 403
        assert client.get(CHANGE_URL.replace("change/", "delete/")).status_code == 403


@pytest.mark.django_db
def test_token_is_masked_and_never_in_the_html(hubspot_admin):
    s = HubSpotSettings.load()
    s.access_token = TOKEN
    s.save()
    html = client_for(hubspot_admin).get(CHANGE_URL).content.decode()
    assert TOKEN not in html
    assert "aaaabbbb" not in html
    assert "pat-…1234" in html


@pytest.mark.django_db
def test_saving_with_blank_token_keeps_it_and_audits(hubspot_admin):
    client = client_for(hubspot_admin)
    response = client.post(CHANGE_URL, form_data(portal_id="123", new_token=TOKEN))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert HubSpotSettings.objects.get().access_token == TOKEN

    response = client.post(CHANGE_URL, form_data(portal_id="456", enabled="on"))
    assert response.status_code == 302
    stored = HubSpotSettings.objects.get()
    assert stored.access_token == TOKEN and stored.portal_id == "456" and stored.enabled
    assert HubSpotSettings.load().portal_id == "456"  # the cache saw the save

    entries = list(SettingsAuditEntry.objects.order_by("pk"))
    assert [e.actor_name for e in entries] == ["ada", "ada"]
    assert "token changed" in entries[0].summary
    assert entries[0].changed_fields == ["portal_id", "access_token"]
    assert "token" not in entries[1].summary and "portal ID" in entries[1].summary
    for e in entries:
        assert TOKEN not in f"{e.summary}{e.changed_fields}"


@pytest.mark.django_db
def test_clear_token(hubspot_admin):
    s = HubSpotSettings.load()
    s.access_token = TOKEN
    s.save()
    response = client_for(hubspot_admin).post(CHANGE_URL, form_data(clear_token="on"))
    assert response.status_code == 302
    assert HubSpotSettings.objects.get().access_token == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data,field,words",
    [
        ({"portal_id": "12ab"}, "portal_id", "digits only"),
        ({"new_token": "two words"}, "new_token", "no spaces"),
        ({"new_token": "x" * 3000}, "new_token", "too long"),
        ({"ticket_form_id": "abc"}, "ticket_form_id", "UUID"),
        ({"enabled": "on", "portal_id": "1"}, "new_token", "before enabling"),
        ({"enabled": "on", "new_token": TOKEN}, "portal_id", "before enabling"),
    ],
)
def test_bad_input_is_refused_naming_the_field(hubspot_admin, data, field, words):
    response = client_for(hubspot_admin).post(CHANGE_URL, form_data(**data))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert words in " ".join(errors[field])
    assert not SettingsAuditEntry.objects.exists()
    assert HubSpotSettings.objects.get().enabled is False


@pytest.mark.django_db
def test_rejected_token_is_not_echoed_back(hubspot_admin):
    bad = "pat-na1-this-has spaces-in-it-0000"
    html = client_for(hubspot_admin).post(CHANGE_URL, form_data(new_token=bad)).content.decode()
    assert "this-has spaces" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who,expected", [(None, 302), ("customer", 302), ("staff", 403), ("admin", 200)]
)
def test_audit_log_is_read_only_for_admins(users, who, expected):
    client = client_for(users.get(who) if who else None)
    assert client.get(AUDIT_URL).status_code == expected
    if who == "admin":
        assert client.get(AUDIT_URL + "add/").status_code == 403


@pytest.mark.django_db
def test_test_connection_button_reports_each_check(hubspot_admin, hubspot_settings):
    client = client_for(hubspot_admin)
    page = client.get(CHANGE_URL).content.decode()
    assert 'id="test-connection"' in page
    response = client.post(TEST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("token", "portal_id", "region", "scopes", "rate_limit", "round_trip"):
        assert f"check-{name}" in html
    assert "every check passed" in html
    assert FAKE_TOKEN not in html
    assert str(FAKE_PORTAL_ID) in html


@pytest.mark.django_db
def test_test_connection_shows_a_wrong_token_plainly(hubspot_admin, hubspot_settings):
    HubSpotSettings.objects.filter(pk=1).delete()
    s = HubSpotSettings.load()
    s.portal_id = str(FAKE_PORTAL_ID)
    s.access_token = "pat-na1-00000000-0000-0000-0000-000000000000"
    s.save()
    html = client_for(hubspot_admin).post(TEST_URL).content.decode()
    assert "Wrong token" in html
    assert "00000000-0000" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("who,expected", [(None, 302), ("staff", 403), ("plain_staff", 403)])
def test_test_connection_needs_the_permission(users, who, expected, hubspot_settings):
    assert client_for(users.get(who) if who else None).post(TEST_URL).status_code == expected


def test_reverse_names():
    assert reverse("admin:hubspot_integration_hubspotsettings_test") == TEST_URL
