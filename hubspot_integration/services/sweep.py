"""The sweep: the one owner of background work that fell through the task queue.

The queue delivers work promptly; the rows say what is due. A lost enqueue (the queue was down), a
worker killed mid-task, or a queue nobody serves leaves rows behind, and one pass of `sweep()`
finds every kind:

- outbox operations that are due, or whose worker's lease expired;
- webhook events still unapplied `HUBSPOT_WEBHOOK_GRACE_SECONDS` after they came in;
- ticket emails owed and due (their task lost, a retry's task lost, a worker that died sending);
- CSV imports whose reader shows no sign of life for `HUBSPOT_IMPORT_LEASE_SECONDS` (queued and
  never started, or a worker that died mid-file): read on from their checkpoint;
- task results a dead worker left "running": the database backend's rows older than
  `HUBSPOT_TASK_LEASE_SECONDS` are marked failed, and RQ's started-job registries are cleaned
  (RQ moves abandoned jobs to failed). Their work itself is found again from the rows above;
- retention: finished records older than the days the settings keep them are purged, a bounded
  amount per pass (services/retention.py);
- the connection watch: the connection check, when the last one is older than
  `HUBSPOT_CONNECTION_CHECK_INTERVAL` (claimed by one sweep per interval), and the email to the
  HubSpot admins when its verdict changed (services/connection_watch.py). Not counted in `Swept`:
  it is not work from a backlog, and the sweep's report stays as it was.

Each step stands alone: one failing is logged and the others still run. Run it with
`manage.py hubspot_sweep --loop` (`hubspot_outbox` is the same command under its old name); it
is safe on several machines at once, as every row is claimed atomically.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.utils import timezone

from ..conf import app_settings
from . import (
    connection,
    connection_watch,
    imports,
    outbox,
    queue,
    retention,
    ticket_notifications,
    webhook_events,
)

logger = logging.getLogger(__name__)


@dataclass
class Swept:
    outbox: int = 0
    webhook_events: int = 0
    ticket_emails: int = 0
    imports: int = 0
    task_results: int = 0
    purged: int = 0

    @property
    def total(self) -> int:
        return (
            self.outbox
            + self.webhook_events
            + self.ticket_emails
            + self.imports
            + self.task_results
            + self.purged
        )

    def __str__(self) -> str:
        return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in asdict(self).items())


class WorkerLost(Exception):
    """Recorded on a task result whose worker stopped while running it."""


def sweep(*, limit: int = 100) -> Swept:
    """One pass over every kind of due work; how many of each were handled."""
    done = Swept()
    # Abandoned task results first: what they held becomes due for the steps below.
    done.task_results = _step("task results", reap_task_results)
    done.outbox = _step("outbox", outbox.process_due, limit=limit)
    grace = timezone.now() - timedelta(seconds=app_settings.WEBHOOK_GRACE_SECONDS)
    done.webhook_events = _step(
        "webhook events", webhook_events.apply_pending, limit=limit, received_before=grace
    )
    # After the events: the emails their changes just recorded go out in the same pass.
    done.ticket_emails = _step("ticket emails", ticket_notifications.send_due, limit=limit)
    done.imports = _step("imports", imports.resume_stalled)
    # Last: due work comes before housekeeping. Counted in the total, so a `--loop` sweep goes
    # straight on to the next batch of a backlog instead of waiting its interval.
    done.purged = _step("retention", lambda: retention.purge().total)
    _step("connection check", check_connection_when_due)
    _step("connection email", connection_watch.notify)
    return done


def check_connection_when_due() -> int:
    """Run the connection check if this sweep claimed the interval's one check; 1 if it ran."""
    if not connection_watch.claim_due():
        return 0
    connection.check_connection()  # stores its result, and the watch records it
    return 1


def _step(name: str, fn, **kwargs) -> int:
    try:
        return int(fn(**kwargs) or 0)
    except Exception:
        # A broken step (its table missing, Redis down) must not stop the others.
        logger.exception("Sweep: the %s step failed; the next round tries again", name)
        return 0


# --- task results a dead worker left running ----------------------------------------------------
def reap_task_results() -> int:
    """Task results left running by dead workers, marked failed; how many."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    kind = type(backend).__name__
    if kind == "DatabaseBackend":
        return _reap_database(backend)
    if kind == "RQBackend":
        return _reap_rq(backend)
    return 0  # the immediate and dummy backends hold nothing that can be abandoned


def _reap_database(backend) -> int:
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    lease = app_settings.TASK_LEASE_SECONDS
    stale = DBTaskResult.objects.filter(
        backend_name=backend.alias,
        status=TaskResultStatus.RUNNING,
        started_at__lt=now - timedelta(seconds=lease),
    )
    import_task = queue.task_path(queue.RUN_CONTACT_IMPORT)
    reaped = 0
    for result in stale.only("id", "task_path", "args_kwargs", "worker_ids"):
        if result.task_path == import_task and _import_alive(result.args_kwargs):
            continue  # a long import whose reader still checks in
        note = (
            f"The worker {', '.join(result.worker_ids) or '?'} stopped while running this task "
            f"(still running after {lease} s). The sweep marked it failed; its work is picked up "
            "again from the outbox, webhook event and import rows."
        )
        reaped += DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
            traceback=note,
        )
    if reaped:
        logger.warning(
            "Sweep: %d task result(s) left running by dead workers marked failed", reaped
        )
    return reaped


def _import_alive(args_kwargs) -> bool:
    from ..models import ContactImport

    try:
        import_id = int((args_kwargs.get("args") or [None])[0])
    except (AttributeError, TypeError, ValueError):
        return False
    return (
        ContactImport.objects.filter(pk=import_id)
        .exclude(imports.stalled_filter())
        .filter(status=ContactImport.Status.RUNNING, read_finished_at__isnull=True)
        .exists()
    )


def _reap_rq(backend) -> int:
    import django_rq
    from rq.registry import StartedJobRegistry

    reaped = 0
    for name in backend.queues:
        registry = StartedJobRegistry(queue=django_rq.get_queue(name))
        # RQ's own clean-up (its workers run it now and then, but not when none is alive): a job
        # whose worker's heartbeat lapsed goes to the failed registry through django-tasks'
        # failure callback, or is retried if it has retries left.
        expired = registry.get_expired_job_ids()
        if expired:
            registry.cleanup()
            reaped += len(expired)
    if reaped:
        logger.warning("Sweep: %d RQ job(s) abandoned by dead workers cleaned up", reaped)
    return reaped
