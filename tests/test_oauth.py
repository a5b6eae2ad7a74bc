"""Connect with HubSpot (OAuth), end to end: the real panel code and SDK against the fake HubSpot.

The admin's browser is the Django test client for the panel and urllib for HubSpot's consent page:
POST Connect, follow the redirect to the fake's page, submit its form, bring the redirect back to
the callback. Refreshes, the shared lock (threads, and two OS processes sharing a cache and a
database), a refused refresh, Disconnect and the permissions are each tested on their own.
"""

from __future__ import annotations

import html.parser
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from hubspot_integration import errors
from hubspot_integration.credentials import get_client
from hubspot_integration.models import (
    SETTINGS_CACHE_KEY,
    CredentialType,
    HubSpotSettings,
    SettingsAuditEntry,
)
from hubspot_integration.oauth import flow
from hubspot_integration.oauth.status import introspect_scopes, oauth_status
from hubspot_integration.oauth.tokens import OAuthTokenSource, store_tokens
from tests.fake_hubspot import FAKE_APP_NAME, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_PORTAL_ID
from tests.helpers import client_for
from tests.test_shared_state import (  # noqa: F401 (redis_cache is a fixture)
    _env,
    _finish,
    _run_python,
    needs_redis,
    redis_cache,
)

SETTINGS_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"
CONNECT_URL = "/admin/hubspot_integration/hubspotsettings/oauth/connect/"
DISCONNECT_URL = "/admin/hubspot_integration/hubspotsettings/oauth/disconnect/"
CALLBACK_PATH = "/hubspot/oauth/callback/"
TEST_URL = "/admin/hubspot_integration/hubspotsettings/test-connection/"
CONFIG_API = "/api/admin/settings/hubspot/config"
TOKEN_PATH = "/oauth/2026-09/token"
ACCOUNT_PATH = "/account-info/2026-09/details"


# --- the admin's browser ----------------------------------------------------------------------------
class _ConsentForm(html.parser.HTMLParser):
    """The fields of the fake consent page's form, as a browser would submit them."""

    def __init__(self):
        super().__init__()
        self.fields, self.action, self._inside = {}, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "consent":
            self._inside, self.action = True, attrs.get("action")
        elif tag == "input" and self._inside and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the redirect goes to the panel, which urllib cannot reach (testserver)


def consent(authorize_url: str, decision: str = "allow") -> str:
    """Open HubSpot's consent page and press a button; returns where HubSpot redirects."""
    with urllib.request.urlopen(authorize_url, timeout=5) as page:
        text = page.read().decode()
    form = _ConsentForm()
    form.feed(text)
    assert form.action == "/oauth/authorize", text[:500]
    parts = urlsplit(authorize_url)
    data = urlencode({**form.fields, "decision": decision}).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(f"{parts.scheme}://{parts.netloc}{form.action}", data=data, timeout=5)
    assert answer.value.code == 302, answer.value.read()[:500]
    return answer.value.headers["Location"]


def start(client: Client) -> str:
    response = client.post(CONNECT_URL)
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def come_back(client: Client, callback_url: str):
    parts = urlsplit(callback_url)
    assert parts.path == CALLBACK_PATH
    return client.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})


def connect(client: Client):
    """The whole round trip; returns the settings page the admin lands on."""
    response = come_back(client, consent(start(client)))
    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    return client.get(SETTINGS_URL)


def messages_of(response) -> str:
    return " | ".join(str(m) for m in response.context["messages"]) if response.context else ""


def row() -> HubSpotSettings:
    return HubSpotSettings.objects.get()


def bearer(fake, path=ACCOUNT_PATH) -> str:
    [last] = [r for r in fake.requests if r.path == path][-1:]
    return last.headers["Authorization"].split(" ", 1)[1]


