"""The outbox: every write to HubSpot is a row first, then an attempt.

`submit()` records the operation in the caller's transaction, then tries it at once. A transient
failure (timeout, dropped connection, 5xx, 429) leaves the row pending with a backoff; a worker task
retries it. A permanent failure (400, 401, 403, 404) is marked failed with HubSpot's message.

Rows are claimed with a conditional UPDATE (atomic on SQLite and PostgreSQL), so two workers never
run the same operation at once, and a worker that dies mid-call leaves a lease that expires: the row
is picked up again, and the handlers' idempotency (upsert by email, a unique request key on
tickets) makes the second attempt harmless.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import credentials, errors
from ..conf import app_settings
from ..models import OutboxOperation
from ..signals import operation_failed, operation_succeeded
from . import queue

logger = logging.getLogger(__name__)

Status = OutboxOperation.Status

# kind -> handler(client, payload, operation) -> Result. Each service module lists its own in
# OUTBOX_HANDLERS; AppConfig.ready() registers them, and the system check hubspot.E010 names a
# kind left without one (rather than its operations retrying as an internal error).
HANDLERS: dict[str, Callable] = {}


@dataclass
class Result:
    object_id: str = ""
    data: dict | None = None


@dataclass
class Outcome:
    """What to tell the person who asked: done (with the object), queued, or failed (why)."""

    operation: OutboxOperation

    @property
    def status(self) -> str:
        return {
            Status.SUCCEEDED: "done",
            Status.FAILED: "failed",
            Status.DISCARDED: "failed",
        }.get(self.operation.status, "queued")

    @property
    def done(self) -> bool:
        return self.status == "done"

    @property
    def queued(self) -> bool:
        return self.status == "queued"

    @property
    def result(self) -> dict:
        return self.operation.result or {}

    @property
    def error(self) -> str:
        return self.operation.last_error

    @property
    def error_class(self) -> type[errors.PanelError]:
        """The class of the error that ended (or last held up) the operation, from its kind."""
        return errors.error_class(self.operation.last_error_kind)


def register(kind: str, fn: Callable) -> None:
    """Make `fn` the handler of `kind`; a second, different handler for a kind is a mistake."""
    current = HANDLERS.get(kind)
    if current is not None and current != fn:  # a bound method is a new object on each lookup
        raise ImproperlyConfigured(
            f"Outbox kind {kind!r} has two handlers: {_name(current)} and {_name(fn)}."
        )
    HANDLERS[kind] = fn


def unhandled_kinds() -> list[str]:
    """The operation kinds no handler is registered for (the system check reports them)."""
    kinds = [value for value, _ in OutboxOperation.KIND_CHOICES]
    return [kind for kind in kinds if kind not in HANDLERS]


def _name(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def record(kind: str, payload: dict, *, user=None) -> OutboxOperation:
    """Store the operation. Call inside the transaction of the user's own change."""
    return OutboxOperation.objects.create(
        kind=kind,
        payload=payload,
        requested_by=user if getattr(user, "pk", None) else None,
    )


def submit(kind: str, payload: dict, *, user=None, attempt_now: bool = True) -> Outcome:
    """Record the operation, then attempt it at once; a failure leaves it queued, never lost."""
    with transaction.atomic():
        operation = record(kind, payload, user=user)
    if not attempt_now:
        schedule(operation.pk)
        return Outcome(operation)
    return attempt(operation)


def attempt(operation: OutboxOperation) -> Outcome:
    """Try a recorded operation now (call after the transaction that recorded it)."""
    return Outcome(process(operation.pk, immediate=True))


def schedule(operation_id: int, *, run_after=None) -> None:
    """Hand the operation to the task queue. The outbox row, not the queue, is the truth: if this
    enqueue is lost, `process_due()` (run by the sweep) still finds the row when it is due."""
    queue.enqueue(
        queue.PROCESS_OPERATION,
        operation_id,
        what=f"outbox operation {operation_id}",
        run_after=run_after,
    )


