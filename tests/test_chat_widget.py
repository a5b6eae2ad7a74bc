"""The tracking script and chat widget: host, identity, consent, escaping and cost."""

import json
import logging
import re

import pytest
from django.core.cache import cache
from django.template import Context, Template
from django.test import RequestFactory

from hubspot_integration.conf import app_settings
from hubspot_integration.models import HubSpotSettings
from tests.fake_hubspot import CONTACT_FORM_ID, FAKE_PORTAL_ID, FAKE_TOKEN
from tests.helpers import client_for

XSS = '"><script>alert("xss")</script><img src=x onerror=alert(1)>'
TOKEN_PATH = "/visitor-identification/2026-09/tokens/create"


@pytest.fixture
def customer(verified_customer):
    """These tests are about a customer the chat identifies: one whose email is confirmed."""
    return verified_customer


@pytest.fixture
def chat(hubspot_settings):
    hubspot_settings.chat_enabled = True
    hubspot_settings.save()
    return hubspot_settings


def render(user=None, source="{% load hubspot %}{% hubspot_tracking %}"):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    return Template(source).render(Context({"request": request}))


def widget_config(html: str) -> dict:
    match = re.search(r'<script id="hubspot-config" type="application/json">(.*?)</script>', html)
    assert match, html
    return json.loads(match.group(1))


def test_script_for_the_account_portal_and_na1_host(chat):
    html = render()
    assert (
        f'<script type="text/javascript" id="hs-script-loader" async defer '
        f'src="https://js.hs-scripts.com/{FAKE_PORTAL_ID}.js"></script>'
    ) in html


@pytest.mark.parametrize("region, host", [("eu1", "js-eu1"), ("na2", "js-na2"), ("ap1", "js-ap1")])
def test_script_host_follows_the_region(chat, region, host):
    chat.data_hosting_region = region
    chat.save()
    assert f"https://{host}.hs-scripts.com/{FAKE_PORTAL_ID}.js" in render()


def test_admin_override_wins(chat):
    chat.script_url_override = "https://cdn.example.com/hs/loader.js"
    chat.save()
    html = render()
    assert 'src="https://cdn.example.com/hs/loader.js"' in html
    assert "hs-scripts.com" not in html


@pytest.mark.parametrize(
    "setting",
    [
        {"enabled": False},
        {"chat_enabled": False},
        {"portal_id": ""},
    ],
)
def test_nothing_at_all_when_not_enabled(chat, setting):
    for name, value in setting.items():
        setattr(chat, name, value)
    chat.save()
    assert render().strip() == ""


def _force_settings(**values):
    """Put values the model would refuse (too long for PostgreSQL's columns, invalid) straight
    into the cached settings the page renders from, as a corrupted row would arrive."""
    from django.core.cache import cache

    from hubspot_integration.models import SETTINGS_CACHE_KEY

    s = HubSpotSettings.load()
    for name, value in values.items():
        setattr(s, name, value)
    cache.set(SETTINGS_CACHE_KEY, s._cache_snapshot())


def test_nothing_for_a_portal_id_that_is_not_digits(chat):
    # Written around the model's validation (and the column's length): the tag still refuses it.
    _force_settings(portal_id='1"><script>x</script>')
    assert render().strip() == ""


def test_xss_in_every_setting_is_escaped(chat, client):
    _force_settings(
        script_url_override="https://evil.example.com/" + XSS,
        data_hosting_region=XSS,
        contact_form_id=XSS,
        ticket_form_id=XSS,
        ui_domain=XSS,
        default_ticket_pipeline=XSS,
        default_ticket_stage=XSS,
    )
    html = render(
        source='{% load hubspot %}{% hubspot_tracking %}{% hubspot_form "contact" %}'
        '{% hubspot_form "ticket" %}'
    )
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html or "\\u003Cscript" in html
    page = client.get("/").content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page


def test_javascript_override_is_ignored(chat):
    HubSpotSettings.objects.filter(pk=1).update(script_url_override="javascript:alert(1)")
    HubSpotSettings.invalidate_cache()
    html = render()
    assert "javascript:" not in html
    assert f"https://js.hs-scripts.com/{FAKE_PORTAL_ID}.js" in html


def test_anonymous_visitor_gets_no_conversation_settings(chat, fake_hubspot):
    config = widget_config(render())
    assert config["conversations"] is None
    assert fake_hubspot.count("POST", TOKEN_PATH) == 0