def call_with_token(fake, token) -> int:
    request = urllib.request.Request(
        fake.url + ACCOUNT_PATH, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


# --- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture
def oauth_app(db, fake_hubspot, settings):
    """The app's client ID and secret saved, HubSpot's consent page at the fake."""
    settings.HUBSPOT_OAUTH_AUTHORIZE_URL = fake_hubspot.url + "/oauth/authorize"
    s = HubSpotSettings.load()
    s.oauth_client_id = FAKE_CLIENT_ID
    s.oauth_client_secret = FAKE_CLIENT_SECRET
    s.save()
    return s


@pytest.fixture
def admin_client(hubspot_admin):
    return client_for(hubspot_admin)


def store_grant(fake, *, expired=False, scopes=None) -> dict:
    """A connection as the callback stores it, from a grant the fake issued without the page."""
    answer = fake.oauth.issue(scopes)
    s = row()
    store_tokens(s, answer)
    if expired:
        s.oauth_expires_at = timezone.now() - timedelta(seconds=1)
    s.credential_type = CredentialType.OAUTH
    s.enabled, s.portal_id = True, str(FAKE_PORTAL_ID)
    s.oauth_connected_at = timezone.now()
    s.save()
    return answer


# --- connect ---------------------------------------------------------------------------------------------
def test_connect_end_to_end(oauth_app, admin_client, fake_hubspot):
    location = start(admin_client)
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert location.startswith(fake_hubspot.url + "/oauth/authorize?")
    assert query["client_id"] == FAKE_CLIENT_ID
    assert query["redirect_uri"] == "http://testserver/hubspot/oauth/callback/"
    assert query["scope"].split() == [
        "oauth",
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
    ]
    assert "crm.objects.deals.read" in query["optional_scope"].split()
    assert len(query["state"]) >= 32
    assert "%20" in location  # scopes separated by encoded spaces, as HubSpot shows them

    with urllib.request.urlopen(location, timeout=5) as page:
        text = page.read().decode()
    assert FAKE_APP_NAME in text and "crm.objects.contacts.write" in text and "Connect app" in text

    callback = consent(location)
    assert parse_qs(urlsplit(callback).query)["state"] == [query["state"]]
    response = come_back(admin_client, callback)
    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    page = admin_client.get(SETTINGS_URL)
    assert f"Connected with HubSpot: portal {FAKE_PORTAL_ID}." in messages_of(page)

    s = row()
    assert s.credential_type == CredentialType.OAUTH
    assert s.portal_id == str(FAKE_PORTAL_ID)
    assert s.oauth_connected_at is not None and s.oauth_error == ""
    assert s.oauth_access_token in fake_hubspot.oauth.access_tokens()
    assert s.oauth_refresh_token in fake_hubspot.oauth.refresh_tokens()
    assert s.oauth_scopes == sorted(
        ["oauth", "crm.objects.contacts.read", "crm.objects.contacts.write"]
        + ["crm.objects.deals.read", "crm.objects.companies.read", "business-intelligence"]
        + ["crm.objects.companies.write", "crm.schemas.companies.write", "conversations.read"]
        + ["conversations.write", "crm.import"]
    )
    assert s.oauth_expires_at > timezone.now() + timedelta(minutes=29)

    [exchange] = [r for r in fake_hubspot.requests if r.path == TOKEN_PATH]
    assert exchange.body["grant_type"] == "authorization_code"
    assert exchange.body["redirect_uri"] == query["redirect_uri"]
    assert exchange.body["client_secret"] == FAKE_CLIENT_SECRET
    assert fake_hubspot.oauth.introspections == 1
    assert 'id="oauth-status"' in page.content.decode() and "Connected" in page.content.decode()

    [entry] = SettingsAuditEntry.objects.filter(action="oauth_connect")
    assert entry.actor_name == "ada" and str(FAKE_PORTAL_ID) in entry.summary
    assert {"credential_type", "oauth_refresh_token", "oauth_access_token"} <= set(
        entry.changed_fields
    )
    for secret in (s.oauth_access_token, s.oauth_refresh_token, FAKE_CLIENT_SECRET):
        assert secret not in f"{entry.summary}{entry.changed_fields}"

    # The connection works for the rest of the panel: the client sends the OAuth access token.
    data = get_client(require_enabled=False).account_details().data
    assert data["portalId"] == FAKE_PORTAL_ID
    assert bearer(fake_hubspot) == s.oauth_access_token


@pytest.mark.parametrize(
    "features,extra",
    [
        ({}, []),
        ({"tickets_enabled": True}, ["tickets", "crm.objects.owners.read"]),
        ({"chat_enabled": True}, ["conversations.visitor_identification.tokens.create"]),
        (
            {"contact_form_id": "1a2b3c4d-0000-4000-8000-123456789abc", "tickets_enabled": True},
            ["tickets", "crm.objects.owners.read", "forms"],
        ),
    ],
)
def test_scopes_follow_the_features_and_fit_the_readme_app(
    oauth_app, admin_client, fake_hubspot, features, extra
):
    s = row()
    for name, value in features.items():
        setattr(s, name, value)
    s.save()
    location = start(admin_client)
    query = parse_qs(urlsplit(location).query)
    scope = query["scope"][0].split()
    assert sorted(scope) == sorted(flow.ALWAYS_SCOPES + tuple(extra))
    assert set(query["optional_scope"][0].split()).isdisjoint(scope)
    # The fake applies HubSpot's install-URL rules to the README's app configuration.
    assert flow.app_scope_config()["requiredScopes"] == list(fake_hubspot.oauth.app.required_scopes)
    assert sorted(flow.app_scope_config()["conditionallyRequiredScopes"]) == sorted(
        fake_hubspot.oauth.app.conditional_scopes
    )
    assert sorted(flow.app_scope_config()["optionalScopes"]) == sorted(
        fake_hubspot.oauth.app.optional_scopes
    )
    with urllib.request.urlopen(location, timeout=5) as page:
        assert page.status == 200


def test_connect_needs_the_client_id_and_secret_saved(db, fake_hubspot, settings, admin_client):
    settings.HUBSPOT_OAUTH_AUTHORIZE_URL = fake_hubspot.url + "/oauth/authorize"
    response = admin_client.post(CONNECT_URL, follow=True)
    assert response.redirect_chain == [(SETTINGS_URL, 302)]
    assert "Enter the app's OAuth client ID and client secret" in messages_of(response)
    assert flow.SESSION_KEY not in admin_client.session


def test_connect_is_a_post_and_needs_the_csrf_token(oauth_app, hubspot_admin):
    client = client_for(hubspot_admin)
    response = client.get(CONNECT_URL)
    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    assert flow.SESSION_KEY not in client.session
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(hubspot_admin)
    assert strict.post(CONNECT_URL).status_code == 403
    assert strict.post(DISCONNECT_URL).status_code == 403


def test_the_settings_page_lets_the_connect_redirect_through_its_csp(
    oauth_app, admin_client, settings, fake_hubspot
):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:1],
        "hubspot_integration.csp.HubSpotCSPMiddleware",
        *settings.MIDDLEWARE[1:],
    ]
    response = admin_client.get(SETTINGS_URL)
    policy = response["Content-Security-Policy"]
    [form_action] = [d for d in policy.split(";") if d.strip().startswith("form-action")]
    assert "'self'" in form_action and fake_hubspot.url in form_action


