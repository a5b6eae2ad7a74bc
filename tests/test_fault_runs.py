"""Fault runs: writes against a HubSpot that fails, drops and throttles end exactly once."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from hubspot_integration.contacts import service as contacts
from hubspot_integration.models import OutboxOperation
from hubspot_integration.services import outbox
from hubspot_integration.tickets import service as tickets

pytestmark = pytest.mark.django_db


def drain(max_rounds=200):
    """Run the worker until nothing is pending, skipping the backoff waits."""
    for _ in range(max_rounds):
        OutboxOperation.objects.filter(status="pending").update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        outbox.process_due()
        if not OutboxOperation.objects.filter(status__in=["pending", "running"]).exists():
            return
    raise AssertionError("the outbox did not drain")


@pytest.fixture
def flaky_hubspot(hubspot_settings, fake_hubspot, monkeypatch, settings):
    hubspot_settings.tickets_enabled = True
    hubspot_settings.save()
    # Attempts are unbounded here: the test is about the end state, not about giving up.
    settings.HUBSPOT_OUTBOX_MAX_ATTEMPTS = 10_000
    fake_hubspot.faults.fail_rate(0.3, status=503, seed=7)
    fake_hubspot.faults.drop_rate(0.1, after_store=True, seed=11)
    return fake_hubspot


def test_contacts_end_exactly_once(flaky_hubspot):
    n = 30
    queued = 0
    for i in range(n):
        if i % 10 == 0:
            flaky_hubspot.faults.burst_429(3, retry_after=0.2)
        result = contacts.create_contact({"email": f"person{i}@example.com", "firstname": f"P{i}"})
        assert result.existing is None
        queued += result.outcome.queued
    assert queued > 0  # the faults really bit
    drain()
    emails = Counter(c["properties"]["email"] for c in flaky_hubspot.objects("contacts"))
    assert len(emails) == n and set(emails.values()) == {1}
    assert OutboxOperation.objects.filter(status="succeeded").count() == n


def test_tickets_end_exactly_once(flaky_hubspot):
    n = 15
    for i in range(n):
        if i % 5 == 0:
            flaky_hubspot.faults.burst_429(2, retry_after=0.2)
        try:
            outcome = tickets.create_ticket(
                {"subject": f"Ticket {i}", "email": f"t{i % 4}@example.com", "priority": "HIGH"}
            )
        except Exception as err:  # reading pipelines can fail before anything is recorded
            pytest.fail(f"a staff write raised instead of queueing: {err!r}")
        assert outcome.status in ("done", "queued")
    drain()
    found = flaky_hubspot.objects("tickets")
    subjects = Counter(t["properties"]["subject"] for t in found)
    assert len(subjects) == n and set(subjects.values()) == {1}
    keys = Counter(t["properties"]["skypanel_request_key"] for t in found)
    assert set(keys.values()) == {1}
    emails = Counter(c["properties"]["email"] for c in flaky_hubspot.objects("contacts"))
    assert len(emails) == 4 and set(emails.values()) == {1}
    # Every ticket carries its requester's association.
    flaky_hubspot.faults.clear()
    by_email = {c["properties"]["email"]: c["id"] for c in flaky_hubspot.objects("contacts")}
    for t in found:
        linked = tickets.get_ticket(t["id"])["associations"]["contacts"]["results"]
        i = int(t["properties"]["subject"].split()[-1])
        assert [link["id"] for link in linked] == [by_email[f"t{i % 4}@example.com"]]
