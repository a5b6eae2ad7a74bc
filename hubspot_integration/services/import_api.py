"""Big CSV imports through HubSpot's CRM imports API: one upload, status polls, the row errors.

Above the settings page's "imports API above (rows)" a file is not sent as batch upserts of 100
(10,000 calls for a million rows): it is streamed to `POST /crm/imports/{version}` in one
multipart call, with a column mapping that upserts contacts by email. HubSpot then imports it on
its own; the worker polls its state (`poll`, a task enqueued again every
`HUBSPOT_IMPORT_API_POLL_SECONDS`, or `wait` in the command) and, once HubSpot is done, reads its
row errors page by page into the import's report. The `ContactImport` row carries the counts
HubSpot reports, so the progress page and summary are the same as for batch imports.

An outage while polling is not a failed import (HubSpot goes on importing): the poll is tried
again later, backing off up to `HUBSPOT_IMPORT_API_POLL_MAX_BACKOFF`, and the sweep polls any
import whose poller went quiet. A credential without the `crm.import` scope gets a 403 for the
upload: the file then goes through batch upserts, with a note saying so in the report.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext

from .. import errors
from ..conf import app_settings
from ..credentials import get_client
from ..models import ContactImport, HubSpotSettings
from . import queue
from .import_csv import Header, open_text, read_header

logger = logging.getLogger(__name__)

Status = ContactImport.Status
CONTACT_TYPE_ID = "0-1"  # HubSpot's objectTypeId of contacts
FINISHED = {"DONE", "FAILED", "CANCELED", "REVERTED"}
IMPORT_SCOPE = "crm.import"
UTF8_BOM = b"\xef\xbb\xbf"


def threshold(s: HubSpotSettings | None = None) -> int:
    s = s or HubSpotSettings.load()
    value = s.import_api_threshold_rows
    return app_settings.IMPORT_API_THRESHOLD_ROWS if value is None else int(value)


def wanted(total: int) -> bool:
    """A file of `total` data rows goes to the imports API (0 switches it off)."""
    limit = threshold()
    return bool(limit) and total > limit


def unsuitable(header: Header) -> str:
    """Why HubSpot's importer cannot take this file as it is ("" when it can)."""
    if header.delimiter != ",":
        return gettext("its columns are not separated by commas")
    if header.line != 1:
        return gettext(
            "its first line is blank (HubSpot reads the column names from the first line)"
        )
    return ""


def import_request(name: str, file_name: str, header: Header) -> dict:
    """The importRequest part: every column in file order, the known ones mapped to their
    property, email as the key that makes the import an upsert, the rest ignored."""
    mappings = []
    for index, column in enumerate(header.names):
        prop = header.columns.get(index)
        mapping = {"columnObjectTypeId": CONTACT_TYPE_ID, "columnName": column}
        if prop is None:
            mapping["ignored"] = True
        else:
            mapping["propertyName"] = prop
            if prop == "email":
                mapping["idColumnType"] = "HUBSPOT_ALTERNATE_ID"
        mappings.append(mapping)
    return {
        "name": name[:200],
        "files": [
            {
                "fileName": file_name,
                "fileFormat": "CSV",
                "fileImportPage": {"hasHeader": True, "columnMappings": mappings},
            }
        ],
    }


@contextmanager
def open_binary(source):
    """(binary file object, size) over a path, a stored upload or a file object."""
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            yield handle, os.fstat(handle.fileno()).st_size
    elif hasattr(source, "storage") and hasattr(source, "name"):  # FieldFile
        with source.storage.open(source.name, "rb") as handle:
            yield handle, source.storage.size(source.name)
    else:
        source.seek(0, os.SEEK_END)
        size = source.tell()
        source.seek(0)
        yield source, size