def test_logged_in_customer_is_identified_once_per_window(chat, fake_hubspot, customer):
    config = widget_config(render(customer))
    tokens = fake_hubspot.identification_tokens
    assert len(tokens) == 1 and tokens[0]["email"] == "cus@example.com"
    assert config["conversations"] == {
        "loadImmediately": True,
        "identificationEmail": "cus@example.com",
        "identificationToken": tokens[0]["token"],
    }
    before = fake_hubspot.count()
    for _ in range(3):
        assert (
            widget_config(render(customer))["conversations"]["identificationToken"]
            == (tokens[0]["token"])
        )
    assert fake_hubspot.count() == before  # the cached token: no HubSpot call


def test_customer_markup_is_rebuilt_after_the_memo_window(
    chat, fake_hubspot, customer, monkeypatch
):
    """The per-process memo spares the shared cache on every page, but not for long: once it
    lapses the page asks the shared cache again, and HubSpot when the token is gone there."""
    from hubspot_integration.templatetags import hubspot as tags

    first = widget_config(render(customer))["conversations"]["identificationToken"]
    cache.clear()  # the shared token is gone (expired, or evicted)
    assert widget_config(render(customer))["conversations"]["identificationToken"] == first
    assert fake_hubspot.count("POST", TOKEN_PATH) == 1  # served from the memo

    later = tags.time.monotonic() + app_settings.VISITOR_MEMO_SECONDS + 1
    monkeypatch.setattr(tags.time, "monotonic", lambda: later)
    second = widget_config(render(customer))["conversations"]["identificationToken"]
    assert fake_hubspot.count("POST", TOKEN_PATH) == 2
    assert second != first


def test_a_changed_email_is_anonymous_until_confirmed_then_identified(chat, fake_hubspot, customer):
    from hubspot_integration.services.email_verification import mark_verified

    render(customer)
    customer.email = "new-address@example.com"
    customer.save()
    assert widget_config(render(customer))["conversations"] is None
    assert len(fake_hubspot.identification_tokens) == 1  # only the old address's
    mark_verified(customer)
    config = widget_config(render(customer))["conversations"]
    assert config["identificationEmail"] == "new-address@example.com"
    assert fake_hubspot.identification_tokens[-1]["email"] == "new-address@example.com"


def test_token_is_cached_below_its_twelve_hours(chat, customer, monkeypatch):
    from hubspot_integration.services import chat as chat_service

    assert app_settings.CHAT_TOKEN_TTL < 12 * 3600
    seen = {}

    class SpyCache:
        def get(self, key, default=None):
            return cache.get(key, default)

        def set(self, key, value, timeout=None):
            seen[key] = timeout
            cache.set(key, value, timeout)

    monkeypatch.setattr(chat_service, "cache", SpyCache())
    render(customer)
    assert list(seen.values()) == [app_settings.CHAT_TOKEN_TTL]
    assert str(customer.pk) in next(iter(seen))  # per user


def test_plan_without_identification_loads_anonymously_and_logs_once(
    chat, fake_hubspot, customer, caplog
):
    fake_hubspot.visitor_identification_allowed = False
    with caplog.at_level(logging.WARNING, logger="hubspot_integration.services.chat"):
        for _ in range(4):
            html = render(customer)
            assert widget_config(html)["conversations"] is None
            assert 'id="hs-script-loader"' in html  # the widget still loads
    assert fake_hubspot.count("POST", TOKEN_PATH) == 1
    warnings = [r for r in caplog.records if "identification failed" in r.getMessage()]
    assert len(warnings) == 1


def test_hubspot_down_loads_anonymously(chat, fake_hubspot, customer):
    fake_hubspot.faults.down()
    html = render(customer)
    assert widget_config(html)["conversations"] is None
    assert 'id="hs-script-loader"' in html


def test_customer_without_email_is_not_identified(chat, fake_hubspot, customer):
    customer.email = ""
    customer.save()
    assert widget_config(render(customer))["conversations"] is None
    assert fake_hubspot.count("POST", TOKEN_PATH) == 0


def test_wait_for_consent_holds_the_script_back(chat):
    chat.wait_for_consent = True
    chat.save()
    html = render()
    assert 'id="hs-script-loader"' not in html
    assert 'id="consent-banner"' in html
    config = widget_config(html)
    assert config["waitForConsent"] is True
    assert config["scriptUrl"] == f"https://js.hs-scripts.com/{FAKE_PORTAL_ID}.js"


def test_anonymous_page_costs_no_sql_and_no_hubspot_call(
    chat, client, fake_hubspot, django_assert_num_queries
):
    client.get("/")  # warms the settings cache
    before = fake_hubspot.count()
    with django_assert_num_queries(0):
        response = client.get("/")
    assert response.status_code == 200
    assert 'id="hs-script-loader"' in response.content.decode()
    assert FAKE_TOKEN not in response.content.decode()
    assert fake_hubspot.count() == before