# --- state checks ------------------------------------------------------------------------------------------
def _no_change(fake):
    s = row()
    assert s.oauth_refresh_token == "" and s.oauth_access_token == ""
    assert s.credential_type == CredentialType.SERVICE_KEY and s.oauth_connected_at is None
    assert fake.oauth.exchanges == 0
    assert not SettingsAuditEntry.objects.filter(action="oauth_connect").exists()


def _callback_params(callback_url):
    return {k: v[0] for k, v in parse_qs(urlsplit(callback_url).query).items()}


@pytest.mark.parametrize(
    "tamper,expected",
    [
        (lambda p: {"code": p["code"]}, "carried no state"),
        (lambda p: {**p, "state": "not-the-state"}, "does not match"),
        (lambda p: {**p, "state": p["state"][:-2]}, "does not match"),
    ],
)
def test_a_missing_or_wrong_state_changes_nothing(
    oauth_app, admin_client, fake_hubspot, tamper, expected
):
    params = _callback_params(consent(start(admin_client)))
    response = admin_client.get(CALLBACK_PATH, tamper(params), follow=True)
    assert response.redirect_chain == [(SETTINGS_URL, 302)]
    assert expected in messages_of(response) and "Nothing was changed" in messages_of(response)
    _no_change(fake_hubspot)
    # The state was good for one answer only: even the real one is refused now.
    response = admin_client.get(CALLBACK_PATH, params, follow=True)
    assert "does not belong" in messages_of(response)
    _no_change(fake_hubspot)


def test_a_reused_state_changes_nothing(oauth_app, admin_client, fake_hubspot):
    callback = consent(start(admin_client))
    connect_page = come_back(admin_client, callback)
    assert connect_page.status_code == 302
    first = row()
    response = come_back(admin_client, callback)
    page = admin_client.get(response["Location"])
    assert "does not belong to a Connect with HubSpot started in this browser session" in (
        messages_of(page)
    )
    assert fake_hubspot.oauth.exchanges == 1  # the code never reached HubSpot a second time
    again = row()
    assert (again.oauth_access_token, again.oauth_refresh_token) == (
        first.oauth_access_token,
        first.oauth_refresh_token,
    )
    assert SettingsAuditEntry.objects.filter(action="oauth_connect").count() == 1


def test_an_expired_state_changes_nothing(oauth_app, admin_client, fake_hubspot, settings):
    settings.HUBSPOT_OAUTH_STATE_SECONDS = 0
    callback = consent(start(admin_client))
    time.sleep(0.01)
    response = admin_client.get(CALLBACK_PATH, _callback_params(callback), follow=True)
    assert "expired" in messages_of(response)
    _no_change(fake_hubspot)


