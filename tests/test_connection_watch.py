"""The connection watched: the sweep checks the connection once per interval, through the fake
HubSpot and the real SDK, and a failure shows as a banner, in /api/health and in one email."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import F
from django.test import Client

from hubspot_integration.models import ConnectionWatch, HubSpotSettings
from hubspot_integration.services import connection_watch
from hubspot_integration.services.sweep import sweep
from tests.fake_hubspot import ALL_SCOPES, FAKE_TOKEN
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

ACCOUNT = "/account-info/2026-09/details"
INTERVAL = 900
BANNER = 'id="hubspot-connection-banner"'
SETTINGS_PAGE = "/admin/hubspot_integration/hubspotsettings/1/change/"


@pytest.fixture(autouse=True)
def _interval(settings):
    settings.HUBSPOT_CONNECTION_CHECK_INTERVAL = INTERVAL


def checks(fake) -> int:
    """How many connection checks reached the fake: each one asks for the account first."""
    return fake.count("GET", ACCOUNT)


def later(seconds: float) -> None:
    """As if `seconds` passed: the watch's times move back (the clock itself cannot)."""
    delta = timedelta(seconds=seconds)
    ConnectionWatch.objects.update(
        claimed_at=F("claimed_at") - delta, checked_at=F("checked_at") - delta
    )


def page(user, path="/admin/") -> str:
    response = client_for(user).get(path)
    assert response.status_code == 200
    return response.content.decode()


def health() -> dict:
    response = Client().get("/api/health")
    assert response.status_code == 200  # a failed check never takes the instance out
    return response.json()["components"]["hubspot"]


def test_two_sweeps_within_the_interval_run_one_check(hubspot_settings, fake_hubspot):
    sweep()
    sweep()
    assert checks(fake_hubspot) == 1
    later(INTERVAL - 60)
    sweep()
    assert checks(fake_hubspot) == 1
    later(60)
    sweep()
    assert checks(fake_hubspot) == 2
    watch = ConnectionWatch.objects.get()
    assert watch.ok is True and watch.failures == [] and len(watch.history) == 2


def test_one_claim_per_interval_however_many_sweeps_ask(hubspot_settings):
    assert connection_watch.claim_due() is True
    assert [connection_watch.claim_due() for _ in range(5)] == [False] * 5


def test_a_revoked_token_raises_the_banner_within_one_interval_and_emails_once(
    hubspot_settings, fake_hubspot, superuser, hubspot_admin, hubspot_staff, caplog
):
    sweep()
    assert ConnectionWatch.objects.get().ok is True
    assert BANNER not in page(superuser)
    assert mail.outbox == []

    fake_hubspot.revoke_token(FAKE_TOKEN)
    later(INTERVAL)
    with caplog.at_level(logging.INFO, logger="hubspot_integration.services.connection_watch"):
        sweep()
        watch = ConnectionWatch.objects.get()
        assert watch.ok is False and watch.failing_since is not None
        assert [f["name"] for f in watch.failures] == ["token"]
        assert FAKE_TOKEN not in str(watch.failures) + watch.message

        # The admin index and the settings page show it, with the way to the settings.
        index = page(superuser)
        assert BANNER in index and "HubSpot connection failing since" in index
        assert "Wrong token" in index and SETTINGS_PAGE in index
        assert BANNER in page(hubspot_admin, SETTINGS_PAGE)
        # Staff see that it fails, but not the settings link they could not open.
        staff = page(hubspot_staff)
        assert BANNER in staff and "Wrong token" in staff and SETTINGS_PAGE not in staff

        # /api/health: time and verdict, the failing check by name only.
        component = health()
        assert component["last_check_ok"] is False and component["last_check_at"]
        assert component["last_check_message"] == "The last connection check failed: token."
        assert component["last_check_stale"] is False
        public = Client().get("/api/health").content.decode()
        assert "Wrong token" not in public and FAKE_TOKEN not in public

        # One email to the HubSpot admins (superusers and the group), none to staff.
        assert len(mail.outbox) == 1
        alert = mail.outbox[0]
        assert sorted(alert.to) == sorted([superuser.email, hubspot_admin.email])
        assert "failing" in alert.subject and "Wrong token" in alert.body
        assert FAKE_TOKEN not in alert.body

        for _ in range(3):  # still failing: checked again, never emailed again
            later(INTERVAL)
            sweep()
        assert checks(fake_hubspot) == 5 and len(mail.outbox) == 1

        fake_hubspot.add_token(FAKE_TOKEN, ALL_SCOPES)
        later(INTERVAL)
        sweep()
    assert ConnectionWatch.objects.get().ok is True
    assert BANNER not in page(superuser)
    assert health()["last_check_message"] == "The last connection check passed."
    assert len(mail.outbox) == 2 and "recovered" in mail.outbox[1].subject
    sweep()
    assert len(mail.outbox) == 2
    # A log line on each change of verdict, not on each failing check.
    changes = [r.getMessage() for r in caplog.records if r.name.endswith("connection_watch")]
    assert len(changes) == 2
    assert changes[0].startswith("HubSpot connection failing") and "recovered" in changes[1]


