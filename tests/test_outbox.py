"""The outbox engine: claims, backoff, dead workers, permanent failures, admin retry/discard."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hubspot_integration.conf import app_settings
from hubspot_integration.models import OutboxOperation
from hubspot_integration.services import outbox

pytestmark = pytest.mark.django_db
Kind = OutboxOperation.Kind


def contact_op(email="o@example.com"):
    return outbox.record(Kind.CREATE_CONTACT, {"properties": {"email": email}})


def test_a_claimed_row_cannot_be_claimed_again(hubspot_settings):
    op = contact_op()
    assert outbox.claim(op.pk) is not None
    assert outbox.claim(op.pk) is None  # a second worker gets nothing


def test_a_dead_workers_lease_expires_and_the_row_is_retried(hubspot_settings, fake_hubspot):
    op = contact_op()
    outbox.claim(op.pk)  # the worker dies here, mid-call
    OutboxOperation.objects.filter(pk=op.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.process_due() == 1
    op.refresh_from_db()
    assert op.status == "succeeded" and op.attempts == 2
    assert len(fake_hubspot.objects("contacts")) == 1


def test_rate_limited_honours_retry_after(hubspot_settings, fake_hubspot):
    fake_hubspot.faults.burst_429(1, retry_after=30)
    op = outbox.submit(Kind.CREATE_CONTACT, {"properties": {"email": "r@example.com"}}).operation
    assert op.status == "pending" and op.last_error_kind == "rate_limited"
    wait = (op.next_attempt_at - timezone.now()).total_seconds()
    assert 28 <= wait <= 31
    assert "429" in op.last_error


def test_backoff_grows_and_is_capped():
    delays = [outbox.backoff_seconds(n) for n in range(1, 20)]
    assert delays[0] < delays[3] < delays[6]
    assert max(delays) <= app_settings.OUTBOX_BACKOFF_CAP_SECONDS * 1.2


def test_auth_failure_is_permanent_and_carries_the_reason(hubspot_settings, fake_hubspot):
    fake_hubspot.revoke_token(hubspot_settings.access_token)
    op = outbox.submit(Kind.CREATE_CONTACT, {"properties": {"email": "a@example.com"}}).operation
    assert op.status == "failed" and op.last_error_kind == "auth"
    assert "401" in op.last_error
    assert hubspot_settings.access_token not in op.last_error


def test_correlation_id_is_kept(hubspot_settings, fake_hubspot):
    fake_hubspot.faults.fail_next(1, status=500)
    op = outbox.submit(Kind.CREATE_CONTACT, {"properties": {"email": "c@example.com"}}).operation
    assert op.status == "pending" and len(op.correlation_id) > 8


def test_retry_and_discard(hubspot_settings, fake_hubspot):
    fake_hubspot.faults.fail_next(1, status=400)
    op = outbox.submit(Kind.CREATE_CONTACT, {"properties": {"email": "x@example.com"}}).operation
    assert op.status == "failed"
    outbox.retry(op)
    assert outbox.process_due() == 1
    op.refresh_from_db()
    assert op.status == "succeeded"

    other = contact_op("y@example.com")
    outbox.discard(other)
    other.refresh_from_db()
    assert other.status == "discarded"
    assert outbox.process_due() == 0


def test_exhausted_transient_failures_end_failed(hubspot_settings, fake_hubspot, settings):
    settings.HUBSPOT_OUTBOX_MAX_ATTEMPTS = 2
    fake_hubspot.faults.down()
    op = outbox.submit(Kind.CREATE_CONTACT, {"properties": {"email": "z@example.com"}}).operation
    assert op.status == "pending"
    OutboxOperation.objects.update(next_attempt_at=timezone.now())
    outbox.process_due()
    op.refresh_from_db()
    assert op.status == "failed" and op.attempts == 2


def test_the_worker_task_processes_a_scheduled_operation(hubspot_settings, fake_hubspot):
    from hubspot_integration.tasks import process_operation

    op = contact_op("task@example.com")
    assert process_operation.call(op.pk) == "succeeded"
    assert fake_hubspot.objects("contacts")[0]["properties"]["email"] == "task@example.com"


def test_the_sweep_command(hubspot_settings, fake_hubspot):
    from django.core.management import call_command

    contact_op("sweep@example.com")
    call_command("hubspot_outbox")
    assert OutboxOperation.objects.get().status == "succeeded"


# --- handlers, registered in AppConfig.ready() ------------------------------------------------
def test_every_kind_has_its_handler_after_start_up():
    from hubspot_integration.checks import check_outbox_handlers

    assert set(outbox.HANDLERS) >= set(Kind.values)
    assert outbox.unhandled_kinds() == []
    assert check_outbox_handlers(None) == []


def test_a_kind_without_a_handler_stops_the_start_up_check(monkeypatch):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    monkeypatch.delitem(outbox.HANDLERS, Kind.SUBMIT_FORM)
    with pytest.raises(SystemCheckError, match=r"hubspot\.E010.*'submit_form'"):
        call_command("check")


def test_a_second_handler_for_a_kind_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    current = outbox.HANDLERS[Kind.CREATE_CONTACT]
    outbox.register(Kind.CREATE_CONTACT, current)  # the same one again (ready() twice) is fine
    with pytest.raises(ImproperlyConfigured, match="two handlers"):
        outbox.register(Kind.CREATE_CONTACT, lambda client, payload, operation: None)
    assert outbox.HANDLERS[Kind.CREATE_CONTACT] is current
