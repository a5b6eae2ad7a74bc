"""Retention: records older than the days the settings page keeps them are purged by the sweep.

Only finished records go: an outbox write that succeeded or was discarded (never one pending,
running or failed: that is work or a decision still owed), a webhook event already applied, a
ticket email sent (or settled as not to be sent) after the webhook events' days, a finished
import's uploaded file and, later, its record; and settings audit entries. Each kind is
counted from the moment it finished (its own timestamp), and 0 days keeps that kind forever.

The work is bounded: rows are deleted by primary-key lists of `HUBSPOT_RETENTION_BATCH_SIZE`, each
in its own short statement (no one large DELETE locking a table on SQLite or PostgreSQL), and at
most `HUBSPOT_RETENTION_MAX_PER_PASS` rows of each kind are looked at per pass; the next pass
carries on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from ..conf import app_settings
from ..models import (
    ContactImport,
    HubSpotSettings,
    OutboxOperation,
    SettingsAuditEntry,
    TicketNotification,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

FINISHED_WRITES = (OutboxOperation.Status.SUCCEEDED, OutboxOperation.Status.DISCARDED)
FINISHED_IMPORTS = (ContactImport.Status.DONE, ContactImport.Status.FAILED)
SETTLED_EMAILS = (TicketNotification.Status.SENT, TicketNotification.Status.SKIPPED)


@dataclass
class Purged:
    outbox: int = 0
    webhook_events: int = 0
    ticket_emails: int = 0
    csv_files: int = 0
    import_reports: int = 0
    audit_entries: int = 0

    @property
    def total(self) -> int:
        return (
            self.outbox
            + self.webhook_events
            + self.ticket_emails
            + self.csv_files
            + self.import_reports
            + self.audit_entries
        )

    def __str__(self) -> str:
        return ", ".join(
            [
                _counted(self.outbox, "outbox row"),
                _counted(self.webhook_events, "webhook event"),
                _counted(self.ticket_emails, "ticket email"),
                _counted(self.csv_files, "CSV file"),
                _counted(self.import_reports, "import report"),
                _counted(self.audit_entries, "audit entry", "audit entries"),
            ]
        )


def _counted(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def purge(*, now: datetime | None = None) -> Purged:
    """One bounded pass over every kind; what was purged. Logs one line when anything went."""
    s = HubSpotSettings.load()
    now = now or timezone.now()
    done = Purged()

    cutoff = _cutoff(s.retention_outbox_days, now)
    if cutoff:
        done.outbox = _delete_rows(
            OutboxOperation.objects.filter(status__in=FINISHED_WRITES).filter(
                _older("completed_at", "updated_at", cutoff)
            )
        )
    cutoff = _cutoff(s.retention_webhook_event_days, now)
    if cutoff:
        # An event not yet applied has processed_at unset: the filter never matches it.
        done.webhook_events = _delete_rows(WebhookEvent.objects.filter(processed_at__lt=cutoff))
        # The record of an email owed goes with the events that caused it; one still owed stays.
        done.ticket_emails = _delete_rows(
            TicketNotification.objects.filter(status__in=SETTLED_EMAILS).filter(
                _older("sent_at", "created_at", cutoff)
            )
        )
    cutoff = _cutoff(s.retention_csv_file_days, now)
    if cutoff:
        done.csv_files = _in_batches(_finished_imports(cutoff).exclude(file=""), _drop_files)
    cutoff = _cutoff(s.retention_import_report_days, now)
    if cutoff:
        done.import_reports = _in_batches(_finished_imports(cutoff), _drop_imports)
    cutoff = _cutoff(s.retention_audit_days, now)
    if cutoff:
        done.audit_entries = _delete_rows(SettingsAuditEntry.objects.filter(at__lt=cutoff))

    if done.total:
        logger.info("Retention purge: %s", done)
    return done


def _cutoff(days: int, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days else None


def _older(field: str, fallback: str, cutoff: datetime) -> Q:
    # Rows finished before the timestamp existed (or by a path that did not set it) are judged
    # by the fallback, so they are not kept forever by accident.
    return Q(**{f"{field}__lt": cutoff}) | Q(
        **{f"{field}__isnull": True, f"{fallback}__lt": cutoff}
    )


def _finished_imports(cutoff: datetime) -> QuerySet:
    return ContactImport.objects.filter(status__in=FINISHED_IMPORTS).filter(
        _older("finished_at", "created_at", cutoff)
    )


# --- batches ---------------------------------------------------------------------------------
def _in_batches(queryset: QuerySet, handle) -> int:
    """`handle(queryset, pks)` for the queryset's rows, a batch of primary keys at a time, in
    key order, until the per-pass cap; the sum of what it returned.

    Walking on from the last key (not re-reading the first rows) means a row `handle` could not
    purge is not met again in the same pass."""
    size = max(1, app_settings.RETENTION_BATCH_SIZE)
    cap = max(0, app_settings.RETENTION_MAX_PER_PASS)
    seen = purged = 0
    last = None
    while seen < cap:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        pks = list(page.values_list("pk", flat=True)[: min(size, cap - seen)])
        if not pks:
            break
        seen += len(pks)
        last = pks[-1]
        with transaction.atomic():
            # The queryset's conditions again, with the keys: a row that changed since it was
            # listed (a failed write an admin just retried) is no longer deleted.
            purged += handle(queryset.filter(pk__in=pks), pks)
    return purged


def _delete_rows(queryset: QuerySet) -> int:
    return _in_batches(queryset, _delete)


def _delete(batch: QuerySet, pks) -> int:
    model: type[Model] = batch.model
    _total, per_model = batch.delete()
    return per_model.get(model._meta.label, 0)


def _remove_file(imp: ContactImport) -> bool:
    """Delete an import's uploaded file from storage; False (logged) when storage refused."""
    if not imp.file:
        return True
    try:
        imp.file.storage.delete(imp.file.name)
    except OSError:
        logger.warning("Retention: could not delete the uploaded file of import %s", imp.pk)
        return False
    return True


def _drop_files(batch: QuerySet, pks) -> int:
    removed = [imp.pk for imp in batch.only("pk", "file") if _remove_file(imp)]
    # The row keeps its summary and row errors; only the reference to the file goes.
    return ContactImport.objects.filter(pk__in=removed).update(file="")


def _drop_imports(batch: QuerySet, pks) -> int:
    # A file still stored (its own days are longer) goes with its record, never left orphaned.
    removed = [imp.pk for imp in batch.only("pk", "file") if _remove_file(imp)]
    return _delete(ContactImport.objects.filter(pk__in=removed), removed)