def backoff_seconds(
    attempts: int,
    retry_after: float | None = None,
    *,
    base: float | None = None,
    cap: float | None = None,
) -> float:
    """Doubling from `base` up to `cap` (the outbox's settings unless given), with jitter."""
    base = app_settings.OUTBOX_BACKOFF_BASE_SECONDS if base is None else base
    cap = app_settings.OUTBOX_BACKOFF_CAP_SECONDS if cap is None else cap
    delay = min(base * (2 ** max(attempts - 1, 0)), cap)
    delay *= 0.8 + random.random() * 0.4  # jitter: a fleet of workers does not retry in step
    if retry_after:
        delay = max(delay, retry_after)
    return delay


def claim(operation_id: int) -> OutboxOperation | None:
    now = timezone.now()
    claimable = Q(status=Status.PENDING) | Q(status=Status.RUNNING, locked_until__lt=now)
    updated = OutboxOperation.objects.filter(
        claimable, pk=operation_id, next_attempt_at__lte=now
    ).update(
        status=Status.RUNNING,
        locked_until=now + timedelta(seconds=app_settings.OUTBOX_LEASE_SECONDS),
    )
    if not updated:
        return None
    operation = OutboxOperation.objects.get(pk=operation_id)
    operation.attempts += 1
    OutboxOperation.objects.filter(pk=operation_id).update(attempts=operation.attempts)
    return operation


def process(operation_id: int, *, immediate: bool = False) -> OutboxOperation:
    """Attempt one operation if it is due and nobody else holds it; return its state after.
    `immediate`: the attempt a person's request makes at once (handlers that batch send such
    a row alone, so nobody's page waits for a backlog)."""
    operation = claim(operation_id)
    if operation is None:
        return OutboxOperation.objects.get(pk=operation_id)
    operation.immediate = immediate
    try:
        fn = HANDLERS[operation.kind]
        client = credentials.get_client(max_wait=2.0)
        result = fn(client, operation.payload, operation)
    except errors.HubSpotError as err:
        return _failed_attempt(operation, err)
    except Exception as err:
        # A bug, not HubSpot: keep the row (nothing is lost) and retry with backoff, loudly.
        logger.exception("Outbox operation %s (%s) raised", operation.pk, operation.kind)
        return _failed_attempt(operation, internal_error(err))
    return _succeeded(operation, result or Result())


# A bug's mark on a row, in English whatever the language: it names an exception for whoever
# fixes the bug, and `claim_due_of_kind` tells a bug's backoff from an outage's by it.
INTERNAL_ERROR = "Internal error"


def internal_error(err: Exception) -> errors.Unavailable:
    """The transient error a row keeps when its handler raised something that is not HubSpot."""
    return errors.Unavailable(f"{INTERNAL_ERROR}: {type(err).__name__}")


def process_due(limit: int = 100) -> int:
    """Run every operation whose time has come (and those whose worker died). Returns how many."""
    now = timezone.now()
    due = (
        OutboxOperation.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.RUNNING, locked_until__lt=now)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for pk in list(due):
        process(pk)
        count += 1
    return count