def test_an_admin_testing_the_fixed_settings_clears_the_banner_at_once(
    hubspot_settings, fake_hubspot, superuser
):
    fake_hubspot.revoke_token(FAKE_TOKEN)
    sweep()
    assert BANNER in page(superuser)
    fake_hubspot.add_token(FAKE_TOKEN, ALL_SCOPES)
    response = client_for(superuser).post(
        "/admin/hubspot_integration/hubspotsettings/test-connection/"
    )
    assert response.status_code in (200, 302)
    assert BANNER not in page(superuser)
    sweep()  # the check just ran, so none is due; the recovery email still goes
    assert checks(fake_hubspot) == 2
    assert [m.subject for m in mail.outbox] == [
        "HubSpot connection failing: token",
        "HubSpot connection recovered",
    ]


def test_a_removed_scope_is_named(hubspot_settings, fake_hubspot, superuser):
    fake_hubspot.add_token(FAKE_TOKEN, [s for s in ALL_SCOPES if s != "crm.objects.contacts.write"])
    sweep()
    index = page(superuser)
    assert BANNER in index and "crm.objects.contacts.write" in index
    assert health()["last_check_message"] == "The last connection check failed: scopes."


def test_hubspot_down_is_named_in_the_banner(hubspot_settings, fake_hubspot, superuser):
    fake_hubspot.faults.down()
    sweep()
    index = page(superuser)
    assert BANNER in index and "HubSpot is down" in index
    assert len(mail.outbox) == 1


def test_an_email_smtp_refused_is_sent_by_the_next_sweep(
    hubspot_settings, fake_hubspot, superuser, monkeypatch
):
    fake_hubspot.revoke_token(FAKE_TOKEN)
    real = connection_watch.send_mail
    monkeypatch.setattr(
        connection_watch, "send_mail", lambda *a, **k: (_ for _ in ()).throw(smtplib.SMTPException)
    )
    sweep()
    assert mail.outbox == [] and ConnectionWatch.objects.get().alerted is False
    monkeypatch.setattr(connection_watch, "send_mail", real)
    sweep()  # no check due: the email alone is retried
    sweep()
    assert checks(fake_hubspot) == 1 and len(mail.outbox) == 1


def test_not_configured_no_check_no_banner(db, fake_hubspot, superuser):
    s = HubSpotSettings.load()
    s.enabled = True
    s.save()
    sweep()
    assert checks(fake_hubspot) == 0 and not ConnectionWatch.objects.exists()
    assert BANNER not in page(superuser)
    assert health()["last_check_message"] == "No connection check has run."


def test_switched_off_after_a_failure_hides_the_banner(hubspot_settings, fake_hubspot, superuser):
    fake_hubspot.revoke_token(FAKE_TOKEN)
    sweep()
    hubspot_settings.enabled = False
    hubspot_settings.save()
    assert BANNER not in page(superuser)


def test_plain_staff_without_hubspot_permissions_sees_no_banner(
    hubspot_settings, fake_hubspot, plain_staff
):
    fake_hubspot.revoke_token(FAKE_TOKEN)
    sweep()
    assert BANNER not in page(plain_staff)


def test_interval_zero_switches_the_watch_off(hubspot_settings, fake_hubspot, settings):
    settings.HUBSPOT_CONNECTION_CHECK_INTERVAL = 0
    sweep()
    assert checks(fake_hubspot) == 0


def test_a_check_far_older_than_the_interval_shows_a_softer_notice(
    hubspot_settings, fake_hubspot, superuser
):
    sweep()
    later(connection_watch.STALE_INTERVALS * INTERVAL + 60)
    index = page(superuser)
    assert BANNER in index and 'class="warning"' in index and "has not been checked" in index
    assert "failing" not in index.split(BANNER)[1].split("</ul>")[0]
    assert health()["last_check_stale"] is True


def test_history_is_bounded(hubspot_settings, fake_hubspot, settings):
    settings.HUBSPOT_CONNECTION_CHECK_HISTORY = 2
    for _ in range(3):
        sweep()
        later(INTERVAL)
    assert len(ConnectionWatch.objects.get().history) == 2


def test_the_sweep_output_is_unchanged(hubspot_settings, fake_hubspot):
    done = sweep()
    assert done.total == 0 and checks(fake_hubspot) == 1
    assert str(done) == (
        "outbox 0, webhook events 0, ticket emails 0, imports 0, task results 0, purged 0"
    )
