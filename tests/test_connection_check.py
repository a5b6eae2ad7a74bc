"""Each outcome of the connection check, through the fake HubSpot and the real SDK."""

import socket
import subprocess
import sys

import pytest
from django.core.management import call_command

from hubspot_integration.models import HubSpotSettings
from hubspot_integration.services.connection import check_connection
from tests.fake_hubspot import FAKE_TOKEN

pytestmark = pytest.mark.django_db


def by_name(report):
    return {c.name: c for c in report.checks}


def test_healthy_account_passes_every_check_and_stores_the_region(hubspot_settings, fake_hubspot):
    fake_hubspot.account["dataHostingLocation"] = "eu1"
    fake_hubspot.account["uiDomain"] = "app-eu1.hubspot.com"
    report = check_connection()
    assert report.success, report
    checks = by_name(report)
    assert list(checks) == [
        "credential",
        "api_version",
        "token",
        "portal_id",
        "region",
        "scopes",
        "webhooks",
        "legacy_endpoints",
        "rate_limit",
        "round_trip",
    ]
    assert "eu1" in checks["region"].message
    assert "left in this window" in checks["rate_limit"].message
    assert "ms" in checks["round_trip"].message
    stored = HubSpotSettings.objects.get()
    assert stored.data_hosting_region == "eu1"
    assert stored.ui_domain == "app-eu1.hubspot.com"
    assert stored.last_check_ok is True
    assert HubSpotSettings.load().data_hosting_region == "eu1"
    # The real SDK sent the bearer token to the account-info endpoint.
    assert fake_hubspot.count("GET", "/account-info/2026-09/details") == 1


def test_wrong_token(hubspot_settings, fake_hubspot):
    hubspot_settings.access_token = "pat-na1-00000000-0000-0000-0000-000000000000"
    hubspot_settings.save()
    report = check_connection()
    assert not report.success
    token = by_name(report)["token"]
    assert not token.ok and "Wrong token" in token.message and "401" in token.message
    assert HubSpotSettings.objects.get().last_check_ok is False


def test_portal_id_mismatch(hubspot_settings):
    hubspot_settings.portal_id = "999"
    hubspot_settings.save()
    check = by_name(check_connection())["portal_id"]
    assert not check.ok
    assert "999 does not match" in check.message


def test_missing_scopes_are_named(hubspot_settings, fake_hubspot):
    limited = "pat-na1-99999999-2222-3333-4444-555555555555"
    fake_hubspot.add_token(limited, scopes=["crm.objects.contacts.read"])
    hubspot_settings.access_token = limited
    hubspot_settings.tickets_enabled = True
    hubspot_settings.chat_enabled = True
    hubspot_settings.save()
    check = by_name(check_connection())["scopes"]
    assert not check.ok
    assert "crm.objects.contacts.write (for contacts)" in check.message
    assert "tickets (for tickets)" in check.message
    assert "conversations.visitor_identification.tokens.create" in check.message
    assert "crm.objects.contacts.read" not in check.message.replace("contacts.read)", "")


def test_scopes_follow_the_enabled_features(hubspot_settings, fake_hubspot):
    only_contacts = "pat-na1-88888888-2222-3333-4444-555555555555"
    fake_hubspot.add_token(
        only_contacts, scopes=["crm.objects.contacts.read", "crm.objects.contacts.write"]
    )
    hubspot_settings.access_token = only_contacts
    hubspot_settings.save()
    assert by_name(check_connection())["scopes"].ok


def test_rate_limited(hubspot_settings, fake_hubspot):
    fake_hubspot.faults.burst_429(1, retry_after=3)
    report = check_connection()
    token = by_name(report)["reach"]
    assert not token.ok and "Rate limited" in token.message and "429" in token.message


def test_hubspot_down(hubspot_settings, fake_hubspot):
    fake_hubspot.faults.fail_next(1, status=503)
    token = by_name(check_connection())["reach"]
    assert not token.ok and "down" in token.message and "503" in token.message


def test_timeout(hubspot_settings, fake_hubspot, settings):
    settings.HUBSPOT_TIMEOUT = (1.0, 0.3)
    fake_hubspot.faults.latency(1.0)
    token = by_name(check_connection())["reach"]
    assert not token.ok and token.message.startswith("Timeout")


def test_the_headline_names_the_first_failing_cause(hubspot_settings, settings):
    settings.HUBSPOT_API_BASE_URL = "http://hubspot.invalid"
    report = check_connection()
    assert report.message.startswith("Connection check failed (reach): DNS failure")
    assert "token" not in report.message.split(":")[0]


def test_a_non_json_answer_is_reported_not_raised(hubspot_settings, fake_hubspot):
    fake_hubspot.faults.fail_next(1, status=200, body="<html>Sign in to the Wi-Fi</html>")
    reach = by_name(check_connection())["reach"]
    assert not reach.ok and "not JSON" in reach.message