def submit(imp: ContactImport, run: int, source) -> bool:
    """Upload the file to HubSpot's imports API for `imp` (read by run `run`). False when the
    file must go through batch upserts instead (recorded as the import's note); raises
    HubSpotError when HubSpot could not be reached (nothing is known to be imported)."""
    with open_text(source) as stream:
        header, _ = read_header(stream)
    reason = unsuitable(header)
    if reason:
        note(
            imp,
            gettext("Sent by batch upserts, not HubSpot's imports API: %(reason)s.")
            % {"reason": reason},
        )
        return False
    file_name = (imp.original_name or Path(str(getattr(source, "name", source))).name)[:200]
    if not file_name.lower().endswith(".csv"):
        file_name += ".csv"
    request = import_request(f"SkyPanel import {imp.pk}: {file_name}", file_name, header)
    client = get_client(max_wait=app_settings.IMPORT_BATCH_MAX_WAIT)
    with open_binary(source) as (handle, size):
        start = handle.tell()
        if handle.read(len(UTF8_BOM)) != UTF8_BOM:  # Excel's BOM is not part of the first name
            handle.seek(start)
        try:
            answer = client.start_import(request, file_name, handle, size - handle.tell())
        except errors.ForbiddenError as err:
            scopes = ", ".join(err.missing_scopes or [IMPORT_SCOPE])
            logger.warning("Import %s: imports API refused (%s); batch upserts", imp.pk, scopes)
            note(
                imp,
                gettext(
                    "Sent by batch upserts of 100: the credential lacks the %(scopes)s scope "
                    "that HubSpot's imports API needs (add it to the service key or app to send "
                    "big files in one upload)."
                )
                % {"scopes": scopes},
            )
            return False
    hubspot_id = str(answer.get("id") or "")
    if not hubspot_id:
        raise errors.Unavailable(gettext("HubSpot accepted the import but named no import ID."))
    now = timezone.now()
    last_line = header.line + imp.total_rows
    if not ContactImport.objects.filter(pk=imp.pk, reader_run=run).update(
        hubspot_import_id=hubspot_id,
        hubspot_state=str(answer.get("state") or "STARTED"),
        note=gettext(
            "Uploaded to HubSpot's imports API in one call (HubSpot import %(id)s); the counts "
            "are HubSpot's."
        )
        % {"id": hubspot_id},
        heartbeat_at=now,
        read_finished_at=now,
        read_through_line=last_line,
        rejected_through_line=last_line,
    ):
        logger.warning("Import %s was taken over while it was uploaded", imp.pk)
    imp.refresh_from_db()
    logger.info("Import %s handed to HubSpot as import %s", imp.pk, hubspot_id)
    return True


def note(imp: ContactImport, text: str) -> None:
    imp.note = text
    ContactImport.objects.filter(pk=imp.pk).update(note=text)


# --- polling ------------------------------------------------------------------------------------
def poll(import_id: int) -> float | None:
    """Ask HubSpot once how the import is doing and record it. The seconds until the next poll,
    or None when it is finished (or not an imports-API import)."""
    imp = ContactImport.objects.filter(pk=import_id).first()
    if imp is None or not imp.hubspot_import_id or imp.status != Status.RUNNING:
        return None
    try:
        client = get_client(max_wait=app_settings.IMPORT_BATCH_MAX_WAIT)
        answer = client.get_import(imp.hubspot_import_id)
        state = str(answer.get("state") or "")
        counts = _counts(answer)
        if state in FINISHED:
            listed, complete = _errors(client, imp.hubspot_import_id)
    except errors.NotFound:
        _finish(imp, Status.FAILED, {}, [_line_error(None, _gone(imp))], "GONE")
        return None
    except (errors.HubSpotError, OSError) as err:
        # HubSpot goes on importing whatever happens here: wait and ask again.
        failures = imp.poll_failures + 1
        delay = min(
            app_settings.IMPORT_API_POLL_SECONDS * 2**failures,
            app_settings.IMPORT_API_POLL_MAX_BACKOFF,
        )
        ContactImport.objects.filter(pk=imp.pk).update(
            poll_failures=failures, heartbeat_at=timezone.now()
        )
        logger.warning(
            "Import %s: HubSpot's import %s could not be polled (%s); again in %.0f s",
            imp.pk,
            imp.hubspot_import_id,
            err,
            delay,
        )
        return delay
    if state not in FINISHED:
        _progress(imp, state, counts)
        return next_wait(imp)
    if not complete:
        # Rows HubSpot refused beyond those listed: counted, not listed (IMPORT_MAX_ERRORS).
        counts["rejected"] = max(counts["rejected"], len({e["line"] for e in listed}))
    else:
        counts["rejected"] = len({e["line"] for e in listed})
    status = Status.DONE if state == "DONE" else Status.FAILED
    if status == Status.FAILED:
        message = gettext("HubSpot's import %(id)s ended %(state)s.") % {
            "id": imp.hubspot_import_id,
            "state": state,
        }
        listed.insert(0, _line_error(None, message))
    _finish(imp, status, counts, listed, state)
    return None


def next_wait(imp: ContactImport) -> float:
    """Seconds until the next poll: half the import's age, within the two settings. A big file
    takes HubSpot minutes, so polls thin out as it runs (a geometric series: a 15-minute import
    is polled about 20 times, not 180)."""
    age = (timezone.now() - (imp.read_finished_at or imp.created_at)).total_seconds()
    low, high = app_settings.IMPORT_API_POLL_SECONDS, app_settings.IMPORT_API_POLL_MAX_SECONDS
    return min(max(low, age / 2), max(low, high))