def test_a_state_from_another_session_changes_nothing(
    oauth_app, hubspot_admin, superuser, fake_hubspot
):
    mine, other = client_for(hubspot_admin), client_for(superuser)
    callback = consent(start(mine))
    response = other.get(CALLBACK_PATH, _callback_params(callback), follow=True)
    assert "does not belong to a Connect with HubSpot started in this browser session" in (
        messages_of(response)
    )
    _no_change(fake_hubspot)
    # The same admin in a second browser (another session) cannot finish it either.
    second_browser = client_for(hubspot_admin)
    second_browser.get(CALLBACK_PATH, _callback_params(callback))
    _no_change(fake_hubspot)
    # The browser that started it still can.
    assert come_back(mine, callback).status_code == 302
    assert row().oauth_refresh_token


def test_access_denied_changes_nothing(oauth_app, admin_client, fake_hubspot):
    callback = consent(start(admin_client), decision="deny")
    params = _callback_params(callback)
    assert params["error"] == "access_denied" and "code" not in params
    response = admin_client.get(CALLBACK_PATH, params, follow=True)
    text = messages_of(response)
    assert (
        "HubSpot did not connect the app (access_denied" in text and "Nothing was changed" in text
    )
    _no_change(fake_hubspot)


def test_a_refused_code_changes_nothing(oauth_app, admin_client, fake_hubspot):
    params = _callback_params(consent(start(admin_client)))
    params["code"] = str(uuid.uuid4())  # not the code HubSpot issued
    response = admin_client.get(CALLBACK_PATH, params, follow=True)
    assert "HubSpot refused to exchange the authorization code" in messages_of(response)
    s = row()
    assert s.oauth_refresh_token == "" and s.credential_type == CredentialType.SERVICE_KEY


def test_hubspot_down_during_the_exchange_changes_nothing(oauth_app, admin_client, fake_hubspot):
    params = _callback_params(consent(start(admin_client)))
    fake_hubspot.faults.fail_next(1, status=503, path_prefix=TOKEN_PATH)
    response = admin_client.get(CALLBACK_PATH, params, follow=True)
    assert response.status_code == 200
    assert "could not be reached" in messages_of(response)
    assert row().oauth_refresh_token == ""


def test_a_wrong_client_secret_is_reported(oauth_app, admin_client, fake_hubspot):
    s = row()
    s.oauth_client_secret = "not-the-secret-0000"
    s.save()
    params = _callback_params(consent(start(admin_client)))
    response = admin_client.get(CALLBACK_PATH, params, follow=True)
    assert "Check the client ID and secret" in messages_of(response)
    assert row().oauth_refresh_token == ""


# --- secrets ------------------------------------------------------------------------------------------------
def test_tokens_are_stored_encrypted(oauth_app, admin_client, fake_hubspot):
    connect(admin_client)
    s = row()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oauth_access_token, oauth_refresh_token, oauth_client_secret "
            f"FROM {HubSpotSettings._meta.db_table}"
        )
        raw = cursor.fetchone()
    for stored, plain in zip(
        raw, (s.oauth_access_token, s.oauth_refresh_token, FAKE_CLIENT_SECRET), strict=True
    ):
        assert plain and plain not in stored and stored.startswith("gAAAAA")
    snapshot = json.dumps(
        cache.get(SETTINGS_CACHE_KEY) or HubSpotSettings.load()._cache_snapshot(), default=str
    )
    for plain in (s.oauth_access_token, s.oauth_refresh_token, FAKE_CLIENT_SECRET):
        assert plain not in snapshot


def test_secrets_never_reach_the_api_the_page_or_the_logs(
    oauth_app, admin_client, fake_hubspot, caplog, settings
):
    caplog.set_level(logging.DEBUG)
    settings.HUBSPOT_OAUTH_REFRESH_MARGIN_SECONDS = 0
    connect(admin_client)
    s = row()
    s.enabled = True
    s.save()
    fake_hubspot.oauth.expire_access_tokens()
    get_client().account_details()  # 401, refresh, retry
    refreshed = row()
    secrets = {
        s.oauth_access_token,
        s.oauth_refresh_token,
        refreshed.oauth_access_token,
        FAKE_CLIENT_SECRET,
    }
    assert len(secrets) == 4

    api = admin_client.get(CONFIG_API)
    assert api.status_code == 200
    data = api.json()["data"]
    assert data["oauthConnected"] is True and data["hasOauthClientSecret"] is True
    assert data["oauthClientId"] == FAKE_CLIENT_ID and data["oauthError"] == ""
    page = admin_client.get(SETTINGS_URL).content.decode()
    admin_client.post(DISCONNECT_URL)
    for secret in secrets:
        assert secret not in api.content.decode()
        assert secret not in page
        assert secret not in caplog.text


