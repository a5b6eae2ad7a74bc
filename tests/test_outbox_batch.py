"""Backlogs drain in batches: the due writes of one kind go through HubSpot's batch endpoints,
and each row is settled from HubSpot's answer for its own input (the real SDK, the fake HubSpot)."""

import math
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from hubspot_integration.models import ContactImport, OutboxOperation
from hubspot_integration.services import imports, outbox
from hubspot_integration.tickets import service as tickets

pytestmark = pytest.mark.django_db

Status = OutboxOperation.Status
Kind = OutboxOperation.Kind
OBJECTS = "/crm/objects/2026-09"
TICKET_UPSERT = f"{OBJECTS}/tickets/batch/upsert"
CONTACT_CREATE = f"{OBJECTS}/contacts/batch/create"
CONTACT_UPSERT = f"{OBJECTS}/contacts/batch/upsert"
LINKS = "/crm/associations/2026-09/tickets/contacts/batch/associate/default"


def make_due():
    OutboxOperation.objects.filter(status=Status.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def queue_tickets(fake, n, customers=40):
    """`n` support requests recorded as a worker finds them after an outage: queued, due."""
    tickets.pipelines(refresh=True)  # warm, as a running panel is
    tickets.priority_options(refresh=True)
    payloads = [
        tickets.build_create_payload(
            {
                "subject": f"Backlog ticket {i}",
                "content": "Sent during an outage",
                "email": f"customer{i % customers}@example.com",
            }
        )
        for i in range(n)
    ]
    return [outbox.submit(Kind.CREATE_TICKET, p, attempt_now=False) for p in payloads]


def ticket_keys(fake):
    return Counter(t["properties"].get("skypanel_request_key") for t in fake.objects("tickets"))


def filed_on(fake, ticket_id):
    return set(fake.state.links.get(("tickets", str(ticket_id)), {}).get("contacts", {}))


def calls(fake, method, path):
    return sum(1 for r in fake.requests if r.method == method and r.path == path)


@pytest.mark.parametrize("n", [150, 250])
def test_a_backlog_of_tickets_drains_in_one_upsert_per_100_and_one_association_call(
    tickets_on, fake_hubspot, n
):
    outcomes = queue_tickets(fake_hubspot, n)
    before = len(fake_hubspot.requests)
    make_due()
    outbox.process_due()

    assert set(OutboxOperation.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}
    drained = fake_hubspot.requests[before:]
    paths = Counter((r.method, r.path) for r in drained)
    assert paths[("POST", TICKET_UPSERT)] == math.ceil(n / 100)
    assert paths[("POST", LINKS)] == 1
    assert paths[("POST", CONTACT_CREATE)] == 1  # 40 customers: one batch of their contacts
    assert f"{OBJECTS}/tickets" not in {r.path for r in drained}  # no single creates
    # Every ticket once, keyed by its row, filed on its requester's contact.
    keys = ticket_keys(fake_hubspot)
    assert {o.operation.idempotency_key for o in outcomes} == set(keys)
    assert set(keys.values()) == {1}
    contacts = {c["properties"]["email"]: c["id"] for c in fake_hubspot.objects("contacts")}
    assert len(contacts) == 40
    for outcome in outcomes:
        outcome.operation.refresh_from_db()
        ticket_id = outcome.operation.hubspot_object_id
        email = outcome.operation.payload["email"]
        assert filed_on(fake_hubspot, ticket_id) == {contacts[email]}
        assert outcome.operation.result["contactId"] == contacts[email]


def test_a_retried_batch_whose_answer_was_lost_creates_no_second_ticket(tickets_on, fake_hubspot):
    outcomes = queue_tickets(fake_hubspot, 120)
    # HubSpot stores the first batch of tickets, then the connection dies before the answer.
    fake_hubspot.faults.drop_next(1, after_store=True, path_prefix=TICKET_UPSERT)
    make_due()
    outbox.process(outcomes[0].operation.pk)  # one drain: it takes the other 119 along
    # The first 100 went in unheard; the other 20 went in and settled, which showed HubSpot
    # back: the 99 companions that were refused were sent again at once, found by their keys.
    assert len(fake_hubspot.objects("tickets")) == 120
    assert fake_hubspot.count("POST", TICKET_UPSERT) == 3
    assert OutboxOperation.objects.filter(status=Status.PENDING).count() == 1  # its own row

    make_due()
    outbox.process_due()

    assert set(OutboxOperation.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}
    keys = ticket_keys(fake_hubspot)
    assert len(keys) == 120 and set(keys.values()) == {1}
    assert {o.operation.idempotency_key for o in outcomes} == set(keys)


def test_a_batch_with_one_bad_row_fails_that_row_only_with_hubspots_message(
    tickets_on, fake_hubspot
):
    queue_tickets(fake_hubspot, 3)
    bad = OutboxOperation.objects.order_by("pk")[1]
    bad.payload["properties"]["hs_ticket_priority"] = "SOMEDAY"  # HubSpot has no such option
    bad.save(update_fields=["payload"])
    make_due()
    outbox.process_due()

    bad.refresh_from_db()
    assert bad.status == Status.FAILED
    assert "SOMEDAY" in bad.last_error
    assert "was not one of the allowed options: [LOW, MEDIUM, HIGH, URGENT]" in bad.last_error
    assert bad.last_error_kind == "validation"
    others = OutboxOperation.objects.exclude(pk=bad.pk)
    assert set(others.values_list("status", flat=True)) == {Status.SUCCEEDED}
    assert set(ticket_keys(fake_hubspot)) == set(others.values_list("idempotency_key", flat=True))
    assert calls(fake_hubspot, "POST", TICKET_UPSERT) == 1  # HubSpot named the row: no split


def test_a_batch_refused_whole_is_split_until_the_bad_row_fails_alone(
    tickets_on, fake_hubspot, monkeypatch
):
    queue_tickets(fake_hubspot, 4)
    # An account whose HubSpot refuses a batch whole for one bad value (no multi-status).
    real = fake_hubspot.state._clean_all

    def whole_batch(otype, inputs):
        return real(
            otype, [{k: v for k, v in i.items() if k != "objectWriteTraceId"} for i in inputs]
        )

    monkeypatch.setattr(fake_hubspot.state, "_clean_all", whole_batch)
    bad = OutboxOperation.objects.order_by("pk")[2]
    bad.payload["properties"]["hs_ticket_priority"] = "SOMEDAY"
    bad.save(update_fields=["payload"])
    make_due()
    outbox.process_due()

    bad.refresh_from_db()
    assert bad.status == Status.FAILED
    assert "SOMEDAY" in bad.last_error
    assert "was not one of the allowed options: [LOW, MEDIUM, HIGH, URGENT]" in bad.last_error
    assert OutboxOperation.objects.filter(status=Status.SUCCEEDED).count() == 3
    assert len(fake_hubspot.objects("tickets")) == 3


def test_with_batching_off_each_queued_ticket_is_its_own_call(tickets_on, fake_hubspot, settings):
    settings.HUBSPOT_OUTBOX_BATCHING = False
    queue_tickets(fake_hubspot, 5)
    make_due()
    outbox.process_due()

    assert calls(fake_hubspot, "POST", f"{OBJECTS}/tickets") == 5
    assert fake_hubspot.count("POST", TICKET_UPSERT) == 0
    assert len(fake_hubspot.objects("tickets")) == 5


def queue(kind, payloads):
    return [outbox.submit(kind, p, attempt_now=False).operation for p in payloads]


def test_queued_contact_creates_go_in_one_upsert_by_email_and_a_refused_one_fails_alone(
    hubspot_settings, fake_hubspot
):
    fake_hubspot.create_object("contacts", {"email": "known@example.com", "firstname": "Old"})
    ops = queue(
        Kind.CREATE_CONTACT,
        [
            {"properties": {"email": "ann@example.com", "firstname": "Ann"}},
            {"properties": {"email": "known@example.com", "firstname": "New"}},
            {"properties": {"email": "bob@example", "firstname": "Bob"}},  # HubSpot refuses it
            {"properties": {"email": "cy@example.com", "firstname": "Cy"}},
        ],
    )
    outbox.process(ops[0].pk)

    for op in ops:
        op.refresh_from_db()
    assert [op.status for op in ops] == [Status.SUCCEEDED] * 2 + [Status.FAILED, Status.SUCCEEDED]
    assert "Email address bob@example is invalid" in ops[2].last_error
    assert fake_hubspot.count("POST", CONTACT_UPSERT) == 1
    assert fake_hubspot.count("POST", f"{OBJECTS}/contacts") == 1  # that one batch call only
    by_email = {c["properties"]["email"]: c for c in fake_hubspot.objects("contacts")}
    assert set(by_email) == {"ann@example.com", "known@example.com", "cy@example.com"}
    assert by_email["known@example.com"]["properties"]["firstname"] == "New"
    assert (ops[0].result["existing"], ops[1].result["existing"]) == (False, True)


def test_queued_updates_go_in_one_batch_update_and_a_missing_record_fails_alone(
    hubspot_settings, fake_hubspot
):
    a = fake_hubspot.create_object("contacts", {"email": "a@example.com"})
    b = fake_hubspot.create_object("contacts", {"email": "b@example.com"})
    ops = queue(
        Kind.UPDATE_CONTACT,
        [
            {"id": a["id"], "properties": {"firstname": "Ada"}},
            {"id": "999999", "properties": {"firstname": "Nobody"}},
            {"id": b["id"], "properties": {"firstname": "Bea"}},
            {"id": a["id"], "properties": {"lastname": "Lovelace"}},
        ],
    )
    outbox.process(ops[0].pk)

    for op in ops:
        op.refresh_from_db()
    assert [op.status for op in ops] == [Status.SUCCEEDED, Status.FAILED] + [Status.SUCCEEDED] * 2
    assert "Could not get some CONTACT objects" in ops[1].last_error
    assert fake_hubspot.count("POST", f"{OBJECTS}/contacts/batch/update") == 1
    assert fake_hubspot.count("PATCH", f"{OBJECTS}/contacts/") == 0
    by_id = {c["id"]: c["properties"] for c in fake_hubspot.objects("contacts")}
    assert (by_id[a["id"]]["firstname"], by_id[a["id"]]["lastname"]) == ("Ada", "Lovelace")
    assert by_id[b["id"]]["firstname"] == "Bea"


def test_queued_ticket_updates_are_batched_too(tickets_on, fake_hubspot):
    [t1, t2] = [
        fake_hubspot.create_object(
            "tickets",
            {"subject": s, "hs_pipeline": "81234567", "hs_pipeline_stage": "81234568"},
        )
        for s in ("One", "Two")
    ]
    ops = queue(
        Kind.UPDATE_TICKET,
        [
            {"id": t1["id"], "properties": {"hs_pipeline_stage": "81234569"}},
            {"id": t2["id"], "properties": {"hs_pipeline_stage": "nope"}},  # not a stage
        ],
    )
    outbox.process(ops[0].pk)

    for op in ops:
        op.refresh_from_db()
    assert [op.status for op in ops] == [Status.SUCCEEDED, Status.FAILED]
    assert "nope is not a valid stage" in ops[1].last_error
    assert fake_hubspot.count("POST", f"{OBJECTS}/tickets/batch/update") == 1


def test_an_import_batch_with_one_bad_row_fails_that_line_only(
    hubspot_settings, fake_hubspot, tmp_path
):
    # An account whose phone property holds numbers: HubSpot refuses a phone in words.
    fake_hubspot.define_property("contacts", "phone", type="number")
    rows = [f"person{i}@example.com,5550{i:03d}" for i in range(99)]
    rows.insert(41, "odd@example.com,call me")  # line 43
    path = tmp_path / "contacts.csv"
    path.write_text("email,phone\n" + "\n".join(rows) + "\n", encoding="utf-8")
    contact_import = imports.start_import(path.name)
    result = imports.run_import(contact_import, str(path))

    assert (result.created, result.failed) == (99, 1)
    assert [e["line"] for e in result.errors] == [43]
    assert "call me is not a valid number" in result.errors[0]["reason"]
    assert fake_hubspot.count("POST", CONTACT_UPSERT) == 1
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.DONE
    assert len(fake_hubspot.objects("contacts")) == 99


def test_a_persons_own_ticket_goes_alone_and_leaves_the_backlog_to_the_worker(
    tickets_on, fake_hubspot
):
    queue_tickets(fake_hubspot, 30)
    make_due()
    outcome = tickets.create_ticket(
        {"subject": "Mine", "content": "Now", "email": "me@example.com"}
    )

    assert outcome.done, outcome.error
    assert fake_hubspot.count("POST", TICKET_UPSERT) == 0  # one single create, no backlog
    assert len(fake_hubspot.objects("tickets")) == 1
    assert OutboxOperation.objects.filter(status=Status.PENDING).count() == 30

    outbox.process_due()
    assert fake_hubspot.count("POST", TICKET_UPSERT) == 1
    assert len(fake_hubspot.objects("tickets")) == 31


def test_a_contact_batch_refused_whole_as_a_conflict_files_each_ticket_on_its_own_contact(
    tickets_on, fake_hubspot, monkeypatch
):
    from tests.fake_hubspot.common import ApiError

    known = {
        e: fake_hubspot.create_object("contacts", {"email": e})["id"]
        for e in ("customer0@example.com", "customer1@example.com")
    }
    queue_tickets(fake_hubspot, 3, customers=3)
    real = fake_hubspot.state._batch_create

    def whole_conflict(otype, inputs, body):
        # As HubSpot answers a batch create without multi-status: one 409 for the batch.
        for item in inputs:
            existing = fake_hubspot.state.emails.get(item["properties"].get("email"))
            if otype == "contacts" and existing:
                raise ApiError(409, f"Contact already exists. Existing ID: {existing}", "CONFLICT")
        return real(otype, inputs, body)

    monkeypatch.setattr(fake_hubspot.state, "_batch_create", whole_conflict)
    make_due()
    outbox.process_due()

    contacts = {c["properties"]["email"]: c["id"] for c in fake_hubspot.objects("contacts")}
    assert len(contacts) == 3 and {e: contacts[e] for e in known} == known
    for op in OutboxOperation.objects.all():
        assert op.status == Status.SUCCEEDED, op.last_error
        assert filed_on(fake_hubspot, op.hubspot_object_id) == {contacts[op.payload["email"]]}


def test_rows_backing_off_from_the_outage_go_with_the_first_batch_hubspot_takes(
    tickets_on, fake_hubspot
):
    ops = [o.operation for o in queue_tickets(fake_hubspot, 30)]
    later = timezone.now() + timedelta(minutes=10)
    OutboxOperation.objects.filter(pk__in=[op.pk for op in ops[10:25]]).update(
        next_attempt_at=later, last_error_kind="unavailable", last_error="HubSpot is down"
    )
    # A 429's Retry-After is HubSpot's word: those rows keep their wait.
    OutboxOperation.objects.filter(pk__in=[op.pk for op in ops[25:]]).update(
        next_attempt_at=later, last_error_kind="rate_limited"
    )
    OutboxOperation.objects.filter(pk__in=[op.pk for op in ops[:10]]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    outbox.process(ops[0].pk)

    assert OutboxOperation.objects.filter(status=Status.SUCCEEDED).count() == 25
    waiting = OutboxOperation.objects.filter(status=Status.PENDING)
    assert set(waiting.values_list("pk", flat=True)) == {op.pk for op in ops[25:]}
    assert fake_hubspot.count("POST", TICKET_UPSERT) == 2  # the due 10, then the waiting 15
