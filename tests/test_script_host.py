"""The tracking-script URL override: HubSpot's hosts for HubSpot admins, any other host only for a
superuser (the CSP lets that host run script on every customer page), and a warning when one is set."""

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from hubspot_integration.checks import check_script_host
from hubspot_integration.csp import hubspot_sources
from hubspot_integration.models import (
    HubSpotSettings,
    SettingsAuditEntry,
    validate_script_url_override,
)
from hubspot_integration.services.settings import save_settings
from tests.fake_hubspot import FAKE_PORTAL_ID
from tests.helpers import client_for
from tests.test_settings_admin import CHANGE_URL, form_data

PORTAL = str(FAKE_PORTAL_ID)
FOREIGN = "https://cdn.attacker.example/hs.js"
UPDATE = "/api/admin/settings/hubspot"

HUBSPOT_URLS = [
    f"https://js.hs-scripts.com/{PORTAL}.js",
    f"https://js-na2.hs-scripts.com/{PORTAL}.js",
    f"https://js-eu1.hs-scripts.com/{PORTAL}.js",
    f"https://js-ap1.hs-scripts.com/{PORTAL}.js",
    f"https://JS-EU1.HS-SCRIPTS.COM/{PORTAL}.js",
]
# Each is refused for everyone, superusers included.
MALFORMED = [
    "javascript:alert(1)",
    "data:text/javascript,alert(1)",
    "http://cdn.attacker.example/hs.js",
    "https://user:pass@cdn.attacker.example/hs.js",
    f"https://js.hs-scripts.com@attacker.example/{PORTAL}.js",
    "//cdn.attacker.example/hs.js",
    f"http://js.hs-scripts.com/{PORTAL}.js",  # HubSpot's host, but not https
    f"https://js.hs-scripts.com/{PORTAL}.js?x=1",
    f"https://js.hs-scripts.com:8443/{PORTAL}.js",
    f"https://js.hs-scripts.com/{PORTAL}.js#x",
    "https://js.hs-scripts.com/99999.js",  # another portal's tracking code
    "https://js.hs-scripts.com/loader/evil.js",
    "https://js-eu1.hs-scripts.com/",
]
# Not HubSpot's, however they look: foreign hosts (a superuser may set them, no one else).
LOOKALIKES = [
    FOREIGN,
    f"https://js.hs-scripts.com.attacker.example/{PORTAL}.js",
    f"https://evil.hs-scripts.com/{PORTAL}.js",
    f"https://js-evil.hs-scripts.com/{PORTAL}.js",
    f"https://jshs-scripts.com/{PORTAL}.js",
    f"https://hs-scripts.com/{PORTAL}.js",
    f"https://js.hs-scripts.co/{PORTAL}.js",
]


def _refusal(value, actor, stored=""):
    try:
        validate_script_url_override(value, portal_id=PORTAL, actor=actor, stored=stored)
    except ValidationError as err:
        assert list(err.message_dict) == ["script_url_override"]
        return " ".join(err.message_dict["script_url_override"])
    return None


# --- the rule -------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("url", HUBSPOT_URLS)
def test_hubspot_hosts_are_accepted_from_a_hubspot_admin(hubspot_admin, url):
    assert _refusal(url, hubspot_admin) is None


@pytest.mark.django_db
@pytest.mark.parametrize("url", LOOKALIKES)
def test_other_hosts_only_from_a_superuser(hubspot_admin, superuser, url):
    assert "only a superuser" in _refusal(url, hubspot_admin)
    assert "only a superuser" in _refusal(url, None)  # nobody known: refused
    assert _refusal(url, superuser) is None


@pytest.mark.django_db
@pytest.mark.parametrize("url", MALFORMED)
def test_malformed_or_wrong_portal_urls_are_refused_for_everyone(superuser, url):
    assert _refusal(url, superuser)


@pytest.mark.django_db
def test_an_inactive_superuser_is_not_a_superuser(superuser):
    superuser.is_active = False
    assert _refusal(FOREIGN, superuser)