# --- refresh --------------------------------------------------------------------------------------------
def test_a_token_in_its_last_minutes_is_refreshed_before_use(oauth_app, fake_hubspot, settings):
    fake_hubspot.oauth.access_token_lifetime = 2
    settings.HUBSPOT_OAUTH_REFRESH_MARGIN_SECONDS = 1
    first = store_grant(fake_hubspot)
    client = get_client()
    client.account_details()
    assert fake_hubspot.oauth.refreshes == 0 and bearer(fake_hubspot) == first["access_token"]

    time.sleep(1.1)  # inside the last second of its two
    client.account_details()
    assert fake_hubspot.oauth.refreshes == 1
    s = row()
    assert s.oauth_access_token != first["access_token"]
    assert bearer(fake_hubspot) == s.oauth_access_token
    assert s.oauth_refresh_token == first["refresh_token"]  # HubSpot keeps the refresh token
    assert not [r for r in fake_hubspot.requests if r.status == 401]


def test_a_token_that_lapsed_mid_use_is_refreshed_and_the_call_succeeds(
    oauth_app, fake_hubspot, settings
):
    settings.HUBSPOT_OAUTH_REFRESH_MARGIN_SECONDS = 0  # never early: the 401 path
    store_grant(fake_hubspot)
    client = get_client()
    client.account_details()
    fake_hubspot.oauth.expire_access_tokens()
    data = client.account_details().data
    assert data["portalId"] == FAKE_PORTAL_ID
    statuses = [r.status for r in fake_hubspot.requests if r.path == ACCOUNT_PATH]
    assert statuses == [200, 401, 200]
    [expired] = [r for r in fake_hubspot.requests if r.status == 401]
    assert expired.path == ACCOUNT_PATH
    assert fake_hubspot.oauth.refreshes == 1
    assert bearer(fake_hubspot) == row().oauth_access_token


def test_a_margin_longer_than_the_token_does_not_refresh_every_call(
    oauth_app, fake_hubspot, settings
):
    # HubSpot's tokens live 30 minutes; a 30-minute margin would make each one due at birth.
    settings.HUBSPOT_OAUTH_REFRESH_MARGIN_SECONDS = 30 * 60
    store_grant(fake_hubspot, expired=True)
    client = get_client()
    for _ in range(3):
        client.account_details()
    assert fake_hubspot.oauth.refreshes == 1


def test_a_due_token_is_still_used_while_hubspot_cannot_refresh_it(oauth_app, fake_hubspot):
    first = store_grant(fake_hubspot)
    s = row()
    s.oauth_expires_at = timezone.now() + timedelta(minutes=1)  # due, but still alive
    s.save()
    fake_hubspot.faults.fail_next(1, status=503, path_prefix=TOKEN_PATH)
    client = get_client()
    assert client.account_details().data["portalId"] == FAKE_PORTAL_ID
    assert bearer(fake_hubspot) == first["access_token"] and fake_hubspot.oauth.refreshes == 0
    client.account_details()  # HubSpot is back: the next call refreshes
    assert fake_hubspot.oauth.refreshes == 1 and bearer(fake_hubspot) != first["access_token"]


@pytest.mark.django_db(transaction=True)
def test_threads_asking_at_once_make_one_refresh(oauth_app, fake_hubspot):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # The test database's shared in-memory cache locks whole tables and SQLite does not
        # retry SQLITE_LOCKED; the two-process tests below cover SQLite with a file database.
        pytest.skip("threads need PostgreSQL or a file database, not in-memory SQLite")
    store_grant(fake_hubspot, expired=True)
    fake_hubspot.faults.latency(0.4, path_prefix=TOKEN_PATH)  # the others arrive mid-refresh
    barrier = threading.Barrier(6)
    tokens, failures = [], []

    def ask():
        try:
            barrier.wait(timeout=5)
            tokens.append(OAuthTokenSource()())
        except Exception as err:  # collected, so the assertion shows it
            failures.append(repr(err))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not failures
    assert fake_hubspot.oauth.refreshes == 1
    assert len(tokens) == 6 and len(set(tokens)) == 1
    assert tokens[0] == row().oauth_access_token
    assert tokens[0] in fake_hubspot.oauth.access_tokens()


_SETUP = """
    import json, sys
    from datetime import timedelta
    from django.core.management import call_command
    from django.utils import timezone
    from hubspot_integration.models import CredentialType, HubSpotSettings
    from hubspot_integration.oauth.tokens import store_tokens
    call_command("migrate", verbosity=0)
    s = HubSpotSettings.load()
    store_tokens(s, json.loads(sys.argv[1]))
    s.oauth_expires_at = timezone.now() - timedelta(seconds=1)  # due: both must want a refresh
    s.credential_type = CredentialType.OAUTH
    s.oauth_client_id, s.oauth_client_secret = sys.argv[2], sys.argv[3]
    s.enabled, s.portal_id = True, "12345678"
    s.save()
"""