def _gone(imp: ContactImport) -> str:
    return gettext("HubSpot no longer knows its import %(id)s; its outcome is unknown.") % {
        "id": imp.hubspot_import_id
    }


def _counts(answer: dict) -> dict:
    counters = (answer.get("metadata") or {}).get("counters") or {}
    return {
        "created": int(counters.get("CREATED_OBJECTS") or 0),
        "updated": int(counters.get("UPDATED_OBJECTS") or 0),
        # Rows refused so far, where HubSpot says ([unverified] while it runs); the error list
        # read at the end is the record.
        "rejected": int(counters.get("ERRORS") or 0),
    }


def _line_error(line, reason: str) -> dict:
    return {"line": line, "reason": reason}


def _errors(client, hubspot_id: str) -> tuple[list[dict], bool]:
    """HubSpot's row errors as the report's lines (at most IMPORT_MAX_ERRORS), and whether that
    is all of them."""
    kept: list[dict] = []
    after = None
    while True:
        page = client.import_errors(hubspot_id, after=after)
        for error in page["results"]:
            if len(kept) >= app_settings.IMPORT_MAX_ERRORS:
                return kept, False
            source = error.get("sourceData") or {}
            message = error.get("errorMessage") or error.get("errorType") or gettext("refused")
            kind = error.get("errorType") or "ERROR"
            kept.append(
                _line_error(
                    source.get("lineNumber"),
                    gettext("HubSpot refused it (%(kind)s): %(message)s")
                    % {"kind": kind, "message": message},
                )
            )
        after = page["next_after"]
        if not after:
            return kept, True


def _progress(imp: ContactImport, state: str, counts: dict) -> None:
    done = counts["created"] + counts["updated"] + counts["rejected"]
    ContactImport.objects.filter(pk=imp.pk, status=Status.RUNNING).update(
        hubspot_state=state,
        created_count=counts["created"],
        updated_count=counts["updated"],
        rejected_count=counts["rejected"],
        processed_rows=min(done, imp.total_rows),
        poll_failures=0,
        heartbeat_at=timezone.now(),
    )


def _finish(imp: ContactImport, status, counts: dict, listed: list[dict], state: str) -> None:
    done = sum(counts.values())
    kept = [*(e for e in (imp.errors or []) if e.get("line") is None), *listed]
    ContactImport.objects.filter(pk=imp.pk, status=Status.RUNNING).update(
        status=status,
        hubspot_state=state[:16],
        created_count=counts.get("created", imp.created_count),
        updated_count=counts.get("updated", imp.updated_count),
        rejected_count=counts.get("rejected", imp.rejected_count),
        processed_rows=min(done, imp.total_rows) if counts else imp.processed_rows,
        errors=kept[: app_settings.IMPORT_MAX_ERRORS],
        poll_failures=0,
        heartbeat_at=timezone.now(),
        finished_at=timezone.now(),
    )


def schedule(imp: ContactImport, delay: float | None = None) -> bool:
    """Queue the next poll of `imp` in `delay` seconds (the sweep polls it if the queue is down)."""
    delay = app_settings.IMPORT_API_POLL_SECONDS if delay is None else delay
    return queue.enqueue(
        queue.POLL_CONTACT_IMPORT,
        imp.pk,
        what=f"the next poll of contact import {imp.pk}",
        fallback="the sweep will poll it",
        run_after=timezone.now() + timedelta(seconds=delay),
    )


def poll_and_schedule(import_id: int) -> None:
    """The worker's task: one poll, and the next one queued while HubSpot is not done."""
    delay = poll(import_id)
    if delay is not None:
        imp = ContactImport.objects.filter(pk=import_id).first()
        if imp is not None:
            schedule(imp, delay)


def wait(
    imp: ContactImport,
    progress: Callable[[int], None] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll until HubSpot is done, in this process (the command, the bench), reporting rows
    done to `progress` as HubSpot counts them."""
    reported = imp.processed_rows
    while True:
        delay = poll(imp.pk)
        imp.refresh_from_db()
        if progress and imp.processed_rows > reported:
            progress(imp.processed_rows - reported)
            reported = imp.processed_rows
        if delay is None:
            return
        sleep(delay)


def poll_quiet(limit: int = 20) -> int:
    """The sweep: poll every imports-API import nobody polled within the lease (its task was
    lost, or the queue was down). Returns how many were polled."""
    cutoff = timezone.now() - timedelta(seconds=app_settings.IMPORT_LEASE_SECONDS)
    quiet = list(
        ContactImport.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff)
        .exclude(hubspot_import_id="")
        .order_by("heartbeat_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in quiet:
        poll_and_schedule(pk)
    return len(quiet)
