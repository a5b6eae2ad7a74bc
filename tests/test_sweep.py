"""The sweep finds every kind of background work the task queue dropped, through the fake HubSpot.

A queue that is down (RQ on an address nothing listens on), a task never started, a worker killed
mid-file or mid-task: each leaves rows behind, and `manage.py hubspot_sweep` (or its old name
`hubspot_outbox`) does what is due, once.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from hubspot_integration.conf import app_settings
from hubspot_integration.models import ContactImport, OutboxOperation, WebhookEvent
from hubspot_integration.services import imports, outbox, queue
from hubspot_integration.services.sweep import sweep
from tests.helpers import client_for
from tests.test_webhooks import (  # noqa: F401 (secret and ticket are fixtures)
    SECRET,
    deliver,
    secret,
    stage_event,
    ticket,
)

pytestmark = pytest.mark.django_db

UPSERT = "/crm/objects/2026-09/contacts/batch/upsert"
QUEUE_DOWN = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_CONNECT_TIMEOUT": 1}}
RQ = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
Status = ContactImport.Status


@pytest.fixture
def queue_down(settings):
    """The task queue cannot be reached: every enqueue fails."""
    settings.TASKS = RQ
    settings.RQ_QUEUES = QUEUE_DOWN


def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def enqueue_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "hubspot_integration.services.queue" and r.levelno == logging.WARNING
    ]


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


# --- the jobs, bound to their tasks at start-up ------------------------------------------------
def test_every_job_is_bound_to_its_task_at_start_up():
    from hubspot_integration import tasks
    from hubspot_integration.checks import check_queue_jobs

    assert queue.unbound_jobs() == [] and check_queue_jobs(None) == []
    # Task results a dead worker left running are recognised by this path: it must not move.
    path = queue.task_path(queue.RUN_CONTACT_IMPORT)
    assert path == tasks.run_contact_import.module_path
    assert path == "hubspot_integration.tasks.run_contact_import"


def test_a_job_left_unbound_stops_the_start_up_check(monkeypatch, caplog):
    from django.core.management.base import SystemCheckError

    monkeypatch.delitem(queue._tasks, queue.PROCESS_WEBHOOK_EVENTS)
    with pytest.raises(SystemCheckError, match=r"hubspot\.E011.*'process_webhook_events'"):
        call_command("check")
    # Were it started anyway, the enqueue is refused like a queue that is down: logged, no raise.
    assert not queue.enqueue(queue.PROCESS_WEBHOOK_EVENTS, what="the new webhook events")
    [warning] = enqueue_warnings(caplog)
    assert "Could not queue the new webhook events" in warning


def test_only_the_known_jobs_can_be_bound():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="Unknown job 'nope'"):
        queue.bind("nope", object())


# --- outbox ----------------------------------------------------------------------------------
def test_a_write_whose_enqueue_failed_is_sent_by_the_sweep(
    hubspot_settings, fake_hubspot, queue_down, settings, caplog
):
    fake_hubspot.faults.fail_next(1, status=503, path_prefix="/crm/objects/2026-09/contacts")
    payload = {"properties": {"email": "lost@example.com"}}
    with caplog.at_level(logging.WARNING):
        operation = outbox.submit(OutboxOperation.Kind.CREATE_CONTACT, payload).operation
    assert operation.status == "pending"
    [warning] = enqueue_warnings(caplog)  # once, saying who takes over
    assert f"Could not queue outbox operation {operation.pk}" in warning
    assert warning.endswith("the sweep will retry it")

    database_queue(settings)
    OutboxOperation.objects.update(next_attempt_at=ago(1))
    call_command("hubspot_sweep")
    operation.refresh_from_db()
    assert operation.status == "succeeded"
    assert [c["properties"]["email"] for c in fake_hubspot.objects("contacts")] == [
        "lost@example.com"
    ]


def test_due_rows_and_expired_leases_under_both_command_names(hubspot_settings, fake_hubspot):
    due = OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_CONTACT, payload={"properties": {"email": "a@example.com"}}
    )
    abandoned = OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_CONTACT,
        payload={"properties": {"email": "b@example.com"}},
        status="running",
        locked_until=ago(5),  # its worker died holding it
    )
    held = OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_CONTACT,
        payload={"properties": {"email": "c@example.com"}},
        status="running",
        locked_until=timezone.now() + timedelta(seconds=60),  # a live worker holds it
    )
    call_command("hubspot_outbox")  # the old name still works
    for op, status in ((due, "succeeded"), (abandoned, "succeeded"), (held, "running")):
        op.refresh_from_db()
        assert op.status == status
    held.locked_until = ago(1)
    held.save()
    call_command("hubspot_sweep")
    held.refresh_from_db()
    assert held.status == "succeeded"
    assert len(fake_hubspot.objects("contacts")) == 3


# --- webhook events ------------------------------------------------------------------------------
def test_webhook_events_left_unapplied_are_applied_after_the_grace_period(
    ticket,  # noqa: F811 (the fixture imported from test_webhooks)
    fake_hubspot,
    queue_down,
    settings,
    caplog,
    django_capture_on_commit_callbacks,
):
    from django.test import Client

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = deliver(Client(), [stage_event(7001, 555, "81234571")])
    assert response.status_code == 204  # HubSpot is told it arrived: it will not redeliver
    [warning] = enqueue_warnings(caplog)
    assert "Could not queue the new webhook events" in warning and "the sweep will apply" in warning

    database_queue(settings)
    assert sweep().webhook_events == 0  # fresh: the queue may still deliver it
    ticket.refresh_from_db()
    assert ticket.stage_label == "New"

    WebhookEvent.objects.update(received_at=ago(app_settings.WEBHOOK_GRACE_SECONDS + 1))
    assert sweep().webhook_events == 1
    ticket.refresh_from_db()
    assert (ticket.stage_label, ticket.status) == ("Closed", "closed")
    assert WebhookEvent.objects.get().processed_at is not None
    assert sweep().webhook_events == 0  # applied once


# --- imports ------------------------------------------------------------------------------------
def csv_text(valid: int, *, bad_every: int = 0) -> str:
    """`valid` distinct good rows; with `bad_every`, a rejected row after every that many."""
    lines = ["email,firstname"]
    for i in range(valid):
        lines.append(f"person{i}@example.com,First{i}")
        if bad_every and i % bad_every == bad_every - 1:
            lines.append(f"not-an-email-{i},Bad")
    return "\n".join(lines) + "\n"


def stored_import(text: str, name="contacts.csv") -> ContactImport:
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return imports.start_import(name, upload=upload)


def sent_rows(fake_hubspot) -> list[str]:
    return [
        item["id"]
        for r in fake_hubspot.requests
        if r.method == "POST" and r.path == UPSERT and r.status == 200
        for item in r.body["inputs"]
    ]


class WorkerKilled(BaseException):
    """Stands for the worker process dying: nothing below catches it."""


def kill_after(rows: int):
    seen = 0

    def progress(n):
        nonlocal seen
        seen += n
        if seen >= rows:
            raise WorkerKilled()

    return progress


@pytest.mark.django_db(transaction=True)  # on_commit runs in the request, as in production
def test_an_upload_whose_enqueue_failed_is_started_by_the_sweep(
    users, hubspot_settings, fake_hubspot, queue_down, settings, caplog
):
    c = client_for(users["staff"])
    upload = SimpleUploadedFile("team.csv", csv_text(3).encode(), content_type="text/csv")
    with caplog.at_level(logging.WARNING):
        response = c.post("/admin/hubspot_integration/contactimport/add/", {"file": upload})
    contact_import = ContactImport.objects.get()
    [warning] = enqueue_warnings(caplog)
    assert f"Could not queue contact import {contact_import.pk}" in warning
    assert "the sweep will start it within 5 minute(s)" in warning
    page = c.get(response["Location"]).content.decode()
    assert "the import will start within 5 minute(s), when the sweep picks it up" in page

    database_queue(settings)
    assert sweep().imports == 0  # inside the lease: a worker may still take it
    assert contact_import.status == Status.QUEUED
    ContactImport.objects.update(created_at=ago(app_settings.IMPORT_LEASE_SECONDS + 1))
    assert sweep().imports == 1
    contact_import.refresh_from_db()
    assert contact_import.status == Status.DONE and contact_import.created_count == 3
    assert len(fake_hubspot.objects("contacts")) == 3
    # The task, should the queue deliver it after all, finds the import taken and does nothing.
    from hubspot_integration.tasks import run_contact_import

    assert run_contact_import.call(contact_import.pk) == Status.DONE
    assert len(sent_rows(fake_hubspot)) == 3


@pytest.mark.parametrize("killed_after", [10, 35, 64])
def test_an_import_whose_worker_died_is_read_on_from_where_it_stopped(
    hubspot_settings, fake_hubspot, settings, killed_after
):
    """Killed mid-file (rejected rows on both sides of the cut): the sweep reads on from the
    checkpoint; every row is sent once and counted once."""
    contact_import = stored_import(csv_text(60, bad_every=4))  # 60 good rows, 15 rejected
    with pytest.raises(WorkerKilled):
        imports.run_import(contact_import, batch_size=10, progress=kill_after(killed_after))
    contact_import.refresh_from_db()
    assert contact_import.status == Status.RUNNING and contact_import.read_finished_at is None
    assert sweep().imports == 0  # it checked in moments ago: maybe still alive

    ContactImport.objects.update(heartbeat_at=ago(app_settings.IMPORT_LEASE_SECONDS + 1))
    assert sweep().imports == 1
    contact_import.refresh_from_db()
    assert contact_import.status == Status.DONE
    assert contact_import.reader_run == 2
    assert (contact_import.created_count, contact_import.rejected_count) == (60, 15)
    assert contact_import.updated_count == contact_import.failed_count == 0
    assert contact_import.processed_rows == contact_import.total_rows == 75
    assert sorted(sent_rows(fake_hubspot)) == sorted(f"person{i}@example.com" for i in range(60))
    assert len(fake_hubspot.objects("contacts")) == 60
    assert len({e["line"] for e in contact_import.errors}) == 15
    assert sweep().imports == 0  # finished reading: nothing left for the sweep


def test_a_reader_thought_dead_stops_when_it_wakes_after_the_takeover(
    hubspot_settings, fake_hubspot, settings
):
    contact_import = stored_import(csv_text(50))
    taken_over = []

    def stall_then_wake(n):
        if not taken_over:  # the first batch is in; the worker now hangs past its lease ...
            ContactImport.objects.update(heartbeat_at=ago(app_settings.IMPORT_LEASE_SECONDS + 1))
            taken_over.append(imports.resume_stalled())  # ... and the sweep reads on

    result = imports.run_import(contact_import, batch_size=10, progress=stall_then_wake)
    assert taken_over == [1]
    contact_import.refresh_from_db()
    assert contact_import.status == Status.DONE and contact_import.reader_run == 2
    assert result.created == contact_import.created_count == 50
    assert sorted(sent_rows(fake_hubspot)) == sorted(f"person{i}@example.com" for i in range(50))


def test_a_stalled_command_line_import_is_marked_failed_with_what_to_do(
    hubspot_settings, fake_hubspot, settings, tmp_path
):
    path = tmp_path / "big.csv"
    path.write_text(csv_text(30), encoding="utf-8")
    contact_import = imports.start_import(path.name)  # the command stores no file
    with pytest.raises(WorkerKilled):
        imports.run_import(contact_import, str(path), batch_size=10, progress=kill_after(10))
    ContactImport.objects.update(heartbeat_at=ago(app_settings.IMPORT_LEASE_SECONDS + 1))
    assert sweep().imports == 1
    contact_import.refresh_from_db()
    assert contact_import.status == Status.FAILED
    assert contact_import.errors[0]["reason"].startswith(
        "The command reading the file stopped after line 11; the rows after it were not imported."
    )
    assert contact_import.created_count == 10


# --- task results left running by dead workers ----------------------------------------------------
def _claimed(task, *args, started_ago: float):
    from django_tasks_db.models import DBTaskResult

    result = DBTaskResult.objects.get(id=task.enqueue(*args).id)
    result.claim("worker-that-died")
    DBTaskResult.objects.filter(pk=result.pk).update(started_at=ago(started_ago))
    return result


def test_database_task_results_left_running_are_marked_failed(
    hubspot_settings, fake_hubspot, settings
):
    from django_tasks_db.models import DBTaskResult

    from hubspot_integration.tasks import process_webhook_events, run_contact_import

    database_queue(settings)
    lease = app_settings.TASK_LEASE_SECONDS
    dead = _claimed(process_webhook_events, started_ago=lease + 1)
    recent = _claimed(process_webhook_events, started_ago=5)
    alive = stored_import(csv_text(1))
    ContactImport.objects.filter(pk=alive.pk).update(status=Status.RUNNING, heartbeat_at=ago(5))
    long_import = _claimed(run_contact_import, alive.pk, started_ago=lease + 1)

    assert sweep().task_results == 1
    dead.refresh_from_db()
    assert dead.status == "FAILED" and dead.finished_at is not None
    assert dead.exception_class_path == "hubspot_integration.services.sweep.WorkerLost"
    assert "worker-that-died stopped while running this task" in dead.traceback
    assert DBTaskResult.objects.get(pk=recent.pk).status == "RUNNING"
    assert DBTaskResult.objects.get(pk=long_import.pk).status == "RUNNING"  # its import checks in
    assert sweep().task_results == 0


REDIS_URL = os.environ.get("TEST_RQ_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


@pytest.mark.skipif(not _redis_up(), reason=f"Redis is not reachable at {REDIS_URL}")
def test_rq_jobs_abandoned_by_dead_workers_are_cleaned_up(db, settings):
    import django_rq
    from django_tasks import TaskResultStatus, default_task_backend
    from rq.job import JobStatus
    from rq.registry import StartedJobRegistry

    from hubspot_integration.tasks import process_webhook_events

    settings.TASKS = RQ
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    queue = django_rq.get_queue("default")
    queue.connection.flushdb()
    try:
        result = process_webhook_events.enqueue()
        job = queue.fetch_job(result.id)
        # A worker took it and died: the job says "started", its heartbeat in the registry lapsed.
        job.set_status(JobStatus.STARTED)
        registry = StartedJobRegistry(queue=queue)
        queue.connection.zadd(registry.key, {f"{job.id}:dead-execution": 1})
        queue.remove(job.id)

        assert sweep().task_results == 1
        assert job.get_status(refresh=True) == JobStatus.FAILED
        assert default_task_backend.get_result(result.id).status == TaskResultStatus.FAILED
        assert sweep().task_results == 0
    finally:
        queue.connection.flushdb()


def test_one_broken_step_does_not_stop_the_others(hubspot_settings, fake_hubspot, queue_down):
    """With the RQ queue unreachable, the task-result step fails (logged); the outbox still goes."""
    OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_CONTACT, payload={"properties": {"email": "a@example.com"}}
    )
    done = sweep()
    assert done.outbox == 1 and done.task_results == 0
    assert OutboxOperation.objects.get().status == "succeeded"