def claim_due_of_kind(
    kind: str, limit: int, *, exclude=(), waiting: bool = False
) -> list[OutboxOperation]:
    """Claim up to `limit` due operations of one kind, for a handler that sends its own together
    with them in one batch call; it must `settle()` each one it claimed. `waiting`: instead,
    rows backing off only because HubSpot could not be reached (not a 429's Retry-After), for a
    handler that has just seen HubSpot take a batch: their wait is over.

    One conditional UPDATE claims them all (a backlog of hundreds costs a few queries, not
    three per row); rows another worker holds are skipped (SKIP LOCKED where the database has
    it), so two workers draining at once take different rows. The claim's lease carries a
    value of its own, by which the rows this call won are read back."""
    now = timezone.now()
    due = Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.RUNNING, locked_until__lt=now
    )
    if waiting:
        # Not a bug's internal error (also transient): that one keeps its backoff.
        due = Q(status=Status.PENDING, last_error_kind=errors.Unavailable.kind) & ~Q(
            last_error__startswith=INTERNAL_ERROR
        )
    lease = now + timedelta(
        seconds=app_settings.OUTBOX_LEASE_SECONDS, microseconds=random.randrange(1, 1_000_000)
    )
    with transaction.atomic():
        pks = list(
            OutboxOperation.objects.select_for_update(skip_locked=True)
            .filter(due, kind=kind)
            .exclude(pk__in=list(exclude))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        OutboxOperation.objects.filter(due, pk__in=pks).update(
            status=Status.RUNNING, locked_until=lease, attempts=F("attempts") + 1
        )
    return list(
        OutboxOperation.objects.filter(
            pk__in=pks, status=Status.RUNNING, locked_until=lease
        ).order_by("next_attempt_at", "pk")
    )


def settle(operation: OutboxOperation, outcome: Result | errors.HubSpotError) -> OutboxOperation:
    """Record the outcome of an operation a batch handler claimed beside its own: a success, or
    an error treated exactly as if the operation had been attempted alone."""
    if isinstance(outcome, errors.HubSpotError):
        return _failed_attempt(operation, outcome)
    return _succeeded(operation, outcome)


def retry(operation: OutboxOperation) -> bool:
    """An admin's "retry": a failed operation goes back to pending, due now. False when it was
    not failed (any more)."""
    updated = OutboxOperation.objects.filter(pk=operation.pk, status=Status.FAILED).update(
        status=Status.PENDING, next_attempt_at=timezone.now(), locked_until=None
    )
    if updated:
        transaction.on_commit(lambda: schedule(operation.pk))
    return bool(updated)


def discard(operation: OutboxOperation) -> bool:
    """Stop a pending or failed operation for good. False when it was left alone: finished,
    already discarded, or in a worker's hands right now (its result would overwrite the discard)."""
    updated = (
        OutboxOperation.objects.filter(pk=operation.pk)
        .exclude(status__in=[Status.SUCCEEDED, Status.FAILED, Status.DISCARDED])
        .exclude(status=Status.RUNNING, locked_until__gt=timezone.now())
        .update(status=Status.DISCARDED, locked_until=None, completed_at=timezone.now())
    )
    if not updated:
        # A failed row was already counted as failed by its listeners; just mark it discarded.
        return bool(
            OutboxOperation.objects.filter(pk=operation.pk, status=Status.FAILED).update(
                status=Status.DISCARDED
            )
        )
    # A discarded pending row ends here: listeners (an import's counts) must learn it failed.
    operation.refresh_from_db()
    operation_failed.send(sender=OutboxOperation, operation=operation)
    return True


def _succeeded(operation: OutboxOperation, result: Result) -> OutboxOperation:
    operation.status = Status.SUCCEEDED
    operation.hubspot_object_id = result.object_id or ""
    operation.result = result.data or {}
    operation.locked_until = None
    operation.completed_at = timezone.now()
    operation.last_error = ""
    operation.save(
        update_fields=[
            "status",
            "hubspot_object_id",
            "result",
            "locked_until",
            "completed_at",
            "last_error",
            "updated_at",
        ]
    )
    operation_succeeded.send(sender=OutboxOperation, operation=operation)
    return operation


def _failed_attempt(operation: OutboxOperation, err: errors.HubSpotError) -> OutboxOperation:
    operation.last_error = str(err)
    operation.last_error_kind = err.kind
    operation.correlation_id = err.correlation_id or operation.correlation_id
    operation.locked_until = None
    if err.transient and operation.attempts < app_settings.OUTBOX_MAX_ATTEMPTS:
        operation.status = Status.PENDING
        delay = backoff_seconds(operation.attempts, err.retry_after)
        operation.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        logger.info(
            "Outbox operation %s (%s) attempt %s failed (%s); retry in %.0f s",
            operation.pk,
            operation.kind,
            operation.attempts,
            err.kind,
            delay,
        )
    else:
        operation.status = Status.FAILED
        operation.completed_at = timezone.now()
        logger.warning("Outbox operation %s (%s) failed: %s", operation.pk, operation.kind, err)
    operation.save(
        update_fields=[
            "status",
            "last_error",
            "last_error_kind",
            "correlation_id",
            "locked_until",
            "next_attempt_at",
            "completed_at",
            "updated_at",
        ]
    )
    if operation.status == Status.PENDING:
        schedule(operation.pk, run_after=operation.next_attempt_at)
    else:
        operation_failed.send(sender=OutboxOperation, operation=operation)
    return operation
