"""Every kind of credential HubSpot issues for one account: stored, masked, redacted, connected."""

import logging

import pytest

from hubspot_integration.logging import RedactSecretsFilter
from hubspot_integration.models import CredentialType, HubSpotSettings
from hubspot_integration.services.connection import check_connection
from tests.fake_hubspot import FAKE_APP_TOKEN, FAKE_PORTAL_ID, FAKE_SERVICE_KEY, FAKE_TOKEN
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

UPDATE = "/api/admin/settings/hubspot"
CONFIG = "/api/admin/settings/hubspot/config"
CHANGE_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"


def _raw_column(name):
    """The column as stored, bypassing the field's decryption."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {name} FROM hubspot_integration_hubspotsettings")  # noqa: S608
        return cursor.fetchone()[0]


def by_name(report):
    return {c.name: c for c in report.checks}


def _use(s, token, kind):
    s.enabled = True
    s.portal_id = str(FAKE_PORTAL_ID)
    s.credential_type = kind
    s.access_token = token
    s.save()
    return s


def test_a_service_key_saves_through_the_api_and_connects(hubspot_admin, fake_hubspot):
    assert not FAKE_SERVICE_KEY.startswith("pat-")
    client = client_for(hubspot_admin)
    body = {
        "enabled": True,
        "portalId": str(FAKE_PORTAL_ID),
        "credentialType": "service_key",
        "apiKey": FAKE_SERVICE_KEY,
    }
    response = client.put(UPDATE, body, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert FAKE_SERVICE_KEY not in response.content.decode()
    data = response.json()["data"]
    assert data["credentialType"] == "service_key"
    assert data["apiKeyMasked"] == f"{FAKE_SERVICE_KEY[:4]}…{FAKE_SERVICE_KEY[-4:]}"

    response = client.post(UPDATE + "/test-connection")
    report = response.json()
    assert report["success"], report
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["credential"]["message"].startswith("Service key")
    # A service key has no token-info: the check probed each feature's endpoint instead.
    assert "probed" in checks["scopes"]["message"]
    assert fake_hubspot.count("POST", "/oauth/v2/private-apps") == 0


def test_a_service_key_saves_through_the_admin_form(hubspot_admin, fake_hubspot):
    response = client_for(hubspot_admin).post(
        CHANGE_URL,
        {
            "enabled": "on",
            "portal_id": str(FAKE_PORTAL_ID),
            "credential_type": "service_key",
            "new_token": FAKE_SERVICE_KEY,
            "rate_limit_per_10s": "100",
            "dashboard_cache_seconds": "300",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = HubSpotSettings.objects.get()
    assert stored.credential_type == CredentialType.SERVICE_KEY
    assert stored.access_token == FAKE_SERVICE_KEY
    assert check_connection().success


def test_the_settings_page_explains_which_kind_to_choose(hubspot_admin):
    html = client_for(hubspot_admin).get(CHANGE_URL).content.decode()
    assert "Service key (recommended for new accounts" in html
    assert "Webhooks" in html and "client secret" in html


def test_an_app_static_token_connects_and_is_probed(hubspot_settings, fake_hubspot):
    _use(hubspot_settings, FAKE_APP_TOKEN, CredentialType.APP_STATIC_TOKEN)
    report = check_connection()
    assert report.success, report
    assert "static token" in by_name(report)["credential"].message


def test_a_private_app_token_is_read_by_token_info(hubspot_settings, fake_hubspot):
    _use(hubspot_settings, FAKE_TOKEN, CredentialType.PRIVATE_APP)
    report = check_connection()
    assert report.success, report
    checks = by_name(report)
    assert "read by token-info" in checks["scopes"].message
    assert "September 2027" in checks["credential"].message
    assert "access-token-info" in checks["legacy_endpoints"].message


def test_a_service_key_stored_as_a_private_app_still_gets_its_scopes_probed(
    hubspot_settings, fake_hubspot
):
    _use(hubspot_settings, FAKE_SERVICE_KEY, CredentialType.PRIVATE_APP)
    check = by_name(check_connection())["scopes"]
    assert check.ok and "token-info refused it" in check.message


def test_missing_scopes_of_a_service_key_are_named_by_probing(hubspot_settings, fake_hubspot):
    key = "svc-limited-0f3c9a7e5b1d4c2a8e6f"
    fake_hubspot.add_token(key, scopes=["crm.objects.contacts.read"], kind="service_key")
    _use(hubspot_settings, key, CredentialType.SERVICE_KEY)
    hubspot_settings.tickets_enabled = True
    hubspot_settings.chat_enabled = True
    hubspot_settings.save()
    report = check_connection()
    check = by_name(report)["scopes"]
    assert not check.ok
    for expected in (
        "crm.objects.contacts.write (for contacts)",
        "tickets (for tickets)",
        "crm.objects.owners.read (for owners)",
        "conversations.visitor_identification.tokens.create (for visitor identification)",
        "crm.objects.deals.read (for dashboard)",
        "business-intelligence (for analytics)",
    ):
        assert expected in check.message, check.message
    assert "crm.objects.contacts.read (" not in check.message
    # The probes changed nothing in HubSpot.
    assert fake_hubspot.objects("contacts") == []
    assert report.message.startswith("Connection check failed (scopes)")


def test_webhooks_need_an_apps_secret_the_check_says_so(hubspot_settings, fake_hubspot):
    _use(hubspot_settings, FAKE_SERVICE_KEY, CredentialType.SERVICE_KEY)
    check = by_name(check_connection())["webhooks"]
    assert "service key cannot receive webhooks" in check.message


def test_the_check_names_version_legacy_endpoints_and_tier(hubspot_settings, fake_hubspot):
    fake_hubspot.rate_limit(max_per_window=190, window_seconds=10, daily=625_000)
    hubspot_settings.ticket_form_id = "1a2b3c4d-0000-4000-8000-123456789abc"
    hubspot_settings.save()
    checks = by_name(check_connection())
    assert "HubSpot API 2026-09 (date-based), supported until 2028-03" in (
        checks["api_version"].message
    )
    legacy = checks["legacy_endpoints"].message
    assert "/submissions/v3/integration/submit" in legacy and "2027-09" in legacy
    assert "/marketing/v3/forms" in legacy and "/analytics/v2/reports" in legacy
    rate = checks["rate_limit"].message
    assert "190 calls per 10 s (Professional or Enterprise tier)" in rate
    assert "of 625,000 calls used today" in rate


def test_the_limiter_adapts_to_the_tier_hubspot_reports(hubspot_settings, fake_hubspot):
    from hubspot_integration.credentials import get_client

    fake_hubspot.rate_limit(max_per_window=250, window_seconds=10)
    client = get_client()
    assert client.limiter.limit == 90  # the settings' 100, less the margin, until HubSpot says
    client.account_details()
    assert client.limiter.limit == 225
    # Another process's limiter (same shared cache) learns it without a call of its own.
    from hubspot_integration.ratelimit import RateLimiter

    assert RateLimiter(scope=client.limiter.scope, calls_per_10s=100).limit == 225


def test_a_token_with_whitespace_is_refused_naming_the_field(hubspot_admin):
    response = client_for(hubspot_admin).put(
        UPDATE, {"apiKey": "abc def"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "apiKey" in response.json()["details"]


def test_oauth_cannot_be_chosen_without_connecting(hubspot_admin):
    response = client_for(hubspot_admin).put(
        UPDATE, {"credentialType": "oauth"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "Connect with HubSpot" in " ".join(response.json()["details"]["credentialType"])


def test_oauth_client_secret_is_write_only(hubspot_admin):
    secret = "3f1e2d4c-5b6a-4789-9abc-def012345678"
    client = client_for(hubspot_admin)
    response = client.put(
        UPDATE,
        {"oauthClientId": "c0ffee00-1111-2222-3333-444455556666", "oauthClientSecret": secret},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    data = client.get(CONFIG).json()["data"]
    assert data["hasOauthClientSecret"] is True and data["oauthConnected"] is False
    assert data["oauthClientId"] == "c0ffee00-1111-2222-3333-444455556666"
    assert secret not in client.get(CONFIG).content.decode()
    assert secret not in client.get(CHANGE_URL).content.decode()
    assert secret not in _raw_column("oauth_client_secret")


def test_the_log_filter_redacts_stored_secrets_by_value(hubspot_settings):
    key = "opaque7Key0With9No1Known2Prefix"
    hubspot_settings.access_token = key
    hubspot_settings.save()
    HubSpotSettings.objects.get()  # decrypted once more: still known
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "HubSpot said no to %s today", (key,), None
    )
    RedactSecretsFilter().filter(record)
    assert key not in record.getMessage() and "[redacted]" in record.getMessage()


@pytest.mark.django_db(transaction=True)
def test_existing_private_app_rows_migrate_to_the_private_app_kind():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from hubspot_integration import crypto

    executor = MigrationExecutor(connection)
    app = "hubspot_integration"
    executor.migrate([(app, "0003_admin_pages")])
    old_apps = executor.loader.project_state([(app, "0003_admin_pages")]).apps
    Old = old_apps.get_model(app, "HubSpotSettings")
    Old.objects.create(pk=1, access_token=FAKE_TOKEN, portal_id="1")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    row = HubSpotSettings.objects.get()
    assert row.credential_type == CredentialType.PRIVATE_APP
    assert row.access_token == FAKE_TOKEN
    assert crypto.decrypt(_raw_column("access_token")) == FAKE_TOKEN


def _broken_oauth(s):
    s.credential_type = CredentialType.OAUTH
    s.oauth_client_id = "client"
    s.oauth_client_secret = "client-secret-0123456789"
    s.oauth_refresh_token = "refresh-token-0123456789"
    s.oauth_error = "HubSpot refused to refresh the OAuth connection (400): reconnect."
    s.save()


def test_an_oauth_connection_needing_reconnect_answers_409_not_502(hubspot_settings, hubspot_staff):
    _broken_oauth(hubspot_settings)
    response = client_for(hubspot_staff).get("/api/admin/settings/hubspot/contacts")
    assert response.status_code == 409
    assert "reconnect" in response.json()["message"]


def test_writes_wait_in_the_outbox_until_reconnected(hubspot_settings, fake_hubspot):
    from hubspot_integration.contacts import service as contacts

    _broken_oauth(hubspot_settings)
    created = contacts.create_contact({"email": "wait@example.com", "firstname": "Wai"})
    assert created.outcome.status == "queued"
    assert created.outcome.operation.last_error_kind == "reconnect"
    assert fake_hubspot.objects("contacts") == []
