"""The public health check: can the panel serve? Database, cache, task backend, HubSpot settings.

It is public (load balancers call it without credentials), so it says only yes/no and plain
reasons: no token, no portal ID, no host names, no exception text that could carry either.
"""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any driver error means "down"; the cause goes to the log only
        logger.exception("Health check: database unreachable")
        return {"ok": False, "message": "The database cannot be reached."}
    return {"ok": True, "message": f"{connection.vendor} answers."}


def _cache() -> dict:
    key = f"hubspot:health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", 10)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception:
        logger.exception("Health check: cache unusable")
        ok = False
    if not ok:
        return {"ok": False, "message": "The cache cannot store and read a value."}
    return {"ok": True, "message": "The cache stores and reads values."}


def _tasks() -> dict:
    """Whether tasks can be queued: the database backend's table answers, or the RQ queues'
    Redis does. `default_task_backend` is a proxy: the real backend is behind the alias."""
    try:
        from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        name = type(backend).__name__
        if name == "DatabaseBackend":
            from django_tasks_db.models import DBTaskResult

            DBTaskResult.objects.exists()
        elif name == "RQBackend":
            import django_rq

            for queue in backend.queues:
                django_rq.get_connection(queue).ping()
    except Exception:
        logger.exception("Health check: task backend unusable")
        return {"ok": False, "message": "The task backend cannot be used."}
    return {"ok": True, "message": f"Task backend {name} is ready."}


def _hubspot() -> dict:
    from ..models import HubSpotSettings

    try:
        s = HubSpotSettings.load()
    except Exception:
        logger.exception("Health check: HubSpot settings unreadable")
        return {"ok": False, "configured": False, "message": "The settings cannot be read."}
    unreadable = s.undecryptable_fields
    if unreadable:
        # The pages still serve, but HubSpot calls and webhooks wait: an outage to act on.
        logger.error("Health check: %s", s.undecryptable_message())
        return {
            "ok": False,
            "configured": False,
            "enabled": bool(s.enabled),
            "undecryptable": unreadable,
            "message": s.undecryptable_message(),
        }
    if not s.enabled:
        message, configured = "HubSpot is switched off.", False
    elif not s.is_configured:
        message, configured = "HubSpot is on but the portal ID or token is missing.", False
    else:
        message, configured = "HubSpot is configured.", True
    if s.last_check_ok is False:
        message += " The last connection check failed."
    # Not configured is a state the admin chooses, not an outage: it does not fail the check.
    return {
        "ok": True,
        "configured": configured,
        "enabled": bool(s.enabled),
        "last_check_ok": s.last_check_ok,
        "last_check_at": s.last_check_at.isoformat() if s.last_check_at else None,
        "message": message,
    }


def check() -> dict:
    components = {
        "database": _database(),
        "cache": _cache(),
        "tasks": _tasks(),
    }
    components["hubspot"] = (
        _hubspot()
        if components["database"]["ok"]
        else {
            "ok": False,
            "configured": False,
            "message": "Unknown: the database is down.",
        }
    )
    failed = [name for name, c in components.items() if not c["ok"]]
    return {
        "success": not failed,
        "message": "Healthy." if not failed else "Unhealthy: " + ", ".join(failed) + ".",
        "components": components,
    }
