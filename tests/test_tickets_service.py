"""Tickets: pipelines from HubSpot, the contact association, priorities, no duplicate on retry."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from hubspot_integration.models import OutboxOperation
from hubspot_integration.services import outbox
from hubspot_integration.tickets import service as tickets

pytestmark = pytest.mark.django_db


def make_due():
    OutboxOperation.objects.filter(status="pending").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def new_ticket(**overrides):
    data = {"subject": "Server down", "content": "It is down", "email": "cust@example.com"}
    data.update(overrides)
    return data


def test_ticket_lands_with_contact_association_and_pipeline_from_hubspot(tickets_on, fake_hubspot):
    outcome = tickets.create_ticket(new_ticket(priority="high", category="product_issue"))
    assert outcome.done, outcome.error
    [ticket] = fake_hubspot.objects("tickets")
    props = ticket["properties"]
    first_pipeline = fake_hubspot.pipelines("tickets")[0]
    assert props["hs_pipeline"] == first_pipeline["id"] != "0"
    assert props["hs_pipeline_stage"] == first_pipeline["stages"][0]["id"]
    assert props["hs_ticket_priority"] == "HIGH"
    assert props["hs_ticket_category"] == "PRODUCT_ISSUE"
    assert props["skypanel_request_key"] == outcome.operation.idempotency_key
    [contact] = fake_hubspot.objects("contacts")
    assert contact["properties"]["email"] == "cust@example.com"
    # The association went in the create call itself (type 16), no separate call.
    create_calls = [r for r in fake_hubspot.requests if r.path == "/crm/objects/2026-09/tickets"]
    assert create_calls[0].body["associations"][0]["types"][0]["associationTypeId"] == 16
    assert create_calls[0].body["associations"][0]["to"]["id"] == contact["id"]
    assert fake_hubspot.count("PUT", "/crm/objects/2026-09/") == 0


def test_existing_contact_is_reused(tickets_on, fake_hubspot):
    existing = fake_hubspot.create_object("contacts", {"email": "cust@example.com"})
    assert tickets.create_ticket(new_ticket()).done
    assert len(fake_hubspot.objects("contacts")) == 1
    body = [r for r in fake_hubspot.requests if r.path == "/crm/objects/2026-09/tickets"][0].body
    assert body["associations"][0]["to"]["id"] == existing["id"]


def test_default_pipeline_and_stage_from_settings(tickets_on, fake_hubspot):
    second = fake_hubspot.pipelines("tickets")[1]
    tickets_on.default_ticket_pipeline = second["id"]
    tickets_on.default_ticket_stage = second["stages"][1]["id"]
    tickets_on.save()
    assert tickets.create_ticket(new_ticket()).done
    props = fake_hubspot.objects("tickets")[0]["properties"]
    assert (props["hs_pipeline"], props["hs_pipeline_stage"]) == (
        second["id"],
        second["stages"][1]["id"],
    )


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"subject": ""}, "subject"),
        ({"email": "nope"}, "email"),
        ({"priority": "SOMEDAY"}, "priority"),
        ({"category": "WHATEVER"}, "category"),
        ({"pipeline": "123"}, "pipeline"),
        ({"stage": "999"}, "stage"),
    ],
)
def test_bad_input_is_refused_before_anything_is_queued(tickets_on, fake_hubspot, overrides, field):
    with pytest.raises(ValidationError) as err:
        tickets.create_ticket(new_ticket(**overrides))
    assert field in err.value.message_dict
    assert not OutboxOperation.objects.exists()
    assert fake_hubspot.objects("tickets") == []


def test_urgent_maps_to_high_on_accounts_without_it(tickets_on, fake_hubspot):
    fake_hubspot.define_property(
        "tickets", "hs_ticket_priority", type="enumeration", options=["LOW", "MEDIUM", "HIGH"]
    )
    assert tickets.create_ticket(new_ticket(priority="urgent")).done
    assert fake_hubspot.objects("tickets")[0]["properties"]["hs_ticket_priority"] == "HIGH"


def test_pipelines_are_cached_and_refreshable(tickets_on, fake_hubspot):
    tickets.pipelines()
    tickets.pipelines()
    assert fake_hubspot.count("GET", "/crm/pipelines/2026-09/tickets") == 1
    tickets.pipelines(refresh=True)
    assert fake_hubspot.count("GET", "/crm/pipelines/2026-09/tickets") == 2


def test_tickets_disabled_says_so(hubspot_settings, fake_hubspot):
    with pytest.raises(tickets.TicketsDisabled, match="switched off"):
        tickets.create_ticket(new_ticket())
    with pytest.raises(tickets.TicketsDisabled):
        tickets.list_tickets()
    assert fake_hubspot.count() == 0


def test_lost_answer_on_create_never_makes_a_second_ticket(tickets_on, fake_hubspot):
    tickets.pipelines()  # warm, so only the create call is affected
    fake_hubspot.faults.drop_next(1, after_store=True, path_prefix="/crm/objects/2026-09/tickets")
    outcome = tickets.create_ticket(new_ticket())
    assert outcome.queued
    assert len(fake_hubspot.objects("tickets")) == 1

    make_due()
    outbox.process_due()
    op = OutboxOperation.objects.get()
    assert op.status == "succeeded"
    assert op.hubspot_object_id == fake_hubspot.objects("tickets")[0]["id"]
    assert len(fake_hubspot.objects("tickets")) == 1


def test_queued_while_down_with_nothing_cached_resolves_the_pipeline_later(
    tickets_on, fake_hubspot
):
    fake_hubspot.faults.down()
    outcome = tickets.create_ticket(new_ticket(priority="LOW"))
    assert outcome.queued
    fake_hubspot.faults.up()
    make_due()
    outbox.process_due()
    [ticket] = fake_hubspot.objects("tickets")
    assert ticket["properties"]["hs_pipeline"] == fake_hubspot.pipelines("tickets")[0]["id"]
    assert ticket["properties"]["hs_ticket_priority"] == "LOW"


def test_update_stage_priority_owner(tickets_on, fake_hubspot):
    assert tickets.create_ticket(new_ticket()).done
    ticket_id = fake_hubspot.objects("tickets")[0]["id"]
    pipeline = fake_hubspot.pipelines("tickets")[0]
    from hubspot_integration.credentials import get_client

    owner_id = get_client().owners()[0]["id"]
    outcome = tickets.update_ticket(
        ticket_id, {"stage": pipeline["stages"][2]["id"], "priority": "low", "owner": owner_id}
    )
    assert outcome.done, outcome.error
    props = fake_hubspot.objects("tickets")[0]["properties"]
    assert props["hs_pipeline_stage"] == pipeline["stages"][2]["id"]
    assert props["hs_ticket_priority"] == "LOW"
    assert props["hubspot_owner_id"] == str(owner_id)


def test_list_filters(tickets_on, fake_hubspot):
    for i, priority in enumerate(["LOW", "HIGH", "HIGH"]):
        assert tickets.create_ticket(new_ticket(subject=f"Disk full {i}", priority=priority)).done
    assert tickets.create_ticket(new_ticket(subject="Billing question")).done
    assert len(tickets.list_tickets(priority="high").results) == 2
    found = tickets.list_tickets(query="Billing")
    assert [t["properties"]["subject"] for t in found.results] == ["Billing question"]
    stage = fake_hubspot.pipelines("tickets")[0]["stages"][0]["id"]
    assert len(tickets.list_tickets(stage=stage).results) == 4


# --- the request-key property heals itself ---------------------------------------------------------
TICKETS_PATH = "/crm/objects/2026-09/tickets"


def _by_request_key(fake_hubspot) -> dict[str, int]:
    keys: dict[str, int] = {}
    for ticket in fake_hubspot.objects("tickets"):
        key = ticket["properties"].get(tickets.REQUEST_KEY_PROPERTY)
        keys[key] = keys.get(key, 0) + 1
    return keys


def test_the_request_key_property_is_created_again_when_it_went_from_hubspot(
    tickets_on, fake_hubspot, customer
):
    """A reset sandbox or a deleted property: the panel's 24-hour belief that it exists is dropped
    at HubSpot's first "does not exist", the property is made again, and every queued ticket
    (staff's and customers' support requests) lands exactly once."""
    from django.test import Client

    from hubspot_integration.models import CustomerTicket
    from tests.helpers import client_for

    assert tickets.create_ticket(new_ticket(subject="Before")).done  # property made and believed
    assert fake_hubspot.delete_property("tickets", tickets.REQUEST_KEY_PROPERTY)

    staff = [tickets.create_ticket(new_ticket(subject=f"Staff {i}")) for i in range(2)]
    support = {"subject": "Site down", "description": "502", "priority": "HIGH", "website": ""}
    customer_page = client_for(customer).post(
        "/support/", {**support, "email": "cus@example.com"}, follow=True
    )
    anonymous_page = Client().post("/support/", {**support, "email": "anon@example.com"})
    # An answer lost after the store, on a property made again: the retry finds it by its key.
    fake_hubspot.faults.drop_next(1, after_store=True, path_prefix=TICKETS_PATH)
    lost = tickets.create_ticket(new_ticket(subject="Lost answer"))
    assert lost.queued
    make_due()
    outbox.process_due()

    assert "Your request was received" in customer_page.content.decode()
    assert anonymous_page.status_code == 302
    assert all(outcome.done for outcome in staff), [o.error for o in staff]
    operations = OutboxOperation.objects.filter(kind=OutboxOperation.Kind.CREATE_TICKET)
    assert sorted(op.status for op in operations) == ["succeeded"] * 6
    keys = _by_request_key(fake_hubspot)
    assert keys.pop(None) == 1  # the ticket made before: its value went with the property
    before = operations.get(payload__properties__subject="Before")
    assert keys == {op.idempotency_key: 1 for op in operations.exclude(pk=before.pk)}
    assert all(t.hubspot_id for t in CustomerTicket.objects.all())
    assert (
        fake_hubspot.count("POST", "/crm/properties/2026-09/tickets") == 2
    )  # first use, then once
    assert fake_hubspot.server_errors == []


def test_hubspots_own_wording_of_the_missing_property_is_understood(tickets_on, fake_hubspot):
    """HubSpot's answer may carry the problems only in its message (no `errors` list)."""
    assert tickets.create_ticket(new_ticket(subject="Before")).done
    fake_hubspot.delete_property("tickets", tickets.REQUEST_KEY_PROPERTY)
    problem = {
        "isValid": False,
        "message": f'Property "{tickets.REQUEST_KEY_PROPERTY}" does not exist',
        "error": "PROPERTY_DOESNT_EXIST",
        "name": tickets.REQUEST_KEY_PROPERTY,
        "localizedErrorMessage": f'Property "{tickets.REQUEST_KEY_PROPERTY}" does not exist',
        "portalId": 12345678,
    }
    body = {
        "status": "error",
        "message": "Property values were not valid: " + json.dumps([problem]),
        "correlationId": "0c1b0e0a-6d4e-4b8e-9a52-7d9f3c1a2b3c",
        "category": "VALIDATION_ERROR",
    }
    fake_hubspot.faults.fail_next(1, status=400, path_prefix=TICKETS_PATH, body=json.dumps(body))
    outcome = tickets.create_ticket(new_ticket(subject="After"))
    assert outcome.done, outcome.error
    assert len(fake_hubspot.objects("tickets")) == 2


