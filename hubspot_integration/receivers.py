"""Keeps the local record of a customer's ticket in step with its outbox operation, and the
cached verified state of a customer's email in step with its row."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from .models import CustomerEmail, CustomerTicket, OutboxOperation
from .services import email_verification, support
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


@receiver(post_save, sender=CustomerEmail, dispatch_uid="hubspot_customer_email_saved")
@receiver(post_delete, sender=CustomerEmail, dispatch_uid="hubspot_customer_email_deleted")
def forget_verified_state(sender, instance, **kwargs):
    # Every process reads the verified state through the shared cache: drop it at once.
    cache.delete(email_verification.state_key(instance.user_id))