def test_host_unreachable(hubspot_settings, settings):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.HUBSPOT_API_BASE_URL = f"http://127.0.0.1:{port}"
    token = by_name(check_connection())["reach"]
    assert not token.ok and token.message.startswith("Host unreachable")


def test_dns_failure(hubspot_settings, settings):
    settings.HUBSPOT_API_BASE_URL = "http://hubspot.invalid"
    token = by_name(check_connection())["reach"]
    assert not token.ok and token.message.startswith("DNS failure"), token.message


def test_dropped_connection(hubspot_settings, fake_hubspot):
    fake_hubspot.faults.drop_next(1, after_store=False)
    token = by_name(check_connection())["reach"]
    assert not token.ok and "dropped" in token.message.lower()


def test_low_rate_limit_headroom_is_reported(hubspot_settings, fake_hubspot):
    fake_hubspot.rate_limit(max_per_window=20, window_seconds=10)
    from hubspot_integration.credentials import get_client

    client = get_client()
    for _ in range(17):  # the check's own call is the 18th of 20
        client.account_details()
    check = by_name(check_connection())["rate_limit"]
    assert not check.ok and "headroom is low" in check.message


def test_token_info_unavailable_falls_back_to_probing(hubspot_settings, fake_hubspot):
    fake_hubspot.faults.fail_next(1, status=404, path_prefix="/oauth/v2/private-apps")
    check = by_name(check_connection())["scopes"]
    assert check.ok
    assert fake_hubspot.count("GET", "/crm/objects/2026-09/contacts") == 1


def test_no_token_stored(db, fake_hubspot):
    report = check_connection()
    assert not report.success
    assert report.checks[0].name == "credential" and not report.checks[0].ok
    assert "no service key is stored" in report.message
    assert fake_hubspot.count() == 0


def test_the_token_never_reaches_the_logs(hubspot_settings, fake_hubspot, caplog):
    caplog.set_level("DEBUG")
    fake_hubspot.faults.fail_next(1, status=500)
    check_connection()
    hubspot_settings.access_token = "pat-na1-00000000-0000-0000-0000-000000000000"
    hubspot_settings.save()
    check_connection()
    assert FAKE_TOKEN not in caplog.text
    assert "00000000-0000-0000-0000-000000000000" not in caplog.text


class TestCommand:
    def test_exit_zero_when_healthy(self, hubspot_settings, capsys):
        call_command("hubspot_check")
        out = capsys.readouterr().out
        assert "every check passed" in out and "portal_id" in out

    def test_exit_one_when_not(self, hubspot_settings, fake_hubspot, capsys):
        fake_hubspot.faults.down()
        with pytest.raises(SystemExit) as exit_info:
            call_command("hubspot_check")
        assert exit_info.value.code == 1
        assert "FAIL" in capsys.readouterr().out

    def test_json_output(self, hubspot_settings, capsys):
        import json

        call_command("hubspot_check", "--json")
        report = json.loads(capsys.readouterr().out)
        assert report["success"] is True and len(report["checks"]) == 10


def test_command_exit_status_in_a_real_process(tmp_path):
    """The exit status a monitoring script sees: 1 with nothing configured."""
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    db = tmp_path / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "CACHE_URL": "locmemcache://"}
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "-v0"], cwd=root, env=env, check=True)
    result = subprocess.run(
        [*run, "hubspot_check"], cwd=root, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "no service key is stored" in result.stdout


def test_every_scope_a_feature_needs_has_a_probe():
    # A scope without a probe could not be checked for a service key (no scope lookup there).
    from hubspot_integration.services.connection import FEATURES, PROBES

    assert [s for f in FEATURES for s in f.scopes if s not in PROBES] == []


def test_a_service_key_without_the_companies_scopes_is_told_so(hubspot_settings, fake_hubspot):
    """Companies' scopes come from its declaration and are probed like any object type's; a gap
    is named, and the rest of the panel still passes."""
    from tests.fake_hubspot.server import ALL_SCOPES

    key = "Zq9wE3rT5yU7iO1pA2sD4fG6hJ8kL0zXcVbN"
    held = [
        s
        for s in ALL_SCOPES
        if s not in ("crm.objects.companies.write", "crm.schemas.companies.write")
    ]
    fake_hubspot.add_token(key, scopes=held, kind="service_key")
    hubspot_settings.credential_type = "service_key"
    hubspot_settings.access_token = key
    hubspot_settings.save()
    check = by_name(check_connection())["scopes"]
    assert check.ok, check.message
    assert "Missing for optional features" in check.message
    assert "crm.objects.companies.write (for companies)" in check.message
    assert "crm.schemas.companies.write (for companies)" in check.message
    # Probed with writes that change nothing: an empty batch update, a property with no name.
    assert fake_hubspot.count("POST", "/crm/objects/2026-09/companies/batch/update") == 1
    assert fake_hubspot.count("POST", "/crm/properties/2026-09/companies") == 1
    assert fake_hubspot.objects("companies") == []
