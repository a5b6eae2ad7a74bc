"""Django's error pages never show a secret, not even with DEBUG=true.

A failing view's technical 500 page lists its local variables, POST fields, cookies, headers and
settings; `hubspot_integration.error_reports` hides the token, the webhook secret, credentials in
headers and cookies, and anything whose name says token/secret/key, wherever it appears.
"""

from __future__ import annotations

import secrets
import sys
import time
import uuid

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django.utils.module_loading import import_string
from django.views.debug import get_default_exception_reporter_filter

from tests.helpers import client_for

# Made at run time: the debug page shows the source lines around each frame, and a literal there
# would be "found" on the page whatever the filter does.
TOKEN = f"pat-na1-{uuid.uuid4()}"
BEARER = f"Token {secrets.token_hex(20)}"
COOKIE = secrets.token_hex(16)
HUB_SIGNATURE = secrets.token_urlsafe(32)
WEBHOOK_SECRET = f"whsec-{secrets.token_hex(8)}"
REDIS_PASSWORD = secrets.token_hex(8)


def failing_view(request):
    token = TOKEN  # noqa: F841 - what the page must hide
    config = {"portal": "12345678", "apiKey": TOKEN, "nested": [{"client_secret": WEBHOOK_SECRET}]}  # noqa: F841
    note = f"pasted {TOKEN} into the form"  # noqa: F841 - a secret under a harmless name
    seen = request.headers["Authorization"]  # noqa: F841
    url = f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0"  # noqa: F841
    raise RuntimeError(f"forced failure while holding {TOKEN}")


def fine_view(request):
    return HttpResponse("ok")


urlpatterns = [path("fail/", failing_view), path("fine/", fine_view)]


def technical_page(client: Client, url: str, **extra) -> str:
    response = client.post(url, **extra)
    assert response.status_code == 500
    html = response.content.decode()
    assert "Traceback" in html  # it is Django's debug page, not a plain error
    return html


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


# django_db: the session cookie is looked up before the view (the signed-in user's language).
@pytest.mark.django_db
@pytest.mark.urls("tests.test_error_pages")
def test_debug_page_of_a_view_holding_a_token_shows_no_secret(debug):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = COOKIE
    html = technical_page(
        client,
        "/fail/?access_token=" + TOKEN,
        data={"new_token": TOKEN, "webhook_secret": WEBHOOK_SECRET, "comment": f"mine is {TOKEN}"},
        HTTP_AUTHORIZATION=BEARER,
        HTTP_X_HUBSPOT_SIGNATURE_V3=HUB_SIGNATURE,
    )
    assert "forced failure" in html and "failing_view" in html
    for secret in (TOKEN, BEARER.split()[1], COOKIE, HUB_SIGNATURE, WEBHOOK_SECRET, REDIS_PASSWORD):
        assert secret not in html, secret
    # Still a useful page: harmless values are shown.
    assert "12345678" in html and "cache.internal" in html


def test_settings_holding_secrets_are_hidden(debug):
    debug.SKYPANEL_TEST_CACHE_URL = f"redis://user:{REDIS_PASSWORD}@cache.internal:6379/0"
    debug.SOME_SERVICE = {"private_key": "-----BEGIN", "host": "a.example.com"}
    safe = get_default_exception_reporter_filter().get_safe_settings()
    assert REDIS_PASSWORD not in safe["SKYPANEL_TEST_CACHE_URL"]
    assert safe["SOME_SERVICE"]["private_key"] != "-----BEGIN"
    assert safe["SOME_SERVICE"]["host"] == "a.example.com"
    assert safe["SECRET_KEY"] != debug.SECRET_KEY
    assert safe["HUBSPOT_ENCRYPTION_KEYS"] != debug.HUBSPOT_ENCRYPTION_KEYS


def test_error_emails_hide_the_same(rf, settings):
    settings.DEBUG = False
    request = rf.post("/x/", {"new_token": TOKEN}, HTTP_AUTHORIZATION=BEARER)
    try:
        failing_view(request)
    except RuntimeError as err:
        assert TOKEN in str(err)  # the exception's own message carries the token ...
        reporter_class = import_string(settings.DEFAULT_EXCEPTION_REPORTER)
        text = reporter_class(request, *sys.exc_info(), is_email=True).get_traceback_text()
    assert "forced failure" in text
    assert TOKEN not in text and BEARER.split()[1] not in text  # ... the report does not


@pytest.mark.django_db
def test_a_failing_settings_save_shows_neither_token_nor_webhook_secret(
    debug, hubspot_admin, monkeypatch
):
    from tests.test_settings_admin import CHANGE_URL, form_data

    def broken_save(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("hubspot_integration.admin.settings.save_settings", broken_save)
    client = client_for(hubspot_admin)
    client.raise_request_exception = False
    html = technical_page(
        client,
        CHANGE_URL,
        data=form_data(portal_id="123", new_token=TOKEN, new_webhook_secret=WEBHOOK_SECRET),
    )
    assert "the database went away" in html
    assert TOKEN not in html and WEBHOOK_SECRET not in html


@pytest.mark.django_db
def test_a_crash_inside_webhook_verification_does_not_show_the_client_secret(
    debug, hubspot_settings, monkeypatch
):
    hubspot_settings.webhook_secret = WEBHOOK_SECRET
    hubspot_settings.save()

    def broken(uri):
        raise RuntimeError("forced failure in the signature check")

    monkeypatch.setattr("hubspot_integration.webhooks.signed_uri", broken)
    client = Client(raise_request_exception=False)
    html = technical_page(
        client,
        "/hubspot/webhooks/",
        data=b"[]",
        content_type="application/json",
        HTTP_X_HUBSPOT_SIGNATURE_V3=HUB_SIGNATURE,
        HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=str(int(time.time() * 1000)),
    )
    assert "forced failure in the signature check" in html
    assert WEBHOOK_SECRET not in html and HUB_SIGNATURE not in html