def test_customer_page_makes_no_hubspot_call_once_identified(chat, fake_hubspot, customer):
    c = client_for(customer)
    c.get("/")
    before = fake_hubspot.count()
    response = c.get("/support/")
    assert "identificationToken" in response.content.decode()
    assert FAKE_TOKEN not in response.content.decode()
    assert fake_hubspot.count() == before


def test_hubspot_form_tag(hubspot_settings):
    assert render(source='{% load hubspot %}{% hubspot_form "contact" %}').strip() == ""
    hubspot_settings.contact_form_id = CONTACT_FORM_ID
    hubspot_settings.save()
    html = render(source='{% load hubspot %}{% hubspot_form "contact" %}')
    assert f'data-form-id="{CONTACT_FORM_ID}"' in html
    assert f'data-portal-id="{FAKE_PORTAL_ID}"' in html
    assert 'data-region="na1"' in html
    assert "js.hsforms.net/forms/embed/v2.js" in html
    assert render(source='{% load hubspot %}{% hubspot_form "ticket" %}').strip() == ""


def test_public_config_api(chat, client):
    chat.contact_form_id = CONTACT_FORM_ID
    chat.tickets_enabled = True
    chat.webhook_secret = "whsec-very-secret"
    chat.save()
    response = client.get("/api/hubspot/config")
    assert response.status_code == 200
    assert response.json() == {
        "enabled": True,
        "chatEnabled": True,
        "portalId": str(FAKE_PORTAL_ID),
        "scriptUrl": f"https://js.hs-scripts.com/{FAKE_PORTAL_ID}.js",
        "ticketEnabled": True,
        "ticketFormId": "",
        "contactFormId": CONTACT_FORM_ID,
    }
    body = response.content.decode()
    assert chat.access_token not in body and "whsec" not in body


def test_public_config_api_when_disabled(db, client, django_assert_num_queries):
    client.get("/api/hubspot/config")
    with django_assert_num_queries(0):
        data = client.get("/api/hubspot/config").json()
    assert data["enabled"] is False and data["chatEnabled"] is False and data["scriptUrl"] == ""


# --- momentary failures are not remembered; refusals are ----------------------------------------
def _page_token(response) -> str | None:
    conversations = widget_config(response.content.decode())["conversations"]
    return conversations["identificationToken"] if conversations else None


def test_no_room_in_the_shared_limiter_is_not_remembered(chat, fake_hubspot, customer):
    """The panel's own limiter (policy LOCAL, not HubSpot) had no room during one render: that
    page chats anonymously, and the next page is identified."""
    import time

    from hubspot_integration.credentials import get_client

    c = client_for(customer)
    get_client().limiter.block_for(0.6)  # as after a 429 seen by another process
    first = c.get("/")
    assert _page_token(first) is None
    assert fake_hubspot.count("POST", TOKEN_PATH) == 0  # held back here, HubSpot never asked
    time.sleep(0.7)
    second = c.get("/")
    assert _page_token(second) == fake_hubspot.identification_tokens[0]["token"]
    assert fake_hubspot.count("POST", TOKEN_PATH) == 1


def test_a_timeout_is_not_remembered(chat, fake_hubspot, customer, settings):
    settings.HUBSPOT_TIMEOUT = (1.0, 0.3)
    fake_hubspot.faults.latency(0.6, path_prefix=TOKEN_PATH)
    c = client_for(customer)
    assert _page_token(c.get("/")) is None
    fake_hubspot.faults.latency(0, path_prefix=TOKEN_PATH)
    assert _page_token(c.get("/")) is not None


@pytest.mark.parametrize("refusal", ["403", "401"])
def test_hubspots_refusal_is_remembered(chat, fake_hubspot, customer, refusal):
    if refusal == "403":
        fake_hubspot.visitor_identification_allowed = False  # the plan lacks the feature
    else:
        fake_hubspot.faults.fail_next(1, status=401, path_prefix=TOKEN_PATH)
    c = client_for(customer)
    for _ in range(3):
        response = c.get("/")
        assert _page_token(response) is None
        assert "private" not in response.get("Cache-Control", "")
    assert fake_hubspot.count("POST", TOKEN_PATH) == 1


def test_a_page_with_a_token_is_private_an_anonymous_one_is_not(chat, fake_hubspot, customer):
    from django.test import Client

    c = client_for(customer)
    for _ in range(2):  # the token from HubSpot, then from the per-process memo
        response = c.get("/")
        assert _page_token(response)
        assert "private" in response["Cache-Control"]
    anonymous = Client().get("/")
    assert _page_token(anonymous) is None
    assert "private" not in anonymous.get("Cache-Control", "")
