"""A key that cannot open the stored secrets: the site serves, and the admin is told how to recover.

`HUBSPOT_ENCRYPTION_KEYS` loses the key the secrets were written with (a deploy without the old
key, a typo). No configured key opens them: customer pages still serve (anonymous chat, support
requests kept in the outbox), the settings page says which secrets are unreadable and lets the admin
clear or re-enter them, saving other settings keeps the ciphertext for a restored key, and the
health check, the commands and the webhook say what is wrong instead of failing with a traceback.
"""

import copy
import json
import os
import pickle
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import Client
from django.utils import timezone

from hubspot_integration import crypto, errors
from hubspot_integration.credentials import get_client
from hubspot_integration.fields import Undecryptable
from hubspot_integration.models import (
    CustomerTicket,
    HubSpotSettings,
    OutboxOperation,
    SettingsAuditEntry,
)
from hubspot_integration.services import outbox
from hubspot_integration.templatetags.hubspot import clear_markup_cache
from tests.fake_hubspot import CONTACT_FORM_ID, FAKE_SERVICE_KEY, FAKE_TOKEN
from tests.helpers import PASSWORD, client_for
from tests.test_settings_admin import CHANGE_URL, TEST_URL, form_data
from tests.test_webhooks import deliver, stage_event

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "app-client-secret-0123456789"
SECRETS = {
    "access_token": FAKE_TOKEN,
    "webhook_secret": WEBHOOK_SECRET,
    "oauth_client_secret": "oauth-client-secret-0123456789",
    "oauth_access_token": "oauth-access-token-0123456789",
    "oauth_refresh_token": "oauth-refresh-token-0123456789",
}
LABELS = {
    "access_token": "access token",
    "webhook_secret": "webhook client secret",
    "oauth_client_secret": "OAuth client secret",
    "oauth_access_token": "OAuth access token",
    "oauth_refresh_token": "OAuth refresh token",
}
CONFIG = "/api/admin/settings/hubspot/config"
UPDATE = "/api/admin/settings/hubspot"
DISCONNECT_URL = "/admin/hubspot_integration/hubspotsettings/oauth/disconnect/"


def raw_columns() -> dict:
    names = list(SECRETS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(names)} FROM hubspot_integration_hubspotsettings WHERE id = 1"
        )
        return dict(zip(names, cursor.fetchone(), strict=True))


def use_keys(settings, keys):
    settings.HUBSPOT_ENCRYPTION_KEYS = keys
    # Opened values are memoised per key list; a new list is a new entry, but be explicit.
    crypto._decrypt.cache_clear()
    crypto._multifernet.cache_clear()
    clear_markup_cache()


@pytest.fixture
def old_key(settings):
    key = Fernet.generate_key().decode()
    use_keys(settings, [key])
    return key


@pytest.fixture
def stored(old_key, hubspot_settings):
    """Every secret stored, every customer feature on, all written under `old_key`."""
    s = hubspot_settings
    for name, value in SECRETS.items():
        setattr(s, name, value)
    s.chat_enabled = True
    s.tickets_enabled = True
    s.contact_form_id = CONTACT_FORM_ID
    s.save()
    return s


@pytest.fixture
def lost_key(stored, settings):
    """The deployment now runs with a key that opens none of them (the cache keeps the row)."""
    before = raw_columns()
    use_keys(settings, [Fernet.generate_key().decode()])
    return before


def restore(settings, old_key):
    use_keys(settings, [old_key])
    HubSpotSettings.invalidate_cache()


# --- the value itself -------------------------------------------------------------------------------
def test_an_undecryptable_value_is_neither_ciphertext_nor_a_token(lost_key):
    s = HubSpotSettings.objects.get()
    assert s.undecryptable_fields == list(SECRETS)
    for name in SECRETS:
        value = getattr(s, name)
        assert isinstance(value, Undecryptable)
        assert not value and str(value) == "" and f"{value}" == ""
        assert "gAAAAA" not in repr(value) and SECRETS[name] not in repr(value)
        assert HubSpotSettings._meta.get_field(name).value_to_string(s) == ""
    # Copies (pickled into a session or a cache, deep-copied by a form) stay what they are.
    assert pickle.loads(pickle.dumps(s.access_token)) == s.access_token
    assert copy.deepcopy(s).undecryptable_fields == list(SECRETS)
    assert json.dumps({"token": s.access_token}) == '{"token": ""}'
    # The cached copy knows it too (snapshots keep the ciphertext, never the sentinel's text).
    assert HubSpotSettings.load().undecryptable_fields == list(SECRETS)
    assert not s.has_token and s.masked_token == ""


