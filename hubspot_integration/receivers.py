"""Keeps the local record of a customer's ticket in step with its outbox operation."""

from django.dispatch import receiver
from django.utils import timezone

from .models import CustomerTicket, OutboxOperation
from .services import support
from .signals import operation_succeeded


@receiver(operation_succeeded, dispatch_uid="hubspot_customer_ticket_created")
def fill_customer_ticket(sender, operation, **kwargs):
    if operation.kind != OutboxOperation.Kind.CREATE_TICKET:
        return
    properties = ((operation.result or {}).get("ticket") or {}).get("properties") or {}
    pipeline = properties.get("hs_pipeline", "")
    stage = properties.get("hs_pipeline_stage", "")
    # Labels come from the pipelines cache, warm from building the payload moments before.
    for ticket in CustomerTicket.objects.filter(operation=operation):
        ticket.hubspot_id = operation.hubspot_object_id
        ticket.pipeline = pipeline or ticket.pipeline
        ticket.stage = stage or ticket.stage
        _, ticket.stage_label, ticket.status = support.stage_info(ticket.pipeline, ticket.stage)
        ticket.updated_at = timezone.now()
        ticket.save()
