"""The production profile's hardening: deploy check, CSP per feature, login lock-out, JSON logs."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings

from hubspot_integration.csp import hubspot_sources
from hubspot_integration.models import HubSpotSettings
from skypanel.security import JsonFormatter, client_ip
from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CSP_MIDDLEWARE = "hubspot_integration.csp.HubSpotCSPMiddleware"


def _production_env(**extra):
    from cryptography.fernet import Fernet

    # The browser tests' async-safety opt-out must not leak into a production process.
    dropped = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DEBUG="false",
        SECRET_KEY="x" * 20 + "production-profile-test-key-0123456789",
        HUBSPOT_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="panel.example.com",
        HUBSPOT_API_BASE_URL="https://api.hubapi.com",
        HUBSPOT_FORMS_BASE_URL="https://api.hsforms.com",
    )
    env.update(extra)
    return env


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_check_deploy_passes_with_the_production_settings():
    result = _manage("check", "--deploy", env=_production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "security." not in output, output


def test_production_settings_switch_the_hardening_on():
    code = (
        "from django.conf import settings as s; import json; print(json.dumps(["
        "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_CONTENT_TYPE_NOSNIFF, s.SECURE_REFERRER_POLICY, "
        "list(s.SECURE_PROXY_SSL_HEADER or []), s.AXES_ENABLED, s.CSP_ENABLED, "
        "'hubspot_integration.csp.HubSpotCSPMiddleware' in s.MIDDLEWARE]))"
    )
    result = _manage("shell", "--no-imports", "-c", code, env=_production_env(TRUST_PROXY="true"))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == [
        True,
        True,
        True,
        31_536_000,
        True,
        "strict-origin-when-cross-origin",
        ["HTTP_X_FORWARDED_PROTO", "https"],
        True,
        True,
        True,
    ]


def _settings(**values):
    s = HubSpotSettings(enabled=True, portal_id="12345678", **values)
    return s


def test_csp_sources_follow_the_enabled_features():
    assert hubspot_sources(_settings()) == {}
    assert hubspot_sources(HubSpotSettings(enabled=False, chat_enabled=True)) == {}
    chat = hubspot_sources(_settings(chat_enabled=True))
    assert "js.hs-scripts.com" in chat["script-src"]
    assert "js.usemessages.com" in chat["script-src"]
    assert "app.hubspot.com" in chat["frame-src"]
    assert "js.hsforms.net" not in chat["script-src"]
    eu = hubspot_sources(_settings(chat_enabled=True, data_hosting_region="eu1"))
    assert "js-eu1.hs-scripts.com" in eu["script-src"]
    assert "app-eu1.hubspot.com" in eu["frame-src"]
    forms = hubspot_sources(_settings(contact_form_id="6c8f2f7e-8c0b-4d38-9f3e-1d9a3f0b7a11"))
    assert "js.hsforms.net" in forms["script-src"]
    assert "hs-scripts.com" not in " ".join(forms["script-src"])


@pytest.mark.django_db
def test_csp_header_on_pages_carries_only_the_enabled_hosts(client, settings):
    settings.MIDDLEWARE = [settings.MIDDLEWARE[0], CSP_MIDDLEWARE, *settings.MIDDLEWARE[1:]]
    s = HubSpotSettings.load()
    s.enabled, s.portal_id, s.access_token = True, "12345678", "pat-na1-" + "b" * 36
    s.save()
    header = client.get("/admin/login/")["Content-Security-Policy"]
    assert "default-src 'self'" in header and "hs-scripts.com" not in header
    assert "frame-src 'none'" in header
    s.chat_enabled = True
    s.save()
    header = client.get("/admin/login/")["Content-Security-Policy"]
    assert "js.hs-scripts.com" in header
    assert "frame-src 'self' app.hubspot.com" in header or "app.hubspot.com" in header
    assert "'none' app.hubspot.com" not in header


@pytest.mark.django_db
def test_csp_keeps_the_nonce_and_follows_policy_changes(settings):
    """The HubSpot hosts are computed once per settings version, but a changed base policy or
    HUBSPOT_CSP_EXTRA shows at once, and the per-response nonce still reaches script-src."""
    from csp.constants import NONCE, SELF

    s = HubSpotSettings.load()
    s.enabled, s.portal_id, s.access_token = True, "12345678", "pat-na1-" + "b" * 36
    s.chat_enabled = True
    s.save()
    policy = {"DIRECTIVES": {"default-src": [SELF], "script-src": [SELF, NONCE]}}
    settings.CONTENT_SECURITY_POLICY = policy
    settings.HUBSPOT_CSP_EXTRA = {"script-src": ["cdn-one.example.com"]}

    def script_src() -> str:
        # A page whose template used the nonce, as `<script nonce="{{ request.csp_nonce }}">`.
        from django.http import HttpResponse
        from django.test import RequestFactory

        from hubspot_integration.csp import HubSpotCSPMiddleware

        request = RequestFactory().get("/")
        middleware = HubSpotCSPMiddleware(lambda r: HttpResponse("<p>page</p>"))
        middleware.process_request(request)
        str(request.csp_nonce)
        response = middleware.process_response(request, HttpResponse("<p>page</p>"))
        header = response["Content-Security-Policy"]
        return next(d for d in header.split("; ") if d.startswith("script-src "))

    first, second = script_src(), script_src()
    assert "js.hs-scripts.com" in first and "cdn-one.example.com" in first
    nonces = [re.search(r"'nonce-([^']+)'", d).group(1) for d in (first, second)]
    assert nonces[0] != nonces[1]  # a fresh nonce per response, not a memoised one
    settings.HUBSPOT_CSP_EXTRA = {"script-src": ["cdn-two.example.com"]}
    changed = script_src()
    assert "cdn-two.example.com" in changed and "cdn-one.example.com" not in changed


@pytest.mark.django_db
def test_a_views_own_csp_update_still_applies(hubspot_settings):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from hubspot_integration.csp import HubSpotCSPMiddleware

    hubspot_settings.chat_enabled = True
    hubspot_settings.save()
    middleware = HubSpotCSPMiddleware(lambda r: HttpResponse())
    request = RequestFactory().get("/")
    middleware.process_request(request)
    response = HttpResponse("<p>page</p>")
    response._csp_update = {"img-src": ["images.example.com"]}  # what @csp_update sets
    header = middleware.process_response(request, response)["Content-Security-Policy"]
    img_src = next(d for d in header.split("; ") if d.startswith("img-src "))
    assert "images.example.com" in img_src and "track.hubspot.com" in img_src


@pytest.mark.django_db
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=5)
def test_repeated_failed_admin_logins_are_locked_out(client, hubspot_staff):
    statuses = [
        client.post("/admin/login/", {"username": "sam", "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert statuses[:4] == [200] * 4 and statuses[4] == 429, statuses
    # Locked: even the right password is refused for the cool-off time.
    right = client.post("/admin/login/", {"username": "sam", "password": PASSWORD})
    assert right.status_code == 429
    # Keyed by username and address: someone else from the same address still gets in.
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("other", password=PASSWORD, is_staff=True)
    assert (
        client.post("/admin/login/", {"username": "other", "password": PASSWORD}).status_code == 302
    )


def test_client_ip_trusts_only_the_configured_proxies(settings):
    rf = RequestFactory()
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"  # the spoofed left-most entry is ignored


def test_json_logs_are_redacted_one_object_per_line():
    from hubspot_integration.logging import RedactSecretsFilter

    record = logging.makeLogRecord(
        {
            "name": "x",
            "levelno": logging.ERROR,
            "levelname": "ERROR",
            "msg": "token %s",
            "args": ("pat-na1-12345678-aaaa-bbbb-cccc",),
        }
    )
    RedactSecretsFilter().filter(record)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "token [redacted]" and entry["level"] == "ERROR"
    assert "pat-na1" not in line
