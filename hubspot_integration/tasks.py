"""Background work, on django-tasks (the database backend by default, RQ when configured)."""

from django_tasks import task

from .services import outbox


@task()
def process_operation(operation_id: int) -> str:
    """Attempt one outbox operation (enqueued after a transient failure, due at its backoff)."""
    return outbox.process(operation_id).status


@task()
def drain_outbox(limit: int = 500) -> int:
    """Attempt every due operation, including those a dead worker left behind."""
    return outbox.process_due(limit=limit)
