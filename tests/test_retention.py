"""Retention: the sweep purges finished records older than their days, in bounded batches, and
never a write still owed to HubSpot, an event not yet applied or an import still going."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hubspot_integration.models import (
    ContactImport,
    CustomerTicket,
    HubSpotSettings,
    OutboxOperation,
    SettingsAuditEntry,
    TicketNotification,
    WebhookEvent,
)
from hubspot_integration.services import retention
from tests.helpers import client_for
from tests.test_settings_admin import CHANGE_URL, form_data

pytestmark = pytest.mark.django_db

Status = OutboxOperation.Status
CONFIG = "/api/admin/settings/hubspot/config"
UPDATE = "/api/admin/settings/hubspot"
LOGGER = "hubspot_integration.services.retention"


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def write(status: str, *, finished_days_ago: float | None, age_days: float = 0) -> OutboxOperation:
    op = OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_CONTACT,
        status=status,
        payload={"properties": {"email": "someone@example.com"}},
    )
    completed = days_ago(finished_days_ago) if finished_days_ago is not None else None
    # update() because created_at/updated_at are set by Django on save.
    OutboxOperation.objects.filter(pk=op.pk).update(
        completed_at=completed, created_at=days_ago(age_days), updated_at=days_ago(age_days)
    )
    return op


def event(event_id: str, *, processed_days_ago: float | None, received_days_ago: float = 0):
    e = WebhookEvent.objects.create(
        event_id=event_id,
        subscription_type="ticket.propertyChange",
        processed_at=days_ago(processed_days_ago) if processed_days_ago is not None else None,
    )
    WebhookEvent.objects.filter(pk=e.pk).update(received_at=days_ago(received_days_ago))
    return e


def an_import(status: str, *, finished_days_ago: float | None, age_days: float = 0):
    imp = ContactImport(
        original_name="contacts.csv",
        status=status,
        total_rows=3,
        created_count=2,
        rejected_count=1,
        errors=[{"line": 3, "reason": "email 'x' is not a valid email address"}],
        finished_at=days_ago(finished_days_ago) if finished_days_ago is not None else None,
    )
    imp.file.save("contacts.csv", ContentFile(b"email\na@example.com\nx\n"), save=True)
    ContactImport.objects.filter(pk=imp.pk).update(created_at=days_ago(age_days))
    return imp


def audit(days: float) -> SettingsAuditEntry:
    return SettingsAuditEntry.objects.create(at=days_ago(days), source="admin", summary="Changed")


def set_days(**days) -> None:
    s = HubSpotSettings.get_solo()
    for name, value in days.items():
        setattr(s, f"retention_{name}_days", value)
    s.save()


def stored(imp: ContactImport) -> bool:
    return imp.file.storage.exists(imp.file.name)


# --- what goes and what stays ----------------------------------------------------------------
def test_the_defaults_are_the_readme_s():
    s = HubSpotSettings.get_solo()
    assert (
        s.retention_outbox_days,
        s.retention_webhook_event_days,
        s.retention_csv_file_days,
        s.retention_import_report_days,
        s.retention_audit_days,
    ) == (90, 30, 7, 90, 365)


def test_finished_writes_older_than_their_days_go_and_younger_stay():
    old_ok = write(Status.SUCCEEDED, finished_days_ago=91, age_days=91)
    old_discarded = write(Status.DISCARDED, finished_days_ago=100, age_days=120)
    young = write(Status.SUCCEEDED, finished_days_ago=89, age_days=200)  # finished recently
    assert retention.purge().outbox == 2
    left = set(OutboxOperation.objects.values_list("pk", flat=True))
    assert left == {young.pk}
    assert old_ok.pk not in left and old_discarded.pk not in left


def test_a_pending_running_or_failed_write_stays_however_old():
    kept = [
        write(Status.PENDING, finished_days_ago=None, age_days=5000),
        write(Status.RUNNING, finished_days_ago=None, age_days=5000),
        # A write that failed for good has completed_at set: it waits for an admin all the same.
        write(Status.FAILED, finished_days_ago=5000, age_days=5000),
    ]
    set_days(outbox=1)
    assert retention.purge().outbox == 0
    assert set(OutboxOperation.objects.values_list("pk", flat=True)) == {op.pk for op in kept}


def test_a_purged_write_leaves_its_customer_ticket_with_its_hubspot_id():
    op = write(Status.SUCCEEDED, finished_days_ago=365)
    ticket = CustomerTicket.objects.create(
        email="c@example.com", subject="Help", hubspot_id="777", operation=op
    )
    assert retention.purge().outbox == 1
    ticket.refresh_from_db()
    assert ticket.operation is None and ticket.hubspot_id == "777"


def test_applied_webhook_events_go_after_their_days_and_an_unapplied_one_stays():
    event("old-applied", processed_days_ago=31, received_days_ago=31)
    event("young-applied", processed_days_ago=29, received_days_ago=40)
    event("never-applied", processed_days_ago=None, received_days_ago=400)
    assert retention.purge().webhook_events == 1
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {
        "young-applied",
        "never-applied",
    }


def test_the_csv_file_leaves_storage_and_the_import_keeps_its_summary():
    old = an_import(ContactImport.Status.DONE, finished_days_ago=8, age_days=8)
    young = an_import(ContactImport.Status.DONE, finished_days_ago=6, age_days=6)
    name = old.file.name
    assert stored(old)
    done = retention.purge()
    assert (done.csv_files, done.import_reports) == (1, 0)
    assert not old.file.storage.exists(name)
    old.refresh_from_db()
    assert not old.file
    assert (old.status, old.total_rows, old.created_count, old.rejected_count) == ("done", 3, 2, 1)
    assert old.errors == [{"line": 3, "reason": "email 'x' is not a valid email address"}]
    young.refresh_from_db()
    assert stored(young)
    # The next pass finds nothing more to do: the blanked file is not counted again.
    assert retention.purge().total == 0


def test_an_import_report_goes_after_its_days_with_any_file_still_stored():
    set_days(csv_file=0)  # files kept forever: the record's own purge must not orphan one
    old = an_import(ContactImport.Status.FAILED, finished_days_ago=91, age_days=91)
    young = an_import(ContactImport.Status.DONE, finished_days_ago=80, age_days=80)
    name = old.file.name
    done = retention.purge()
    assert (done.csv_files, done.import_reports) == (0, 1)
    assert list(ContactImport.objects.values_list("pk", flat=True)) == [young.pk]
    assert not old.file.storage.exists(name)
    assert stored(young)


@pytest.mark.parametrize("status", [ContactImport.Status.QUEUED, ContactImport.Status.RUNNING])
def test_a_queued_or_running_import_is_untouched(status):
    imp = an_import(status, finished_days_ago=None, age_days=1000)
    set_days(csv_file=1, import_report=1)
    assert retention.purge().total == 0
    imp.refresh_from_db()
    assert imp.file and stored(imp) and imp.status == status


def test_audit_entries_go_after_their_days():
    audit(366)
    young = audit(364)
    assert retention.purge().audit_entries == 1
    assert list(SettingsAuditEntry.objects.values_list("pk", flat=True)) == [young.pk]


def test_zero_days_keeps_a_kind_forever():
    write(Status.SUCCEEDED, finished_days_ago=10_000)
    audit(10_000)
    set_days(outbox=0, audit=0)
    assert retention.purge().total == 0
    assert OutboxOperation.objects.count() == 1 and SettingsAuditEntry.objects.count() == 1


# --- bounded work ----------------------------------------------------------------------------
def deletes_from(queries, table: str) -> int:
    return sum(1 for q in queries if q["sql"].upper().startswith("DELETE") and table in q["sql"])


def test_batches_delete_by_key_lists_until_every_old_row_is_gone(settings):
    settings.HUBSPOT_RETENTION_BATCH_SIZE = 2
    for _ in range(5):
        audit(400)
    keep = audit(1)
    with CaptureQueriesContext(connection) as queries:
        assert retention.purge().audit_entries == 5
    assert deletes_from(queries.captured_queries, SettingsAuditEntry._meta.db_table) == 3
    assert list(SettingsAuditEntry.objects.values_list("pk", flat=True)) == [keep.pk]


def test_the_cap_per_pass_leaves_the_rest_for_the_next_pass(settings):
    settings.HUBSPOT_RETENTION_BATCH_SIZE = 2
    settings.HUBSPOT_RETENTION_MAX_PER_PASS = 3
    for n in range(5):
        event(f"e{n}", processed_days_ago=60)
    for _ in range(4):
        write(Status.SUCCEEDED, finished_days_ago=200)
    first = retention.purge()
    assert (first.webhook_events, first.outbox) == (3, 3)  # the cap is per kind
    assert WebhookEvent.objects.count() == 2 and OutboxOperation.objects.count() == 1
    second = retention.purge()
    assert (second.webhook_events, second.outbox) == (2, 1)
    assert retention.purge().total == 0


def test_settled_ticket_emails_go_with_the_webhook_events_and_owed_ones_stay():
    ticket = CustomerTicket.objects.create(email="a@example.com", subject="x", hubspot_id="9")
    long_ago = timezone.now() - timedelta(days=40)
    N = TicketNotification.Status
    for i, status in enumerate([N.SENT, N.SKIPPED, N.PENDING, N.FAILED, N.SENDING]):
        note = TicketNotification.objects.create(
            ticket=ticket, key=f"event:{i}", kind=TicketNotification.Kind.STAGE, status=status
        )
        TicketNotification.objects.filter(pk=note.pk).update(created_at=long_ago, sent_at=None)
    recent = TicketNotification.objects.create(
        ticket=ticket, key="event:9", kind=TicketNotification.Kind.STAGE, status=N.SENT
    )
    assert retention.purge().ticket_emails == 2
    assert set(TicketNotification.objects.values_list("status", flat=True)) == {
        N.PENDING,
        N.FAILED,
        N.SENDING,
        N.SENT,  # the recent one
    }
    assert TicketNotification.objects.filter(pk=recent.pk).exists()


# --- the log and the sweep -------------------------------------------------------------------
def test_one_log_line_counts_each_kind(caplog):
    write(Status.SUCCEEDED, finished_days_ago=100)
    write(Status.DISCARDED, finished_days_ago=100)
    event("applied", processed_days_ago=40)
    an_import(ContactImport.Status.DONE, finished_days_ago=10)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        retention.purge()
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert lines == [
        "Retention purge: 2 outbox rows, 1 webhook event, 0 ticket emails, 1 CSV file, "
        "0 import reports, 0 audit entries"
    ]


def test_a_pass_with_nothing_to_purge_logs_nothing(caplog):
    write(Status.SUCCEEDED, finished_days_ago=1)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert retention.purge().total == 0
    assert [r for r in caplog.records if r.name == LOGGER] == []


def test_the_sweep_command_purges(caplog, capsys):
    old = write(Status.SUCCEEDED, finished_days_ago=100)
    pending = write(Status.PENDING, finished_days_ago=None, age_days=100)
    OutboxOperation.objects.filter(pk=pending.pk).update(next_attempt_at=days_ago(-1))  # not due
    audit(400)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        call_command("hubspot_sweep")
    assert not OutboxOperation.objects.filter(pk=old.pk).exists()
    assert OutboxOperation.objects.filter(pk=pending.pk, status=Status.PENDING).exists()
    assert not SettingsAuditEntry.objects.exists()
    assert "purged 2" in capsys.readouterr().out
    assert any(r.getMessage().startswith("Retention purge: 1 outbox row,") for r in caplog.records)


# --- the settings page and the API -----------------------------------------------------------
RETENTION_POST = {
    "retention_outbox_days": "60",
    "retention_webhook_event_days": "14",
    "retention_csv_file_days": "0",
    "retention_import_report_days": "30",
    "retention_audit_days": "730",
}


def test_the_settings_page_shows_and_saves_the_retention_days(hubspot_admin):
    client = client_for(hubspot_admin)
    html = client.get(CHANGE_URL).content.decode()
    assert re.search(r"<h2[^>]*>Retention</h2>", html) and "are never purged" in html
    assert 'name="retention_outbox_days"' in html
    response = client.post(CHANGE_URL, form_data(**RETENTION_POST))
    assert response.status_code == 302, response.content.decode()[:2000]
    s = HubSpotSettings.objects.get()
    assert (
        s.retention_outbox_days,
        s.retention_webhook_event_days,
        s.retention_csv_file_days,
        s.retention_import_report_days,
        s.retention_audit_days,
    ) == (60, 14, 0, 30, 730)
    [entry] = SettingsAuditEntry.objects.all()
    assert "keep finished outbox writes (days)" in entry.summary


@pytest.mark.parametrize(
    "value,message",
    [("-1", "greater than or equal to 0"), ("", "0 keeps them forever"), ("40000", "36,500")],
)
def test_the_settings_page_refuses_bad_days(hubspot_admin, value, message):
    data = form_data()
    data["retention_outbox_days"] = value  # present even when blank, as a browser sends it
    response = client_for(hubspot_admin).post(CHANGE_URL, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert HubSpotSettings.get_solo().retention_outbox_days == 90


def test_the_api_shows_the_retention_days(hubspot_admin):
    data = client_for(hubspot_admin).get(CONFIG).json()["data"]
    assert {k: v for k, v in data.items() if k.startswith("retention")} == {
        "retentionOutboxDays": 90,
        "retentionWebhookEventDays": 30,
        "retentionCsvFileDays": 7,
        "retentionImportReportDays": 90,
        "retentionAuditDays": 365,
    }


def test_the_api_saves_the_retention_days(hubspot_admin):
    response = client_for(hubspot_admin).put(
        UPDATE, {"retentionWebhookEventDays": 10, "retentionAuditDays": 0}, "application/json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["retentionWebhookEventDays"] == 10
    s = HubSpotSettings.load()
    assert (s.retention_webhook_event_days, s.retention_audit_days) == (10, 0)


@pytest.mark.parametrize("value", [-1, 36501, "many"])
def test_the_api_refuses_bad_days_naming_the_key(hubspot_admin, value):
    response = client_for(hubspot_admin).put(
        UPDATE, {"retentionOutboxDays": value}, "application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Invalid input: retentionOutboxDays."
    [problem] = body["details"]["retentionOutboxDays"]
    assert "days" in problem or "integer" in problem
    assert HubSpotSettings.load().retention_outbox_days == 90
