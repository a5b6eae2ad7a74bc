"""Due writes of one kind sent together through HubSpot's batch endpoints, read back per input.

A worker attempting one outbox row takes the other due rows of its kind along (`drain`, up to
OUTBOX_BATCH_CLAIM) and sends them in batch calls of OUTBOX_BATCH_SIZE inputs; each row is
settled from HubSpot's answer for its own input, exactly as if it had been attempted alone.

Each input carries an `objectWriteTraceId` (the key the caller names it by): with it HubSpot
reports a refused input on its own (207 Multi-Status, the error naming the input in its
`context`), and the others go in. A batch HubSpot refuses whole (400, one bad value) is halved
until the input it refuses stands alone, so one bad row fails alone either way. A transient
failure (HubSpot down, 429) leaves every row of that call pending with its backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.utils.translation import gettext

from .. import errors
from ..conf import app_settings
from ..credentials import get_client
from ..services import outbox

logger = logging.getLogger(__name__)

Outcome = dict | errors.HubSpotError
# HubSpot's error categories -> the error a refused input is settled with.
REFUSALS = {
    "CONFLICT": (errors.Conflict, 409),
    "OBJECT_NOT_FOUND": (errors.NotFound, 404),
}


# --- the outbox side -------------------------------------------------------------------------------
def drain(operation, send_rows: Callable, *, alone: Callable | None = None) -> outbox.Result:
    """The handler of `operation`: it and the other due rows of its kind, through
    `send_rows(client, operations) -> {pk: Result | HubSpotError}`.

    With `alone` (the single-object call), the attempt a person's request makes at once
    (`outbox.attempt`) goes alone: it must not take a backlog's calls and seconds onto their
    page; the worker's attempts take the backlog along. `alone()` also serves when batching is
    off or no other row is due."""
    companions = []
    immediate = getattr(operation, "immediate", False)
    if app_settings.OUTBOX_BATCHING and (alone is None or not immediate):
        companions = outbox.claim_due_of_kind(
            operation.kind, app_settings.OUTBOX_BATCH_CLAIM - 1, exclude=[operation.pk]
        )
    if not companions and alone is not None:
        return alone()
    # A background batch may wait for the shared rate limiter longer than a page would.
    client = get_client(max_wait=app_settings.IMPORT_BATCH_MAX_WAIT)
    outcomes = _send_settling(client, send_rows, [operation, *companions], companions)
    if app_settings.OUTBOX_BATCHING and _took_any(outcomes):
        _drain_waiting(client, operation, send_rows)
    own = outcomes[operation.pk]
    if isinstance(own, Exception):
        raise own
    return own


def _took_any(outcomes: dict) -> bool:
    return any(not isinstance(o, Exception) for o in outcomes.values())


def _drain_waiting(client, operation, send_rows) -> None:
    """HubSpot has just taken a batch: the rows of this kind still backing off from an outage
    go now, drain after drain, rather than each when its own backoff ends (after a minute's
    outage that spreads a backlog over another minute). Bounded by half the lease."""
    started = time.monotonic()
    while time.monotonic() - started < app_settings.OUTBOX_LEASE_SECONDS / 2:
        rows = outbox.claim_due_of_kind(
            operation.kind, app_settings.OUTBOX_BATCH_CLAIM, exclude=[operation.pk], waiting=True
        )
        if not rows:
            return
        try:
            outcomes = _send_settling(client, send_rows, rows, rows)
        except errors.HubSpotError:
            return  # settled with the error; the handler's own row is not concerned
        except Exception:
            logger.exception("A drain of waiting %s rows raised", operation.kind)
            return
        if not _took_any(outcomes):
            return


def _send_settling(client, send_rows, rows, settled) -> dict:
    """Send `rows`, then settle those of `settled` (the claimed companions: the handler's own
    row is settled by the outbox) from the outcomes; on an exception, with it, and re-raise."""
    try:
        outcomes = send_rows(client, rows)
    except Exception as err:
        # Nothing was settled: every claimed row goes back with the same error (a bug retries).
        failure = err if isinstance(err, errors.HubSpotError) else outbox.internal_error(err)
        for op in settled:
            outbox.settle(op, failure)
        raise
    for op in settled:
        outbox.settle(op, outcomes[op.pk])
    return outcomes


def each(operations, fn: Callable) -> dict:
    """`fn(operation)` for each row, by primary key; what one row raises is that row's outcome
    (a bug in one row's data must not hold up the others)."""
    out = {}
    for op in operations:
        try:
            out[op.pk] = fn(op)
        except errors.HubSpotError as err:
            out[op.pk] = err
        except Exception as err:
            logger.exception("Outbox operation %s (%s) raised", op.pk, op.kind)
            out[op.pk] = outbox.internal_error(err)
    return out


def results(operations, outcomes: dict, key: Callable, make: Callable) -> dict:
    """Each row's Result (`make(record, operation)`) or error, from per-key outcomes; a row whose
    key has no outcome yet was refused before the call (its error is under its primary key)."""
    out = {}
    for op in operations:
        found = outcomes.get(key(op))
        out[op.pk] = found if isinstance(found, Exception) else make(found, op)
    return out


# --- the calls -----------------------------------------------------------------------------------
def upsert(
    client, object_type: str, inputs: dict[str, dict], id_property: str, *, split: bool = True
) -> dict:
    """Batch upsert: `inputs` by key, each `{"id", "properties"}`; each key's record or error."""
    return send(
        lambda items: client.batch_upsert(object_type, items, id_property=id_property),
        inputs,
        split=split,
    )


def update(client, object_type: str, inputs: dict[str, dict]) -> dict:
    """Batch update: `inputs` by key, each `{"id", "properties"}`; each key's record or error."""
    return send(lambda items: client.batch_update(object_type, items), inputs)


def create(client, object_type: str, inputs: dict[str, dict]) -> dict:
    """Batch create: `inputs` by key, each `{"properties"}`; each key's record or error (a 409
    Conflict for a record that exists, its ID in `existing_id` where HubSpot says it)."""
    return send(lambda items: client.batch_create(object_type, items), inputs)


def associate(client, from_type: str, to_type: str, pairs: list[tuple[str, str]]) -> dict:
    """Default links for (from ID, to ID) pairs: each pair's None (linked) or error."""
    out: dict[tuple[str, str], errors.HubSpotError | None] = {}
    size = app_settings.ASSOCIATION_BATCH_SIZE
    for start in range(0, len(pairs), size):
        chunk = pairs[start : start + size]
        try:
            answer = client.associate_default_batch(from_type, to_type, chunk)
        except errors.HubSpotError as err:
            out.update(dict.fromkeys(chunk, err))
            continue
        linked = {
            (str((r.get("from") or {}).get("id")), str((r.get("to") or {}).get("id")))
            for r in answer["results"]
        }
        problems = answer["errors"]
        for pair in chunk:
            if pair in linked or not problems:
                out[pair] = None
                continue
            named = [
                p
                for p in problems
                if {str(i) for v in (p.get("context") or {}).values() for i in v} & set(pair)
            ]
            out[pair] = refusal(named[0] if named else problems[0])
    return out


def send(call: Callable, inputs: dict[str, dict], *, split: bool = True) -> dict:
    """`inputs` by key through `call(items)` (one batch call: {"results", "errors"}), in calls of
    OUTBOX_BATCH_SIZE; each key's record or error. `split=False` takes a batch refused whole as
    every input's refusal instead of halving it (up to 2n - 1 calls when the cause is common to
    all inputs)."""
    out: dict[str, Outcome] = {}
    keys = list(inputs)
    size = app_settings.OUTBOX_BATCH_SIZE
    for start in range(0, len(keys), size):
        out.update(_send_chunk(call, {k: inputs[k] for k in keys[start : start + size]}, split))
    return out


def _send_chunk(call: Callable, chunk: dict[str, dict], split: bool) -> dict:
    try:
        answer = call([{**item, "trace": key} for key, item in chunk.items()])
    except (errors.ValidationFailed, errors.Conflict) as err:
        if len(chunk) == 1 or not split:
            return dict.fromkeys(chunk, err)
        # Refused whole for one input (a bad value; a record that exists, whose ID the message
        # names: it must not be taken as every input's): halve until that input stands alone.
        keys = list(chunk)
        half = len(keys) // 2
        first = _send_chunk(call, {k: chunk[k] for k in keys[:half]}, split)
        return {**first, **_send_chunk(call, {k: chunk[k] for k in keys[half:]}, split)}
    except errors.HubSpotError as err:
        return dict.fromkeys(chunk, err)
    return read_answer(chunk, answer)


def read_answer(chunk: dict[str, dict], answer: dict) -> dict:
    """Each input's record or error from one batch answer: results by their echoed trace ID (or
    the input's `id`), errors by the input their `context` names."""
    out: dict[str, Outcome] = {}
    by_id = {_norm(_natural_id(item)): key for key, item in chunk.items() if _natural_id(item)}
    for record in answer.get("results") or []:
        key = record.get("objectWriteTraceId")
        if key not in chunk:
            key = by_id.get(_norm(record.get("id"))) or next(
                (
                    by_id[_norm(v)]
                    for v in (record.get("properties") or {}).values()
                    if _norm(v) in by_id
                ),
                None,
            )
        if key is not None:
            out[key] = record
    unclaimed = []
    for problem in answer.get("errors") or []:
        context = problem.get("context") or {}
        named = [k for k in context.get("objectWriteTraceId") or [] if k in chunk]
        named += [by_id[_norm(i)] for i in context.get("ids") or [] if _norm(i) in by_id]
        for key in named:
            out.setdefault(key, refusal(problem))
        if not named:
            unclaimed.append(problem)
    left = [key for key in chunk if key not in out]
    for key in left:
        if len(left) == 1 and len(unclaimed) == 1:
            out[key] = refusal(unclaimed[0])
        elif unclaimed:
            messages = "; ".join(str(p.get("message") or "") for p in unclaimed)
            out[key] = errors.ValidationFailed(
                gettext("HubSpot refused it (one of: %(messages)s)") % {"messages": messages}
            )
        else:
            # Neither taken nor refused: say so and send it again (every write here is a retry-safe
            # upsert, update or keyed create).
            out[key] = errors.Unavailable(
                gettext(
                    "HubSpot's batch answer did not mention this record; it will be sent again."
                ),
                reason="bad_answer",
            )
    return out


def refusal(problem: dict) -> errors.HubSpotError:
    """One input's error from a batch answer, with HubSpot's message."""
    cls, status = REFUSALS.get(str(problem.get("category")), (errors.ValidationFailed, 400))
    return cls(
        str(problem.get("message") or gettext("HubSpot refused this record.")),
        status=status,
        category=str(problem.get("category") or ""),
        details=problem.get("errors") if isinstance(problem.get("errors"), list) else [],
    )


def _natural_id(item: dict) -> str:
    """What names an input where HubSpot echoes no trace ID: its `id`, or a contact's email."""
    return str(item.get("id") or (item.get("properties") or {}).get("email") or "")


def _norm(value) -> str:
    return str(value or "").strip().lower()