_RACER = """
    import sys, time
    from hubspot_integration.oauth.tokens import OAuthTokenSource
    time.sleep(max(float(sys.argv[1]) - time.time(), 0))
    print(OAuthTokenSource()())
"""


def _race_in_processes(fake, tmp_path, cache_url):
    answer = fake.oauth.issue()
    env = _env(
        CACHE_URL=cache_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        HUBSPOT_API_BASE_URL=fake.url,
    )
    _finish(
        _run_python(_SETUP, env, json.dumps(answer), FAKE_CLIENT_ID, FAKE_CLIENT_SECRET),
        timeout=60,
    )
    fake.faults.latency(0.5, path_prefix=TOKEN_PATH)
    start_at = str(time.time() + 2.0)  # both interpreters are up and waiting by then
    racers = [_run_python(_RACER, env, start_at) for _ in range(2)]
    tokens = [_finish(p, timeout=60) for p in racers]
    assert fake.oauth.refreshes == 1, tokens
    assert tokens[0] == tokens[1] != answer["access_token"]
    assert tokens[0] in fake.oauth.access_tokens()


@needs_redis
@pytest.mark.django_db
def test_two_processes_sharing_redis_make_one_refresh(fake_hubspot, tmp_path, redis_cache):  # noqa: F811
    _race_in_processes(fake_hubspot, tmp_path, redis_cache)


@pytest.mark.django_db
def test_two_processes_sharing_the_file_cache_make_one_refresh(fake_hubspot, tmp_path):
    # The embedded default: the file cache, whose add() is not atomic across processes.
    _race_in_processes(fake_hubspot, tmp_path, f"filecache://{tmp_path / 'cache'}")


