"""Background work, on django-tasks (the database backend by default, RQ when configured).

These depend on the services, and nothing depends on them: the services enqueue a job by name
(`services/queue.py`) and AppConfig.ready() binds each name to its task here.
"""

from django_tasks import task

from . import errors
from .models import ContactImport, CustomerTicket
from .services import import_api, imports, outbox, ticket_notifications, ticket_sync, webhook_events


@task()
def process_operation(operation_id: int) -> str:
    """Attempt one outbox operation (enqueued after a transient failure, due at its backoff)."""
    return outbox.process(operation_id).status


@task()
def drain_outbox(limit: int = 500) -> int:
    """Attempt every due operation, including those a dead worker left behind."""
    return outbox.process_due(limit=limit)


@task()
def process_webhook_events(limit: int = 500) -> int:
    """Apply every webhook event not applied yet (all of them, so a lost enqueue loses nothing)."""
    return webhook_events.apply_pending(limit=limit)


@task()
def sync_customer_tickets(ticket_ids: list[int] | None = None) -> dict:
    """Staff's "sync now": pull the current state of the customers' tickets from HubSpot."""
    tickets = CustomerTicket.objects.exclude(status=CustomerTicket.Status.DELETED)
    if ticket_ids:
        tickets = tickets.filter(pk__in=ticket_ids)
    return ticket_sync.sync_tickets(tickets)


@task()
def send_ticket_email(notification_id: int) -> str:
    """Send one email owed to a customer about their ticket. A failed send is not raised: the
    row is left pending with its backoff and queued again for then (the sweep if that is lost)."""
    return ticket_notifications.send(notification_id)


@task()
def run_contact_import(import_id: int) -> str:
    """Stream an uploaded CSV into HubSpot; progress is read from the ContactImport row."""
    contact_import = ContactImport.objects.get(pk=import_id)
    try:
        imports.run_import(contact_import)
    except (imports.ImportFileError, errors.HubSpotError):
        pass  # recorded on the import, shown on its page
    contact_import.refresh_from_db()
    return contact_import.status


@task()
def poll_contact_import(import_id: int) -> str:
    """Ask HubSpot how an import it runs is doing (imports API); queues the next poll until done."""
    import_api.poll_and_schedule(import_id)
    return ContactImport.objects.filter(pk=import_id).values_list("status", flat=True).first() or ""
