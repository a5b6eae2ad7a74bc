"""CSV contact imports: stream the file, upsert by email in batches through the outbox, count.

Each batch of up to 100 contacts is one outbox operation (`IMPORT_BATCH`), so a transient failure
leaves the batch pending for the worker and the import goes on with the next one; upsert by email
makes a retried batch harmless. The counts on the `ContactImport` row are changed only by
`_record()`, under a row lock, from three places: the reading loop (rejected rows), and the outbox's
success and failure signals (a batch's created, updated and failed rows, whenever it settles). An
import is done when every row is counted.

Duplicate emails in one file: the last row wins, as if the rows were sent one by one. Within a
batch they are merged into one input (HubSpot refuses a batch naming an email twice) and the later
lines count as updates; across batches the batches go in file order. One exception, by design: a
batch that was queued by a transient failure lands when the worker sends it, possibly after a
later batch with the same email.

One reader at a time holds an import (`claim()`): a run number on the row fences it, and a heartbeat
with a checkpoint is written with each batch in the batch's own transaction. When a worker dies
mid-file (or the task was never queued), the sweep sees no sign of life for
`HUBSPOT_IMPORT_LEASE_SECONDS`, takes the import over with the next run number and reads on from
the checkpoint: no row is sent or counted twice, and the old reader, should it wake, stops at its
next checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..conf import app_settings
from ..credentials import get_client
from ..crm import batch
from ..models import ContactImport, OutboxOperation
from . import import_api, outbox
from .import_csv import ImportFileError, count_rows, open_text, read_header, rows

logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # HubSpot's batch endpoints take at most 100 inputs

Kind = OutboxOperation.Kind
Status = ContactImport.Status
COUNTED_FAILED = "import_counted_failed"

__all__ = [
    "ImportFileError",
    "Summary",
    "ensure_configured",
    "resume_stalled",
    "run_import",
    "start_import",
    "summary",
]


class Superseded(errors.PanelError):
    """Another run took the import over (this one was thought dead): stop reading."""

    kind = "import_superseded"
    status_code = 409
    default_message = gettext_lazy("Another run took the import over.")


@dataclass
class Summary:
    total: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    failed: int = 0
    queued: int = 0  # rows in batches still pending in the outbox
    errors: list = field(default_factory=list)
    ignored_columns: list = field(default_factory=list)
    note: str = ""  # how the file went in (HubSpot's imports API, or why not)

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.rejected + self.failed

    @property
    def complete(self) -> bool:
        """Every row went in."""
        return self.total == self.created + self.updated


def start_import(name: str, *, user=None, upload=None) -> ContactImport:
    """The record of an import; with `upload` (an uploaded file) the file is stored with it."""
    contact_import = ContactImport(
        original_name=name[:255], requested_by=user if getattr(user, "pk", None) else None
    )
    if upload is not None:
        contact_import.file.save(name, upload, save=False)
    contact_import.save()
    return contact_import


def ensure_configured() -> None:
    """Raise NotConfigured (a HubSpotError) when HubSpot is off or has no token."""
    get_client()


def summary(contact_import: ContactImport) -> Summary:
    imp = contact_import
    counted = imp.created_count + imp.updated_count + imp.rejected_count + imp.failed_count
    return Summary(
        total=imp.total_rows,
        created=imp.created_count,
        updated=imp.updated_count,
        rejected=imp.rejected_count,
        failed=imp.failed_count,
        # Rows HubSpot's imports API has not reported are HubSpot's to import, not queued here.
        queued=(
            max(imp.total_rows - counted, 0)
            if imp.status != Status.QUEUED and not imp.hubspot_import_id
            else 0
        ),
        errors=sorted(imp.errors or [], key=lambda e: e.get("line") or 0),
        note=imp.note,
    )


def pending_batches(contact_import: ContactImport) -> int:
    return OutboxOperation.objects.filter(
        kind=Kind.IMPORT_BATCH,
        status__in=[OutboxOperation.Status.PENDING, OutboxOperation.Status.RUNNING],
        payload__import_id=contact_import.pk,
    ).count()


def claim(contact_import: ContactImport, *, takeover: bool = False) -> int | None:
    """Become the import's reader: its run number, or None when another run holds it. A queued
    import nobody started is free; `takeover` also takes one whose reader is stalled."""
    free = Q(status=Status.QUEUED, heartbeat_at__isnull=True)
    if takeover:
        free |= stalled_filter()
    now = timezone.now()
    with transaction.atomic():
        # One conditional UPDATE: two claimers never both win (the row is locked while it runs).
        if not ContactImport.objects.filter(free, pk=contact_import.pk).update(
            reader_run=F("reader_run") + 1, heartbeat_at=now
        ):
            return None
        contact_import.refresh_from_db()
    return contact_import.reader_run


def stalled_filter() -> Q:
    """Imports not finished reading whose reader shows no sign of life within the lease."""
    cutoff = timezone.now() - timedelta(seconds=app_settings.IMPORT_LEASE_SECONDS)
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    return Q(status__in=[Status.QUEUED, Status.RUNNING], read_finished_at__isnull=True) & silent


def run_import(
    contact_import: ContactImport,
    source=None,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    wait_for_hubspot: bool = False,
) -> Summary:
    """Import the file. `source` is a path or file (default: the stored upload); `progress` is
    called with the number of rows just handled. Raises ImportFileError (file unusable) or
    HubSpotError (HubSpot not configured) after recording it on the import. An import another
    run already reads is left to it.

    A file bigger than the settings' threshold goes to HubSpot's imports API (import_api.py);
    the worker then polls it, or this call does with `wait_for_hubspot` (the command)."""
    run = claim(contact_import)
    if run is None:
        logger.info("Import %s is read by another run already; leaving it", contact_import.pk)
        contact_import.refresh_from_db()
        return summary(contact_import)
    try:
        return _read(
            contact_import,
            run,
            source,
            batch_size=batch_size,
            progress=progress,
            wait_for_hubspot=wait_for_hubspot,
        )
    except Superseded:
        return _superseded(contact_import)


def resume_stalled(limit: int = 5) -> int:
    """Read on every import whose reader stalled (the sweep): queued ones nobody started, and
    running ones whose worker died, from their checkpoint. Returns how many were taken over."""
    taken = 0
    candidates = ContactImport.objects.filter(stalled_filter()).order_by("created_at", "pk")
    for pk in list(candidates.values_list("pk", flat=True)[:limit]):
        contact_import = ContactImport.objects.get(pk=pk)
        run = claim(contact_import, takeover=True)
        if run is None:
            continue  # someone else took it meanwhile
        taken += 1
        logger.warning(
            "Import %s stalled (no progress for %d s) at line %d; run %d reads on",
            pk,
            app_settings.IMPORT_LEASE_SECONDS,
            contact_import.read_through_line,
            run,
        )
        if not contact_import.file:
            # A command-line import: the file is on the machine that ran the command.
            _give_up(
                contact_import,
                _(
                    "The command reading the file stopped after line %(line)s; the rows after it "
                    "were not imported. Run manage.py hubspot_import_contacts again with the file "
                    "(rows already in are updated, not duplicated)."
                )
                % {"line": contact_import.read_through_line},
                keep_errors=True,
            )
            continue
        try:
            _read(contact_import, run, None, resume=True)
        except (ImportFileError, errors.HubSpotError):
            pass  # recorded on the import, shown on its page
        except Superseded:
            _superseded(contact_import)
    return taken + import_api.poll_quiet()


def _superseded(contact_import: ContactImport) -> Summary:
    logger.warning("Import %s was taken over by another run; this one stops", contact_import.pk)
    contact_import.refresh_from_db()
    return summary(contact_import)


def _read(
    imp: ContactImport,
    run: int,
    source=None,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    resume: bool = False,
    wait_for_hubspot: bool = False,
) -> Summary:
    batch_size = max(1, min(int(batch_size), BATCH_SIZE))
    source = source if source is not None else imp.file
    try:
        ensure_configured()  # now, not once per batch
        total = count_rows(source)
    except (ImportFileError, errors.HubSpotError) as err:
        _give_up(imp, str(err), keep_errors=resume)
        raise
    except Exception:
        # Whatever else goes wrong reading the file, the import must not stay "Queued" for ever.
        logger.exception("Contact import %s: the file could not be read", imp.pk)
        _give_up(
            imp,
            _("The file could not be read (an unexpected error, logged on the server)."),
            keep_errors=resume,
        )
        raise
    if not ContactImport.objects.filter(pk=imp.pk, reader_run=run).update(
        status=Status.RUNNING, total_rows=total, heartbeat_at=timezone.now()
    ):
        raise Superseded()
    imp.refresh_from_db()
    if import_api.wanted(total) and _via_imports_api(imp, run, source, progress, wait_for_hubspot):
        imp.refresh_from_db()
        result = summary(imp)
        with open_text(source) as stream:
            result.ignored_columns = read_header(stream)[0].ignored
        return result

    with open_text(source) as stream:
        header, records = read_header(stream)
        reader = _Reader(imp, run, batch_size, progress, resume=resume)
        for row in rows(header, records):
            reader.add(row)
        reader.finish()

    if imp.total_rows == 0:
        ContactImport.objects.filter(pk=imp.pk).update(
            status=Status.DONE, finished_at=timezone.now()
        )
    imp.refresh_from_db()
    result = summary(imp)
    result.ignored_columns = header.ignored
    return result


def _via_imports_api(imp: ContactImport, run: int, source, progress, wait: bool) -> bool:
    """Hand the file to HubSpot's imports API: True when HubSpot has it (or will get it when it
    is reachable again), False when it must go through batch upserts (the note says why)."""
    try:
        if not import_api.submit(imp, run, source):
            return False
    except (errors.Unavailable, errors.RateLimited) as err:
        if wait:  # the command: the person running it learns it now and can run it again
            _give_up(imp, f"Nothing was imported: HubSpot could not take the file ({err}).")
            raise
        # Nothing is known to be imported; the sweep reads the file on after the lease and
        # uploads it again (an upsert by email: an upload HubSpot did get is not doubled).
        minutes = max(1, round(app_settings.IMPORT_LEASE_SECONDS / 60))
        import_api.note(
            imp,
            f"HubSpot could not take the file ({err}); the upload is tried again within "
            f"{minutes} minute(s).",
        )
        return True
    except errors.ValidationFailed as err:
        logger.warning("Import %s: the imports API refused the file (%s)", imp.pk, err)
        import_api.note(
            imp, f"Sent by batch upserts of 100: HubSpot's imports API refused the file ({err})."
        )
        return False
    except errors.HubSpotError as err:
        _give_up(imp, str(err))
        raise
    if wait:
        import_api.wait(imp, progress)
    else:
        import_api.schedule(imp)
    return True


def _give_up(imp: ContactImport, message: str, *, keep_errors: bool = False) -> None:
    imp.status = Status.FAILED
    kept = list(imp.errors or []) if keep_errors else []
    imp.errors = [{"line": None, "reason": message}, *kept]
    imp.finished_at = timezone.now()
    imp.save(update_fields=["status", "errors", "finished_at"])


class _Reader:
    """Gathers rows into batches (merging repeated emails) and sends each as an outbox operation.

    Each hand-off writes a checkpoint with the run's heartbeat: every row up to `read_through` is
    in a batch or counted as rejected, every rejected row up to `rejected_through` is counted. A
    resumed run skips exactly those rows."""

    def __init__(self, imp: ContactImport, run: int, batch_size: int, progress, *, resume=False):
        self.imp = imp
        self.run = run
        self.batch_size = batch_size
        self.progress = progress or (lambda n: None)
        self.batch: dict[str, dict] = {}
        self.rejected: list[dict] = []
        self.rejected_count = 0
        self.last_line = 0
        self.skip_through = imp.read_through_line if resume else 0
        self.skip_rejected_through = imp.rejected_through_line if resume else 0

    def add(self, row) -> None:
        if row.line <= self.skip_through or (
            row.rejected and row.line <= self.skip_rejected_through
        ):
            return  # handed off by the run before this one
        self.last_line = max(self.last_line, row.line)
        if row.rejected:
            self.rejected_count += 1
            self.rejected.append({"line": row.line, "reason": row.reason})
            if self.rejected_count >= self.batch_size:
                self._flush_rejected()
            return
        email = row.properties["email"]
        entry = self.batch.get(email)
        if entry is None:
            self.batch[email] = {"email": email, "properties": row.properties, "lines": [row.line]}
        else:  # the last row wins, as if sent one after the other
            entry["properties"].update(row.properties)
            entry["lines"].append(row.line)
        if len(self.batch) >= self.batch_size:
            self._send()

    def finish(self) -> None:
        if self.batch:
            self._send()
        self._checkpoint(finished=True)

    def _checkpoint(self, *, finished: bool = False) -> None:
        """Record the rejected rows gathered so far and how far the hand-offs got, as this run
        (Superseded when another run holds the import now)."""
        rejected, count = self.rejected, self.rejected_count
        self.rejected, self.rejected_count = [], 0
        reader = {"run": self.run, "rejected_through": self.last_line, "finished": finished}
        if not self.batch:  # nothing read is waiting: every row so far is handed off
            reader["read_through"] = self.last_line
        _record(self.imp.pk, reader=reader, rejected=count, errors=rejected)
        if count:
            self.progress(count)

    def _flush_rejected(self) -> None:
        self._checkpoint()

    def _send(self) -> None:
        entries = list(self.batch.values())
        self.batch = {}
        payload = {"import_id": self.imp.pk, "rows": entries}
        # Counted by the signal receivers below, whether it lands now or from the worker later.
        # Recorded with the checkpoint in one transaction: a resumed run never sends it again.
        with transaction.atomic():
            self._checkpoint()
            operation = outbox.record(Kind.IMPORT_BATCH, payload, user=self.imp.requested_by)
        outbox.attempt(operation)
        self.progress(sum(len(e["lines"]) for e in entries))


def _record(
    import_id: int, *, drop_batch: int | None = None, errors=(), reader=None, **counts
) -> None:
    """Add to an import's counts under a row lock (the reader and workers write concurrently).
    `reader` (from the reader only) also moves its checkpoint and heartbeat, if it still holds
    the import."""
    with transaction.atomic():
        imp = ContactImport.objects.select_for_update().filter(pk=import_id).first()
        if imp is None:
            return  # the import was deleted; its batches still went to HubSpot
        fields = ["created_count", "updated_count", "rejected_count", "failed_count"]
        fields += ["errors", "processed_rows"]
        if reader is not None:
            if imp.reader_run != reader["run"]:
                raise Superseded()
            imp.heartbeat_at = timezone.now()
            imp.rejected_through_line = max(imp.rejected_through_line, reader["rejected_through"])
            if "read_through" in reader:
                imp.read_through_line = max(imp.read_through_line, reader["read_through"])
            if reader["finished"]:
                imp.read_finished_at = imp.heartbeat_at
            fields += ["heartbeat_at", "rejected_through_line", "read_through_line"]
            fields += ["read_finished_at"]
        for name, value in counts.items():
            setattr(imp, f"{name}_count", getattr(imp, f"{name}_count") + value)
        kept = [e for e in (imp.errors or []) if drop_batch is None or e.get("batch") != drop_batch]
        imp.errors = kept + list(errors)[: max(app_settings.IMPORT_MAX_ERRORS - len(kept), 0)]
        counted = imp.created_count + imp.updated_count + imp.rejected_count + imp.failed_count
        imp.processed_rows = min(counted, imp.total_rows)
        if imp.status == Status.RUNNING and counted >= imp.total_rows:
            imp.status = Status.DONE
            imp.finished_at = timezone.now()
            fields += ["status", "finished_at"]
        imp.save(update_fields=fields)


# --- the outbox side ----------------------------------------------------------------------------
def _upsert_batch(client, payload, operation):
    entries = payload["rows"]
    client = get_client(max_wait=app_settings.IMPORT_BATCH_MAX_WAIT)
    found = batch.upsert(
        client,
        "contacts",
        {e["email"]: {"id": e["email"], "properties": e["properties"]} for e in entries},
        id_property="email",
        # HubSpot names each refused row (207, the rows carry trace IDs); a batch it refuses
        # whole fails whole, for an admin's retry, rather than costing up to 199 calls.
        split=False,
    )
    whole = {id(o): o for o in found.values() if isinstance(o, errors.HubSpotError)}
    if len(whole) == 1 and len(found) > 1 and all(isinstance(o, Exception) for o in found.values()):
        raise next(iter(whole.values()))  # the batch as one: queued (transient) or failed
    unreached = [o for o in whole.values() if o.transient]
    if unreached:
        # HubSpot (or the way to it) failed, not a row: the batch stays queued whole. Upsert by
        # email makes sending its rows that did go in once more harmless.
        raise unreached[0]
    data = tally(entries, found)
    # An admin's retry of a batch already counted as failed: its rows move to their real outcome.
    data["replaces_failure"] = bool((operation.result or {}).get(COUNTED_FAILED))
    return outbox.Result("", data)


# Installed by AppConfig.ready() (`outbox.register`): kind -> handler.
OUTBOX_HANDLERS = {Kind.IMPORT_BATCH: _upsert_batch}


def tally(entries: list[dict], found: dict) -> dict:
    """Created, updated and failed rows (with HubSpot's reason by line) from each email's
    outcome (`crm.batch.upsert`): a refused contact fails its own lines only."""
    created = updated = failed = 0
    failures = []
    for entry in entries:
        lines = entry["lines"]
        outcome = found.get(entry["email"])
        if isinstance(outcome, dict):
            # Repeated lines of one email are updates of the contact the first one wrote.
            first_new = bool(outcome.get("new"))
            created += 1 if first_new else 0
            updated += len(lines) - (1 if first_new else 0)
            continue
        failed += len(lines)
        # HubSpot's own message stays as HubSpot wrote it; the sentence around it is the panel's.
        reason = (
            _("HubSpot refused it: %(message)s") % {"message": outcome.message}
            if outcome
            else _("HubSpot did not return this contact")
        )
        failures += [{"line": line, "reason": reason} for line in lines]
    return {"created": created, "updated": updated, "failed": failed, "errors": failures}


def _lines(payload: dict) -> list[int]:
    return [line for entry in payload.get("rows", []) for line in entry["lines"]]


def batch_succeeded(operation: OutboxOperation) -> None:
    """Count a batch HubSpot took (receivers.py calls it when its operation succeeds)."""
    data = operation.result or {}
    undo = len(_lines(operation.payload)) if data.get("replaces_failure") else 0
    _record(
        operation.payload["import_id"],
        drop_batch=operation.pk if undo else None,
        created=data.get("created", 0),
        updated=data.get("updated", 0),
        failed=data.get("failed", 0) - undo,
        errors=data.get("errors", []),
    )


def batch_failed(operation: OutboxOperation) -> None:
    """Count a batch's rows as failed (receivers.py calls it when its operation fails for good)."""
    lines = _lines(operation.payload)
    reason = _("not imported: %(error)s") % {"error": operation.last_error}
    _record(
        operation.payload["import_id"],
        failed=len(lines),
        errors=[{"line": line, "reason": reason, "batch": operation.pk} for line in lines],
    )
    # Remembered on the operation, so an admin's later successful retry can undo the count.
    OutboxOperation.objects.filter(pk=operation.pk).update(result={COUNTED_FAILED: True})
