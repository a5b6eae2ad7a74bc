"""Tickets: pipelines from HubSpot, the contact association, priorities, no duplicate on retry."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from hubspot_integration.models import OutboxOperation
from hubspot_integration.services import outbox, tickets

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket_settings(hubspot_settings):
    hubspot_settings.tickets_enabled = True
    hubspot_settings.save()
    return hubspot_settings


def make_due():
    OutboxOperation.objects.filter(status="pending").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def new_ticket(**overrides):
    data = {"subject": "Server down", "content": "It is down", "email": "cust@example.com"}
    data.update(overrides)
    return data


def test_ticket_lands_with_contact_association_and_pipeline_from_hubspot(
    ticket_settings, fake_hubspot
):
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


def test_existing_contact_is_reused(ticket_settings, fake_hubspot):
    existing = fake_hubspot.create_object("contacts", {"email": "cust@example.com"})
    assert tickets.create_ticket(new_ticket()).done
    assert len(fake_hubspot.objects("contacts")) == 1
    body = [r for r in fake_hubspot.requests if r.path == "/crm/objects/2026-09/tickets"][0].body
    assert body["associations"][0]["to"]["id"] == existing["id"]


def test_default_pipeline_and_stage_from_settings(ticket_settings, fake_hubspot):
    second = fake_hubspot.pipelines("tickets")[1]
    ticket_settings.default_ticket_pipeline = second["id"]
    ticket_settings.default_ticket_stage = second["stages"][1]["id"]
    ticket_settings.save()
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
def test_bad_input_is_refused_before_anything_is_queued(
    ticket_settings, fake_hubspot, overrides, field
):
    with pytest.raises(ValidationError) as err:
        tickets.create_ticket(new_ticket(**overrides))
    assert field in err.value.message_dict
    assert not OutboxOperation.objects.exists()
    assert fake_hubspot.objects("tickets") == []


def test_urgent_maps_to_high_on_accounts_without_it(ticket_settings, fake_hubspot):
    fake_hubspot.define_property(
        "tickets", "hs_ticket_priority", type="enumeration", options=["LOW", "MEDIUM", "HIGH"]
    )
    assert tickets.create_ticket(new_ticket(priority="urgent")).done
    assert fake_hubspot.objects("tickets")[0]["properties"]["hs_ticket_priority"] == "HIGH"


def test_pipelines_are_cached_and_refreshable(ticket_settings, fake_hubspot):
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


def test_lost_answer_on_create_never_makes_a_second_ticket(ticket_settings, fake_hubspot):
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
    ticket_settings, fake_hubspot
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


def test_update_stage_priority_owner(ticket_settings, fake_hubspot):
    assert tickets.create_ticket(new_ticket()).done
    ticket_id = fake_hubspot.objects("tickets")[0]["id"]
    pipeline = fake_hubspot.pipelines("tickets")[0]
    from hubspot_integration.client import get_client

    owner_id = get_client().owners()[0]["id"]
    outcome = tickets.update_ticket(
        ticket_id, {"stage": pipeline["stages"][2]["id"], "priority": "low", "owner": owner_id}
    )
    assert outcome.done, outcome.error
    props = fake_hubspot.objects("tickets")[0]["properties"]
    assert props["hs_pipeline_stage"] == pipeline["stages"][2]["id"]
    assert props["hs_ticket_priority"] == "LOW"
    assert props["hubspot_owner_id"] == str(owner_id)


def test_list_filters(ticket_settings, fake_hubspot):
    for i, priority in enumerate(["LOW", "HIGH", "HIGH"]):
        assert tickets.create_ticket(new_ticket(subject=f"Disk full {i}", priority=priority)).done
    assert tickets.create_ticket(new_ticket(subject="Billing question")).done
    assert len(tickets.list_tickets(priority="high").results) == 2
    found = tickets.list_tickets(query="Billing")
    assert [t["properties"]["subject"] for t in found.results] == ["Billing question"]
    stage = fake_hubspot.pipelines("tickets")[0]["stages"][0]["id"]
    assert len(tickets.list_tickets(stage=stage).results) == 4