# --- a refused refresh -------------------------------------------------------------------------------
def test_a_refused_refresh_asks_for_a_reconnect_and_no_page_fails(
    oauth_app, fake_hubspot, admin_client, hubspot_staff, settings
):
    settings.HUBSPOT_OAUTH_REFRESH_MARGIN_SECONDS = 0
    connect(admin_client)
    s = row()
    s.enabled, s.tickets_enabled = True, True
    s.save()
    fake_hubspot.oauth.refuse_refresh = True
    fake_hubspot.oauth.expire_access_tokens()

    with pytest.raises(errors.ReconnectNeeded) as refused:
        get_client().account_details()
    assert "reconnect" in str(refused.value).lower()
    s = row()
    assert "reconnect" in s.oauth_error.lower() and "400" in s.oauth_error
    assert fake_hubspot.oauth.refreshes == 1
    # Until an admin reconnects, calls fail at once without asking HubSpot again.
    with pytest.raises(errors.ReconnectNeeded):
        get_client().account_details()
    assert fake_hubspot.oauth.refreshes == 1

    page = admin_client.get(SETTINGS_URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="oauth-reconnect"' in text and "Reconnect needed." in text
    api = admin_client.get(CONFIG_API)
    assert api.status_code == 200 and "reconnect" in api.json()["data"]["oauthError"].lower()
    status = oauth_status(row())
    assert status.ok is False and "Reconnect needed" in status.message

    check = admin_client.post(TEST_URL)
    assert check.status_code == 200
    assert 'id="oauth-reconnect"' in check.content.decode()
    assert "reconnect" in check.content.decode().lower()
    staff = client_for(hubspot_staff)
    for client, url in [
        (admin_client, "/admin/"),
        (staff, "/admin/hubspot_integration/hubspotcontact/"),
        (staff, "/admin/hubspot_integration/hubspotticket/"),
        (client_for(None), "/"),
        (client_for(None), "/support/"),
    ]:
        assert client.get(url).status_code < 500, url
    # The API answers its error envelope (HubSpot-side trouble is a 5xx there by design), never a
    # crash: the message names the reconnect.
    api = admin_client.get("/api/admin/settings/hubspot/contacts")
    assert api.status_code != 500 and "reconnect" in api.json()["message"].lower()
    assert not fake_hubspot.server_errors

    # Reconnecting clears the error, and calls work again.
    fake_hubspot.oauth.refuse_refresh = False
    page = connect(admin_client)
    assert 'id="oauth-reconnect"' not in page.content.decode()
    assert row().oauth_error == ""
    assert get_client().account_details().data["portalId"] == FAKE_PORTAL_ID


def test_oauth_status_lines(oauth_app, fake_hubspot):
    s = row()
    assert oauth_status(s) == (True, "")  # another credential kind: nothing to say
    s.credential_type = CredentialType.OAUTH
    assert oauth_status(s).ok is False and "Connect with HubSpot" in oauth_status(s).message
    s.oauth_client_secret = ""
    assert "client ID and client secret" in oauth_status(s).message
    store_grant(fake_hubspot)
    status = oauth_status(row())
    assert status.ok and status.message.startswith("Connected with HubSpot on ")
    assert set(introspect_scopes(row())) == set(flow.ALWAYS_SCOPES)


# --- disconnect ------------------------------------------------------------------------------------------
def test_disconnect_revokes_the_token_at_hubspot(oauth_app, admin_client, fake_hubspot):
    connect(admin_client)
    before = row()
    response = admin_client.post(DISCONNECT_URL, follow=True)
    assert response.redirect_chain == [(SETTINGS_URL, 302)]
    assert "Disconnected from HubSpot: the OAuth tokens are revoked." in messages_of(response)

    [revoke] = [r for r in fake_hubspot.requests if r.path == TOKEN_PATH + "/revoke"]
    assert revoke.body == {
        "client_id": FAKE_CLIENT_ID,
        "client_secret": FAKE_CLIENT_SECRET,
        "token": before.oauth_refresh_token,
        "token_type_hint": "refresh_token",
    }
    assert call_with_token(fake_hubspot, before.oauth_access_token) == 401
    assert before.oauth_refresh_token not in fake_hubspot.oauth.refresh_tokens()

    s = row()
    assert (s.oauth_access_token, s.oauth_refresh_token, s.oauth_error) == ("", "", "")
    assert s.oauth_expires_at is None and s.oauth_scopes == [] and s.oauth_connected_at is None
    assert s.oauth_client_id == FAKE_CLIENT_ID and s.oauth_client_secret == FAKE_CLIENT_SECRET
    [entry] = SettingsAuditEntry.objects.filter(action="oauth_disconnect")
    assert "revoked at HubSpot" in entry.summary and entry.actor_name == "ada"
    assert 'id="oauth-disconnect"' not in response.content.decode()
    with pytest.raises(errors.NotConfigured):
        get_client(require_enabled=False)


def test_disconnect_while_hubspot_is_unreachable_still_forgets_the_tokens(
    oauth_app, admin_client, fake_hubspot
):
    connect(admin_client)
    fake_hubspot.faults.down()
    response = admin_client.post(DISCONNECT_URL, follow=True)
    fake_hubspot.faults.up()
    text = messages_of(response)
    assert "Disconnected here." in text and "could not confirm the revocation" in text
    assert row().oauth_refresh_token == "" and row().oauth_access_token == ""
    [entry] = SettingsAuditEntry.objects.filter(action="oauth_disconnect")
    assert "not confirmed" in entry.summary


def test_a_refresh_after_disconnect_does_not_bring_the_tokens_back(oauth_app, fake_hubspot):
    store_grant(fake_hubspot, expired=True)
    source = OAuthTokenSource()
    flow.disconnect(None)
    with pytest.raises(errors.NotConfigured):
        source()
    assert fake_hubspot.oauth.refreshes == 0 and row().oauth_refresh_token == ""


# --- permissions --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", [None, "customer"])
def test_anonymous_and_customers_are_sent_to_log_in(users, oauth_app, who):
    client = client_for(users.get(who) if who else None)
    for response in (
        client.post(CONNECT_URL),
        client.post(DISCONNECT_URL),
        client.get(CALLBACK_PATH, {"code": "x", "state": "y"}),
    ):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("who", ["staff", "plain_staff"])
def test_staff_cannot_connect_or_disconnect(users, oauth_app, fake_hubspot, who):
    store_grant(fake_hubspot)
    client = client_for(users[who])
    assert client.post(CONNECT_URL).status_code == 403
    assert client.post(DISCONNECT_URL).status_code == 403
    assert client.get(CALLBACK_PATH, {"code": "x", "state": "y"}).status_code == 403
    assert row().oauth_refresh_token and fake_hubspot.oauth.revocations == 0
    assert flow.SESSION_KEY not in client.session


@pytest.mark.parametrize("who", ["admin", "superuser"])
def test_admins_can_connect_and_disconnect(users, oauth_app, fake_hubspot, who):
    client = client_for(users[who])
    page = connect(client)
    assert 'id="oauth-disconnect"' in page.content.decode()
    assert client.post(DISCONNECT_URL).status_code == 302
    assert fake_hubspot.oauth.revocations == 1 and row().oauth_refresh_token == ""


def test_a_form_save_does_not_write_back_tokens_refreshed_meanwhile(
    oauth_app, hubspot_admin, fake_hubspot
):
    from django.contrib.admin.sites import site

    store_grant(fake_hubspot)
    stale = row()  # the copy the admin's form was built on
    fresh = fake_hubspot.oauth.issue()
    newer = row()
    store_tokens(newer, fresh)  # another process refreshes meanwhile
    newer.save()
    stale.portal_id = "999"
    request = type("Request", (), {"user": hubspot_admin})()
    site._registry[HubSpotSettings].save_model(request, stale, None, True)
    s = row()
    assert s.portal_id == "999" and s.oauth_access_token == fresh["access_token"]


# --- the fake's OAuth server (so the tests above prove what they claim) -------------------------------
def _post(fake, path, form):
    request = urllib.request.Request(fake.url + path, data=urlencode(form).encode())
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            text = answer.read().decode()
            return answer.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read().decode())


