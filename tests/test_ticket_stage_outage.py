"""A ticket's new stage during a HubSpot outage is queued through the outbox, like any other
write, and lands when HubSpot is back: in bulk from the list, and one by one."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from hubspot_integration.models import OutboxOperation
from hubspot_integration.services import outbox, pipelines
from hubspot_integration.tickets import service as tickets
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

TICKETS = "/admin/hubspot_integration/hubspotticket/"
CLOSED = "81234571"


def land_queued(fake_hubspot):
    fake_hubspot.faults.up()
    for operation in OutboxOperation.objects.filter(status="pending"):
        OutboxOperation.objects.filter(pk=operation.pk).update(next_attempt_at=operation.created_at)
    outbox.process_due()


def test_bulk_set_stage_during_an_outage_is_queued_then_lands(
    hubspot_staff, tickets_on, fake_hubspot
):
    fake_hubspot.seed_tickets(5)
    ids = [t["id"] for t in fake_hubspot.objects("tickets")][:3]
    client = client_for(hubspot_staff)
    assert client.get(TICKETS).status_code == 200  # the list, as staff see it before the outage
    fake_hubspot.faults.down()
    asked = {"action": "set_stage", "_selected_action": ids}
    confirm = client.post(TICKETS + "actions/", asked)
    assert 'id="bulk-stage"' in confirm.content.decode()  # the stages still to choose from
    done = client.post(TICKETS + "actions/", {**asked, "post": "yes", "stage": CLOSED})
    assert done.status_code == 302
    assert [str(m) for m in get_messages(done.wsgi_request)] == [
        "3 tickets: Queued: will be sent to HubSpot when it is reachable."
    ]
    queued = OutboxOperation.objects.filter(kind="update_ticket", status="pending")
    assert sorted(op.payload["id"] for op in queued) == sorted(ids)
    land_queued(fake_hubspot)
    assert OutboxOperation.objects.filter(kind="update_ticket", status="succeeded").count() == 3
    by_id = {t["id"]: t["properties"] for t in fake_hubspot.objects("tickets")}
    assert {by_id[i]["hs_pipeline_stage"] for i in ids} == {CLOSED}


def test_a_stage_queued_with_nothing_known_is_checked_when_it_runs(
    hubspot_settings, tickets_on, fake_hubspot
):
    """Neither the ticket's pipeline nor HubSpot's list of them can be read: the change waits
    with the stage alone, and the handler finds the ticket's pipeline when HubSpot answers."""
    fake_hubspot.seed_tickets(2)
    ticket, other = fake_hubspot.objects("tickets")[:2]
    pipelines.forget("tickets")
    fake_hubspot.faults.down()
    assert tickets.update_ticket(ticket["id"], {"stage": CLOSED}).queued
    assert tickets.update_ticket(other["id"], {"stage": "no-such-stage"}).queued
    land_queued(fake_hubspot)
    by_id = {t["id"]: t["properties"] for t in fake_hubspot.objects("tickets")}
    assert by_id[ticket["id"]]["hs_pipeline_stage"] == CLOSED
    assert by_id[other["id"]]["hs_pipeline_stage"] == other["properties"]["hs_pipeline_stage"]
    refused = OutboxOperation.objects.get(payload__id=other["id"])
    assert refused.status == "failed" and "no stage 'no-such-stage'" in refused.last_error
