"""Contacts through the outbox: created once, found by email, queued when HubSpot is away."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from hubspot_integration.contacts import service as contacts
from hubspot_integration.models import OutboxOperation
from hubspot_integration.services import outbox

pytestmark = pytest.mark.django_db


def make_due():
    OutboxOperation.objects.filter(status="pending").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_create_then_duplicate_email_finds_the_existing(hubspot_settings, fake_hubspot, superuser):
    first = contacts.create_contact(
        {"email": "Ann@Example.com", "firstname": "Ann", "company": "Acme"}, user=superuser
    )
    assert first.existing is None and first.outcome.done
    created = first.outcome.result["contact"]
    assert created["properties"]["email"] == "ann@example.com"
    op = first.outcome.operation
    assert op.requested_by == superuser and op.hubspot_object_id == created["id"]

    again = contacts.create_contact({"email": "ann@example.COM", "firstname": "Annie"})
    assert again.outcome is None
    assert again.existing["id"] == created["id"]
    assert len(fake_hubspot.objects("contacts")) == 1
    # Found by the email ID property, not by search (whose index lags).
    assert fake_hubspot.count("POST", "/crm/objects/2026-09/contacts/search") == 0


def test_conflict_between_read_and_create_is_treated_as_existing(hubspot_settings, fake_hubspot):
    """Someone else creates the contact between our lookup and our create: HubSpot's 409."""
    fake_hubspot.faults.fail_next(1, status=404, path_prefix="/crm/objects/2026-09/contacts/bob")
    fake_hubspot.create_object("contacts", {"email": "bob@example.com"})
    result = contacts.create_contact({"email": "bob@example.com"})
    assert result.existing is not None
    assert result.existing["properties"]["email"] == "bob@example.com"
    assert len(fake_hubspot.objects("contacts")) == 1


@pytest.mark.parametrize(
    "data,field",
    [({"email": ""}, "email"), ({"email": "not-an-email"}, "email"), ({"firstname": "x"}, "email")],
)
def test_invalid_input_names_the_field_and_sends_nothing(
    hubspot_settings, fake_hubspot, data, field
):
    with pytest.raises(ValidationError) as err:
        contacts.create_contact(data)
    assert field in err.value.message_dict
    assert fake_hubspot.count() == 0
    assert not OutboxOperation.objects.exists()


def test_hubspot_down_queues_and_the_worker_delivers(hubspot_settings, fake_hubspot):
    fake_hubspot.faults.down()
    result = contacts.create_contact({"email": "queued@example.com", "lastname": "Q"})
    assert result.outcome.queued
    op = OutboxOperation.objects.get()
    assert op.status == "pending" and op.attempts == 1
    assert op.payload["properties"]["lastname"] == "Q"  # nothing typed is lost
    assert "503" in op.last_error or "unavailable" in op.last_error.lower()

    fake_hubspot.faults.up()
    make_due()
    assert outbox.process_due() == 1
    op.refresh_from_db()
    assert op.status == "succeeded" and op.attempts == 2
    assert [c["properties"]["email"] for c in fake_hubspot.objects("contacts")] == [
        "queued@example.com"
    ]


def test_lost_answer_then_retry_does_not_duplicate(hubspot_settings, fake_hubspot):
    """HubSpot stores the contact, then the connection drops: the retry finds it (409), once."""
    fake_hubspot.faults.drop_next(1, after_store=True, path_prefix="/crm/objects/2026-09/contacts")
    op = outbox.submit(
        OutboxOperation.Kind.CREATE_CONTACT, {"properties": {"email": "lost@example.com"}}
    ).operation
    assert op.status == "pending" and op.last_error_kind == "unavailable"
    assert len(fake_hubspot.objects("contacts")) == 1  # stored although the answer was lost

    make_due()
    outbox.process_due()
    op.refresh_from_db()
    assert op.status == "succeeded"
    assert op.hubspot_object_id == fake_hubspot.objects("contacts")[0]["id"]
    assert len(fake_hubspot.objects("contacts")) == 1


def test_update_and_archive(hubspot_settings, fake_hubspot):
    contact = fake_hubspot.create_object("contacts", {"email": "c@example.com"})
    outcome = contacts.update_contact(contact["id"], {"company": "New Co", "phone": "+1 555"})
    assert outcome.done
    stored = fake_hubspot.objects("contacts")[0]["properties"]
    assert stored["company"] == "New Co" and stored["phone"] == "+1 555"

    assert contacts.archive_contact(contact["id"]).done
    assert fake_hubspot.objects("contacts") == []
    # Archiving again (a retry after a lost answer) is still a success.
    assert contacts.archive_contact(contact["id"]).done


def test_validation_error_from_hubspot_fails_permanently(hubspot_settings, fake_hubspot):
    contact = fake_hubspot.create_object("contacts", {"email": "d@example.com"})
    op = outbox.submit(
        OutboxOperation.Kind.UPDATE_CONTACT,
        {"id": contact["id"], "properties": {"no_such_property": "x"}},
    ).operation
    assert op.status == "failed" and op.last_error_kind == "validation"
    assert "no_such_property" in op.last_error
    make_due()
    assert outbox.process_due() == 0  # failed operations are not retried


def test_list_and_search(hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(45)
    fake_hubspot.create_object(
        "contacts", {"email": "zed@findme.io", "firstname": "Zed", "company": "Findme"}
    )
    page = contacts.list_contacts(limit=20)
    assert len(page.results) == 20 and page.next_after
    second = contacts.list_contacts(limit=20, after=page.next_after)
    assert {c["id"] for c in page.results}.isdisjoint({c["id"] for c in second.results})
    found = contacts.list_contacts(query="findme")
    assert [c["properties"]["email"] for c in found.results] == ["zed@findme.io"]


def test_record_url_uses_the_regional_domain(hubspot_settings):
    hubspot_settings.ui_domain = "app-eu1.hubspot.com"
    hubspot_settings.save()
    assert contacts.contact_url("101") == (
        f"https://app-eu1.hubspot.com/contacts/{hubspot_settings.portal_id}/record/0-1/101"
    )