@pytest.mark.django_db
def test_a_stored_value_stays_but_cannot_be_changed_by_a_hubspot_admin(hubspot_admin):
    assert _refusal(FOREIGN, hubspot_admin, stored=FOREIGN) is None
    assert _refusal("https://other.attacker.example/x.js", hubspot_admin, stored=FOREIGN)
    assert _refusal("", hubspot_admin, stored=FOREIGN) is None  # clearing it is always fine


# --- the admin page -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_admin_form_refuses_a_foreign_host_from_a_hubspot_admin(hubspot_admin):
    response = client_for(hubspot_admin).post(
        CHANGE_URL, form_data(portal_id=PORTAL, script_url_override=FOREIGN)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["script_url_override"]
    assert "only a superuser" in " ".join(errors["script_url_override"])
    assert HubSpotSettings.objects.get().script_url_override == ""
    assert not SettingsAuditEntry.objects.exists()


@pytest.mark.django_db
def test_admin_form_accepts_hubspots_regional_host_from_a_hubspot_admin(hubspot_admin):
    url = f"https://js-eu1.hs-scripts.com/{PORTAL}.js"
    response = client_for(hubspot_admin).post(
        CHANGE_URL, form_data(portal_id=PORTAL, script_url_override=url)
    )
    assert response.status_code == 302
    assert HubSpotSettings.objects.get().script_url_override == url


@pytest.mark.django_db
def test_admin_form_accepts_a_foreign_host_from_a_superuser(superuser):
    response = client_for(superuser).post(
        CHANGE_URL, form_data(portal_id=PORTAL, script_url_override=FOREIGN)
    )
    assert response.status_code == 302
    assert HubSpotSettings.objects.get().script_url_override == FOREIGN
    assert SettingsAuditEntry.objects.get().actor_name == "root"


@pytest.mark.django_db
def test_hubspot_admin_keeps_working_with_a_superusers_host(superuser, hubspot_admin):
    client_for(superuser).post(CHANGE_URL, form_data(portal_id=PORTAL, script_url_override=FOREIGN))
    admin = client_for(hubspot_admin)
    # Another setting changes; the superuser's host, sent back unchanged, stays.
    response = admin.post(
        CHANGE_URL, form_data(portal_id=PORTAL, script_url_override=FOREIGN, chat_enabled="on")
    )
    assert response.status_code == 302
    assert HubSpotSettings.objects.get().chat_enabled is True
    # Another foreign host: refused. Clearing it: fine.
    response = admin.post(
        CHANGE_URL,
        form_data(portal_id=PORTAL, script_url_override="https://other.attacker.example/x.js"),
    )
    assert "script_url_override" in response.context["adminform"].form.errors
    assert HubSpotSettings.objects.get().script_url_override == FOREIGN
    assert admin.post(CHANGE_URL, form_data(portal_id=PORTAL)).status_code == 302
    assert HubSpotSettings.objects.get().script_url_override == ""


# --- the settings API -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_api_refuses_a_foreign_host_from_a_hubspot_admin_with_a_400(hubspot_admin):
    for client in (client_for(hubspot_admin), _token_client(hubspot_admin)):
        response = client.put(
            UPDATE,
            {"portalId": PORTAL, "scriptUrlOverride": FOREIGN},
            content_type="application/json",
        )
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["success"] is False
        assert list(body["details"]) == ["scriptUrlOverride"]
        assert "only a superuser" in " ".join(body["details"]["scriptUrlOverride"])
    assert HubSpotSettings.objects.get().script_url_override == ""


@pytest.mark.django_db
def test_api_accepts_a_foreign_host_from_a_superuser_with_a_token(superuser):
    response = _token_client(superuser).put(
        UPDATE, {"portalId": PORTAL, "scriptUrlOverride": FOREIGN}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert HubSpotSettings.objects.get().script_url_override == FOREIGN


def _token_client(user):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


# --- the service: the last word, with the actor it is given ----------------------------------------
@pytest.mark.django_db
def test_save_settings_judges_for_its_actor_whoever_the_request_is(hubspot_admin, superuser):
    s = HubSpotSettings.objects.get_or_create(pk=1)[0]
    s.portal_id, s.script_url_override = PORTAL, FOREIGN
    with pytest.raises(ValidationError) as refused:
        save_settings(s, actor=hubspot_admin, source="api")
    assert list(refused.value.message_dict) == ["script_url_override"]
    assert HubSpotSettings.objects.get().script_url_override == ""
    save_settings(s, actor=superuser, source="admin")
    assert HubSpotSettings.objects.get().script_url_override == FOREIGN


@pytest.mark.django_db
def test_save_settings_compares_with_the_stored_row_not_a_stale_copy(hubspot_admin):
    stale = HubSpotSettings.objects.get_or_create(pk=1)[0]
    stale.portal_id, stale.script_url_override = PORTAL, FOREIGN
    stale._stored_script_url = FOREIGN  # as if read while a superuser's host was stored
    with pytest.raises(ValidationError, match="only a superuser"):
        save_settings(stale, actor=hubspot_admin, source="api")


@pytest.mark.django_db
def test_request_user_is_the_actor_of_model_validation(hubspot_admin, superuser):
    from hubspot_integration.actor import CurrentRequestMiddleware

    def validate(user):
        s = HubSpotSettings(portal_id=PORTAL, script_url_override=FOREIGN)
        request = RequestFactory().get("/")
        request.user = user

        def view(request):
            try:
                s.full_clean()
            except ValidationError as err:
                return err.message_dict
            return {}

        return CurrentRequestMiddleware(view)(request)

    assert "script_url_override" in validate(hubspot_admin)
    assert validate(superuser) == {}


# --- what a customer page gets --------------------------------------------------------------------
def _chat_settings(**values):
    return HubSpotSettings(enabled=True, portal_id=PORTAL, chat_enabled=True, **values)


HUBSPOT_DOMAINS = (
    "hs-scripts.com",
    "hs-analytics.net",
    "hs-banner.com",
    "hscollectedforms.net",
    "usemessages.com",
    "hubspot.com",
    "hubapi.com",
)


def test_csp_allows_only_hubspot_hosts_by_default():
    sources = hubspot_sources(_chat_settings())
    hosts = {h for values in sources.values() for h in values}
    assert hosts and all(h.endswith(HUBSPOT_DOMAINS) for h in hosts), hosts


@pytest.mark.parametrize(
    "override",
    [
        "javascript:alert(1)",
        "http://cdn.attacker.example/x.js",
        "https://u:p@cdn.attacker.example/x.js",
    ],
)
def test_an_override_the_page_ignores_adds_nothing_to_the_csp(override):
    sources = hubspot_sources(_chat_settings(script_url_override=override))
    assert "attacker" not in repr(sources) and "" not in sources["script-src"]
    assert "js.hs-scripts.com" in sources["script-src"]


def test_a_region_that_is_not_a_region_adds_no_host():
    # Written by the connection check from HubSpot's answer; never trusted as part of a host name.
    sources = hubspot_sources(_chat_settings(data_hosting_region="eu1 attacker.example"))
    assert "attacker" not in repr(sources)
    assert "js.hs-scripts.com" in sources["script-src"]


def test_a_superusers_host_is_in_the_csp_by_host_only():
    sources = hubspot_sources(
        _chat_settings(script_url_override="https://cdn.example.com:8443/x.js")
    )
    assert "cdn.example.com:8443" in sources["script-src"]


# --- the system check -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_system_check_warns_about_a_foreign_script_host():
    assert check_script_host(None, databases=["default"]) == []
    HubSpotSettings.objects.update_or_create(
        pk=1, defaults={"script_url_override": f"https://js-eu1.hs-scripts.com/{PORTAL}.js"}
    )
    assert check_script_host(None, databases=["default"]) == []
    HubSpotSettings.objects.filter(pk=1).update(script_url_override=FOREIGN)
    [warning] = check_script_host(None, databases=["default"])
    assert warning.id == "hubspot.W002" and "cdn.attacker.example" in warning.msg
    # Registered as a database check: `check --database default` and `migrate` run it.
    assert "hubspot.W002" in [m.id for m in run_checks(databases=["default"])]
    assert "hubspot.W002" not in [m.id for m in run_checks()]