def test_fake_codes_are_single_use_and_bound_to_the_redirect_uri(fake_hubspot):
    authorize = (
        fake_hubspot.url
        + "/oauth/authorize?"
        + urlencode(
            {
                "client_id": FAKE_CLIENT_ID,
                "redirect_uri": "http://panel.test/cb/",
                "scope": " ".join(flow.ALWAYS_SCOPES),
                "state": "s",
            }
        )
    )
    code = parse_qs(urlsplit(consent(authorize)).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "client_id": FAKE_CLIENT_ID,
        "client_secret": FAKE_CLIENT_SECRET,
        "redirect_uri": "http://other.test/cb/",
        "code": code,
    }
    status, body = _post(fake_hubspot, TOKEN_PATH, form)
    assert status == 400 and body["error"] == "invalid_grant"
    status, body = _post(
        fake_hubspot, TOKEN_PATH, {**form, "redirect_uri": "http://panel.test/cb/"}
    )
    assert status == 400 and body["status"] == "BAD_AUTH_CODE"  # used up by the first try

    code = parse_qs(urlsplit(consent(authorize)).query)["code"][0]
    good = {**form, "redirect_uri": "http://panel.test/cb/", "code": code}
    status, body = _post(fake_hubspot, TOKEN_PATH, {**good, "client_secret": "wrong"})
    assert status == 400 and body["error"] == "invalid_client"
    code = parse_qs(urlsplit(consent(authorize)).query)["code"][0]
    status, tokens = _post(fake_hubspot, TOKEN_PATH, {**good, "code": code})
    assert status == 200 and tokens["token_type"] == "bearer" and tokens["expires_in"] == 1800
    assert tokens["hub_id"] == FAKE_PORTAL_ID and "oauth" in tokens["scopes"]

    creds = {"client_id": FAKE_CLIENT_ID, "client_secret": FAKE_CLIENT_SECRET}
    _, info = _post(
        fake_hubspot, TOKEN_PATH + "/introspect", {**creds, "token": tokens["refresh_token"]}
    )
    assert info["token_use"] == "refresh_token" and info["active"] is True
    _, info = _post(
        fake_hubspot, TOKEN_PATH + "/introspect", {**creds, "token": tokens["access_token"]}
    )
    assert info["token_use"] == "access_token" and info["hub_id"] == FAKE_PORTAL_ID
    assert info["client_id"] == FAKE_CLIENT_ID and 0 < info["expires_in"] <= 1800

    assert (
        _post(fake_hubspot, TOKEN_PATH + "/revoke", {**creds, "token": tokens["refresh_token"]})[0]
        == 200
    )
    _, info = _post(
        fake_hubspot, TOKEN_PATH + "/introspect", {**creds, "token": tokens["access_token"]}
    )
    assert info == {"active": False}
    status, body = _post(
        fake_hubspot,
        TOKEN_PATH,
        {**creds, "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert status == 400 and body["status"] == "BAD_REFRESH_TOKEN"


def test_fake_refuses_an_install_url_that_does_not_fit_the_app(fake_hubspot):
    def page(**query):
        url = (
            fake_hubspot.url
            + "/oauth/authorize?"
            + urlencode(
                {"client_id": FAKE_CLIENT_ID, "redirect_uri": "http://panel.test/cb/", **query}
            )
        )
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    assert page(scope="oauth crm.objects.contacts.read")[0] == 400  # a required scope left out
    status, text = page(scope=" ".join(flow.ALWAYS_SCOPES) + " crm.objects.deals.read")
    assert status == 400 and "mismatch" in text  # an optional scope in `scope`
    status, text = page(scope=" ".join(flow.ALWAYS_SCOPES), optional_scope="tickets")
    assert status == 400 and "insufficient" in text
    assert page(scope=" ".join(flow.ALWAYS_SCOPES))[0] == 200