def test_another_missing_property_is_still_a_permanent_failure(tickets_on, fake_hubspot):
    tickets.pipelines()
    fake_hubspot.define_property("tickets", "custom_field")
    outcome = tickets.create_ticket(new_ticket())  # warm: the request key exists
    assert outcome.done
    problem = {"isValid": False, "error": "PROPERTY_DOESNT_EXIST", "name": "custom_field"}
    body = {
        "status": "error",
        "message": "Property values were not valid: " + json.dumps([problem]),
        "category": "VALIDATION_ERROR",
    }
    fake_hubspot.faults.fail_next(1, status=400, path_prefix=TICKETS_PATH, body=json.dumps(body))
    outcome = tickets.create_ticket(new_ticket(subject="Refused"))
    assert outcome.operation.status == "failed"
    assert fake_hubspot.count("POST", "/crm/properties/2026-09/tickets") == 1


def test_a_property_hubspot_still_does_not_know_after_creating_it_is_retried_later(
    tickets_on, fake_hubspot
):
    assert tickets.create_ticket(new_ticket(subject="Before")).done
    fake_hubspot.delete_property("tickets", tickets.REQUEST_KEY_PROPERTY)
    problem = {"isValid": False, "error": "PROPERTY_DOESNT_EXIST", "name": "skypanel_request_key"}
    body = json.dumps(
        {"status": "error", "message": "Property values were not valid: " + json.dumps([problem])}
    )
    # The first answer says the property is missing; the second too, though it was just made.
    fake_hubspot.faults.fail_next(2, status=400, path_prefix=TICKETS_PATH, body=body)
    outcome = tickets.create_ticket(new_ticket(subject="After"))
    assert outcome.queued and outcome.operation.last_error_kind == "unavailable"
    make_due()
    outbox.process_due()
    outcome.operation.refresh_from_db()
    assert outcome.operation.status == "succeeded"
    assert _by_request_key(fake_hubspot)[outcome.operation.idempotency_key] == 1