def test_the_client_refuses_with_the_clear_message(lost_key):
    with pytest.raises(errors.NotConfigured) as err:
        get_client()
    message = str(err.value)
    assert "access token" in message and "HUBSPOT_ENCRYPTION_KEYS" in message
    assert "gAAAAA" not in message and FAKE_TOKEN not in message


def test_the_oauth_client_refuses_with_the_clear_message(stored, settings):
    stored.credential_type = "oauth"
    stored.save()
    use_keys(settings, [Fernet.generate_key().decode()])
    with pytest.raises(errors.NotConfigured, match="OAuth refresh token"):
        get_client()


def test_a_readable_secret_beside_an_unreadable_one_still_works(stored, settings, old_key):
    """A key removed too early (before hubspot_rotate_key) loses only what it wrote."""
    new_key = Fernet.generate_key().decode()
    use_keys(settings, [new_key, old_key])
    s = HubSpotSettings.objects.get()
    s.access_token = FAKE_SERVICE_KEY
    s.save(update_fields=["access_token"])  # re-entered: only it is under the new key
    use_keys(settings, [new_key])
    s = HubSpotSettings.load()
    assert s.access_token == FAKE_SERVICE_KEY
    assert s.undecryptable_fields == [n for n in SECRETS if n != "access_token"]
    assert get_client().portal_id == s.portal_id


# --- the customer site ----------------------------------------------------------------------------
@pytest.mark.parametrize("cold", [False, True], ids=["cached", "from-the-database"])
@pytest.mark.parametrize(
    "url", ["/", "/support/", "/contact/", "/accounts/login/", "/admin/login/"]
)
def test_customer_pages_serve(lost_key, url, cold):
    if cold:
        HubSpotSettings.invalidate_cache()
    response = Client().get(url)
    assert response.status_code == 200
    assert "hs-script-loader" in response.content.decode() or url == "/admin/login/"


def test_a_customer_signs_in(lost_key, verified_customer):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "cus", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/support/tickets/"
    assert "hs-script-loader" in response.content.decode()


