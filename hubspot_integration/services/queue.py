"""Handing work to the task queue, where the rows (not the queue) are the record of what is due.

A queue that is down must neither fail nor lose the person's action: the row is already stored and
the sweep (`manage.py hubspot_sweep`) finds it. So a failed enqueue is logged once, saying what
will pick the work up, and the caller carries on.

The work is named by job, not by task: `tasks.py` depends on the services, so no service can import
it. `AppConfig.ready()` binds each job to its task; the system check hubspot.E011 names a job left
unbound.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

SWEEP_RETRIES = "the sweep will retry it"

# The jobs the app hands to the queue: an outbox operation due (its ID), the webhook events not
# applied yet, a CSV import to read (its ID), a ticket email owed (its TicketNotification's ID),
# the next status poll of an import HubSpot's imports API is running (its ID).
PROCESS_OPERATION = "process_operation"
PROCESS_WEBHOOK_EVENTS = "process_webhook_events"
RUN_CONTACT_IMPORT = "run_contact_import"
SEND_TICKET_EMAIL = "send_ticket_email"
POLL_CONTACT_IMPORT = "poll_contact_import"
JOBS = (
    PROCESS_OPERATION,
    PROCESS_WEBHOOK_EVENTS,
    RUN_CONTACT_IMPORT,
    SEND_TICKET_EMAIL,
    POLL_CONTACT_IMPORT,
)

_tasks: dict = {}  # job -> django-tasks Task, bound in ready()


def bind(job: str, task) -> None:
    if job not in JOBS:
        raise ImproperlyConfigured(f"Unknown job {job!r}; the jobs are {', '.join(JOBS)}.")
    _tasks[job] = task


def unbound_jobs() -> list[str]:
    return [job for job in JOBS if job not in _tasks]


def task_path(job: str) -> str:
    """The dotted path the task backend records for the job's task (its results carry it)."""
    return _tasks[job].module_path


def enqueue(job: str, *args, what: str, fallback: str = SWEEP_RETRIES, run_after=None) -> bool:
    """Enqueue the job's task with `args`; False (and one warning naming `what` and `fallback`)
    when the queue refused. Never raises."""
    try:
        task = _tasks[job]
        (task.using(run_after=run_after) if run_after else task).enqueue(*args)
    except Exception as err:  # any backend's failure: the caller's row stays the truth
        logger.warning("Could not queue %s (%s: %s); %s", what, type(err).__name__, err, fallback)
        return False
    return True
