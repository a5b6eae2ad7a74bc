"""Every signal receiver of the app, connected in one place: `connect()`, from AppConfig.ready().

The outbox announces what became of an operation (`signals.py`) and knows nothing of who listens:
a customer's ticket follows its operation, an import's counts follow its batches. The cached
verified state of a customer's email follows its row; the HubSpot groups follow migrations; the
memoised CSP follows the settings tests override. A confirmed address and a changed user are
sent to HubSpot as contacts.
"""

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils import timezone

from . import csp
from .models import CustomerEmail, CustomerTicket, OutboxOperation
from .roles import sync_groups
from .services import email_verification, imports, ticket_sync, user_sync
from .signals import operation_failed, operation_succeeded

Kind = OutboxOperation.Kind


def connect(app_config) -> None:
    operation_succeeded.connect(
        fill_customer_ticket, dispatch_uid="hubspot_customer_ticket_created"
    )
    operation_succeeded.connect(count_import_batch, dispatch_uid="hubspot-import-succeeded")
    operation_failed.connect(count_failed_import_batch, dispatch_uid="hubspot-import-failed")
    for signal, uid in ((post_save, "saved"), (post_delete, "deleted")):
        signal.connect(
            forget_verified_state,
            sender=CustomerEmail,
            dispatch_uid=f"hubspot_customer_email_{uid}",
        )
    # After forget_verified_state (connected above): the sync reads the fresh verified state.
    post_save.connect(
        send_confirmed_user, sender=CustomerEmail, dispatch_uid="hubspot_user_contact_confirmed"
    )
    post_save.connect(
        send_changed_user, sender=get_user_model(), dispatch_uid="hubspot_user_contact_changed"
    )
    post_migrate.connect(
        sync_groups_after_migrate, sender=app_config, dispatch_uid="hubspot_sync_groups"
    )
    setting_changed.connect(csp.forget_policies, dispatch_uid="hubspot_csp_forget_policies")


def fill_customer_ticket(sender, operation, **kwargs):
    if operation.kind != Kind.CREATE_TICKET:
        return
    properties = ((operation.result or {}).get("ticket") or {}).get("properties") or {}
    pipeline = properties.get("hs_pipeline", "")
    stage = properties.get("hs_pipeline_stage", "")
    # Labels come from the pipelines cache, warm from building the payload moments before.
    for ticket in CustomerTicket.objects.filter(operation=operation):
        ticket.hubspot_id = operation.hubspot_object_id
        ticket.pipeline = pipeline or ticket.pipeline
        ticket.stage = stage or ticket.stage
        _, ticket.stage_label, ticket.status = ticket_sync.stage_info(ticket.pipeline, ticket.stage)
        ticket.updated_at = timezone.now()
        ticket.save()


def count_import_batch(sender, operation, **kwargs):
    if operation.kind == Kind.IMPORT_BATCH:
        imports.batch_succeeded(operation)


def count_failed_import_batch(sender, operation, **kwargs):
    if operation.kind == Kind.IMPORT_BATCH:
        imports.batch_failed(operation)


def forget_verified_state(sender, instance, **kwargs):
    # Every process reads the verified state through the shared cache: drop it at once.
    cache.delete(email_verification.state_key(instance.user_id))


def send_confirmed_user(sender, instance, raw=False, **kwargs):
    if not raw:  # loaddata: fixtures are not sign-ups
        user_sync.email_confirmed(instance)


def send_changed_user(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if not raw:
        user_sync.user_saved(instance, created=created, update_fields=update_fields)


def sync_groups_after_migrate(sender, **kwargs):
    sync_groups(kwargs.get("apps"))