def test_an_admin_signs_in_and_reaches_the_settings(lost_key, superuser):
    client = Client()
    response = client.post(
        "/admin/login/",
        {"username": "root", "password": PASSWORD, "next": CHANGE_URL},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == CHANGE_URL
    assert 'id="undecryptable-secrets"' in response.content.decode()


def test_a_signed_in_customer_gets_the_anonymous_widget(lost_key, verified_customer):
    response = client_for(verified_customer).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "hs-script-loader" in html and "identificationToken" not in html


def test_public_config_serves(lost_key):
    response = Client().get("/api/hubspot/config")
    assert response.status_code == 200
    assert response.json()["chatEnabled"] is True


def make_due():
    OutboxOperation.objects.filter(status=OutboxOperation.Status.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_support_request_waits_in_the_outbox_for_the_key(
    lost_key, settings, old_key, fake_hubspot
):
    data = {
        "subject": "My site is down",
        "description": "Since this morning example.com answers 502.",
        "priority": "HIGH",
        "email": "cus@example.com",
        "website": "",
    }
    response = Client().post("/support/", data, follow=True)
    assert response.status_code == 200
    assert "Your request was received" in response.content.decode()
    ticket = CustomerTicket.objects.get()
    operation = ticket.operation
    assert operation.status == OutboxOperation.Status.PENDING
    assert "cannot be decrypted" in operation.last_error
    assert not fake_hubspot.objects("tickets")

    restore(settings, old_key)
    make_due()
    outbox.process_due()
    operation.refresh_from_db()
    assert operation.status == OutboxOperation.Status.SUCCEEDED
    assert [t["properties"]["subject"] for t in fake_hubspot.objects("tickets")] == [
        "My site is down"
    ]


def test_a_contact_message_waits_in_the_outbox(lost_key, fake_hubspot):
    data = {"name": "Ann Smith", "email": "ann@example.com", "message": "Hello", "website": ""}
    response = Client().post("/contact/", data, follow=True)
    assert response.status_code == 200
    assert "your message was received" in response.content.decode()
    assert OutboxOperation.objects.get().status == OutboxOperation.Status.PENDING
    assert not fake_hubspot.form_submissions


def test_a_webhook_is_answered_503_so_hubspot_retries(lost_key, caplog):
    response = deliver(Client(), [stage_event("ev-1", "555")], secret=WEBHOOK_SECRET)
    assert response.status_code == 503
    assert "cannot be decrypted" in caplog.text


# --- the admin ---------------------------------------------------------------------------------------
def test_the_settings_page_names_the_unreadable_secrets(lost_key, superuser):
    response = client_for(superuser).get(CHANGE_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="undecryptable-secrets"' in html
    for label in LABELS.values():
        assert label in html
    assert "HUBSPOT_ENCRYPTION_KEYS" in html and "Clear the stored token" in html
    assert "gAAAAA" not in html
    for value in SECRETS.values():
        assert value not in html


def test_the_settings_page_has_no_banner_when_every_secret_opens(stored, superuser):
    html = client_for(superuser).get(CHANGE_URL).content.decode()
    assert 'id="undecryptable-secrets"' not in html


def admin_post(user, **overrides):
    """The settings form as the page shows it for the stored row, with `overrides` typed in."""
    values = {
        "enabled": "on",
        "portal_id": "12345678",
        "chat_enabled": "on",
        "tickets_enabled": "on",
        "contact_form_id": CONTACT_FORM_ID,
        **overrides,
    }
    return client_for(user).post(CHANGE_URL, form_data(**values))


def test_saving_other_settings_keeps_the_ciphertext_for_the_restored_key(
    lost_key, settings, old_key, superuser
):
    response = admin_post(superuser, dashboard_cache_seconds="120")
    assert response.status_code == 302, response.content.decode()
    assert raw_columns() == lost_key
    assert HubSpotSettings.objects.get().dashboard_cache_seconds == 120
    [entry] = SettingsAuditEntry.objects.filter(source="admin")
    assert entry.changed_fields == ["dashboard_cache_seconds"]

    restore(settings, old_key)
    s = HubSpotSettings.load()
    assert s.undecryptable_fields == []
    assert {name: getattr(s, name) for name in SECRETS} == SECRETS


def test_the_admin_clears_the_unreadable_token(lost_key, superuser):
    response = admin_post(superuser, enabled="", clear_token="on")
    assert response.status_code == 302, response.content.decode()
    columns = raw_columns()
    assert columns["access_token"] == ""
    # Only what was cleared: the other secrets wait for their key.
    assert {k: v for k, v in columns.items() if k != "access_token"} == {
        k: v for k, v in lost_key.items() if k != "access_token"
    }
    assert HubSpotSettings.load().undecryptable_fields == [
        n for n in SECRETS if n != "access_token"
    ]
    [entry] = SettingsAuditEntry.objects.filter(source="admin")
    assert "token changed" in entry.summary


def test_the_admin_reenters_the_token(lost_key, superuser, fake_hubspot):
    response = admin_post(
        superuser,
        credential_type="service_key",
        new_token=FAKE_SERVICE_KEY,
        clear_webhook_secret="on",
    )
    assert response.status_code == 302, response.content.decode()
    s = HubSpotSettings.load()
    assert s.access_token == FAKE_SERVICE_KEY and s.webhook_secret == ""
    assert s.undecryptable_fields == [
        "oauth_client_secret",
        "oauth_access_token",
        "oauth_refresh_token",
    ]
    assert get_client().portal_id == "12345678"


def test_test_connection_names_the_unreadable_secrets(lost_key, superuser, fake_hubspot):
    response = client_for(superuser).post(TEST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Connection check failed (secrets)" in html
    assert "access token" in html and "HUBSPOT_ENCRYPTION_KEYS" in html
    assert not any(r.path.startswith("/account-info/") for r in fake_hubspot.requests)
    api = client_for(superuser).post(UPDATE + "/test-connection")
    assert api.status_code == 200
    assert api.json()["success"] is False
    assert [c["name"] for c in api.json()["checks"]][:2] == ["secrets", "credential"]


def test_disconnect_removes_an_unreadable_oauth_connection(lost_key, superuser):
    client = client_for(superuser)
    page = client.get(CHANGE_URL).content.decode()
    assert 'id="oauth-disconnect"' in page and "stored connection cannot be decrypted" in page
    response = client.post(DISCONNECT_URL, follow=True)
    assert response.status_code == 200
    assert "could not be revoked" in response.content.decode()
    columns = raw_columns()
    assert columns["oauth_access_token"] == "" and columns["oauth_refresh_token"] == ""
    assert columns["access_token"] == lost_key["access_token"]
    entry = SettingsAuditEntry.objects.get(action="oauth_disconnect")
    assert set(entry.changed_fields) >= {"oauth_access_token", "oauth_refresh_token"}


# --- the API -----------------------------------------------------------------------------------------
def test_the_api_names_the_unreadable_secrets_and_clears_the_key(lost_key, superuser):
    client = client_for(superuser)
    response = client.get(CONFIG)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["undecryptableSecrets"] == [
        "apiKey",
        "webhookSecret",
        "oauthClientSecret",
        "oauthAccessToken",
        "oauthRefreshToken",
    ]
    assert data["hasApiKey"] is False and data["apiKeyMasked"] == ""

    response = client.put(UPDATE, {"chatEnabled": False}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert raw_columns() == lost_key

    response = client.put(
        UPDATE, {"enabled": False, "clearApiKey": True}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert raw_columns()["access_token"] == ""
    assert "apiKey" not in response.json()["data"]["undecryptableSecrets"]


# --- health and the commands -------------------------------------------------------------------------
def test_health_names_the_unreadable_secrets(lost_key):
    response = Client().get("/api/health")
    assert response.status_code == 503
    body = response.json()
    hubspot = body["details"]["components"]["hubspot"]
    assert hubspot["ok"] is False
    assert hubspot["undecryptable"] == list(SECRETS)
    assert "access token" in hubspot["message"] and "HUBSPOT_ENCRYPTION_KEYS" in hubspot["message"]
    assert "gAAAAA" not in response.content.decode()


def run_manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_the_commands_say_one_clear_line_and_exit_1(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUBSPOT_")},
        "DJANGO_SETTINGS_MODULE": "skypanel.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
        "CACHE_URL": f"filecache://{tmp_path / 'cache'}",
        "HUBSPOT_ENCRYPTION_KEYS": old,
    }
    assert run_manage("migrate", "-v0", env=env).returncode == 0
    store = (
        "import django; django.setup();"
        "from hubspot_integration.models import HubSpotSettings as S;"
        "s = S.load(); s.enabled = True; s.portal_id = '12345678';"
        f"s.access_token = {FAKE_TOKEN!r}; s.webhook_secret = {WEBHOOK_SECRET!r}; s.save()"
    )
    out = subprocess.run(
        [sys.executable, "-c", store], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr

    env["HUBSPOT_ENCRYPTION_KEYS"] = new
    for command in ("hubspot_check", "hubspot_rotate_key"):
        out = run_manage(command, env=env)
        assert out.returncode == 1, (command, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr + out.stdout
        lines = [line for line in (out.stderr + out.stdout).splitlines() if line.strip()]
        assert len(lines) == 1, (command, lines)
        assert "access token" in lines[0] and "HUBSPOT_ENCRYPTION_KEYS" in lines[0]
        assert "gAAAAA" not in lines[0]

    out = run_manage("hubspot_check", "--json", env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    report = json.loads(out.stdout)
    assert report["success"] is False and "access token" in report["message"]
