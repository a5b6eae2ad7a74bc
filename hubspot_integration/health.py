"""Health check backends: can the panel serve? One small class per thing it needs.

`registry` holds the checks in the order they run (the app fills it in `ready()`); `/api/health`
and `manage.py hubspot_health` both run `registry.run()`.

The report is public (load balancers call it without credentials), so a status says only yes/no
and plain reasons: no token, no portal ID, no host names, no exception text that could carry
either. The cause of a failure goes to the log.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    ok: bool
    message: str
    details: dict = field(default_factory=dict)  # extra keys of the component, in order

    def as_dict(self) -> dict:
        return {"ok": self.ok, **self.details, "message": self.message}


class HealthCheck:
    """One backend. `check()` returns a Status or raises; `run()` never raises."""

    name = ""  # the component's key in the report
    requires: tuple[str, ...] = ()  # checks that must pass for this one to mean anything
    failure_message = "The check failed."
    failure_details: dict = {}

    def check(self) -> Status:
        raise NotImplementedError

    def run(self) -> Status:
        try:
            return self.check()
        except Exception:  # any error means "down"; the cause goes to the log only
            logger.exception("Health check %r failed", self.name)
            return self.failed()

    def failed(self) -> Status:
        return Status(False, self.failure_message, dict(self.failure_details))

    def skipped(self, failed: str) -> Status:
        """The status when `failed`, one of `requires`, did not pass."""
        return Status(False, f"Unknown: the {failed} is down.", dict(self.failure_details))


class DatabaseCheck(HealthCheck):
    name = "database"
    failure_message = "The database cannot be reached."

    def check(self) -> Status:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return Status(True, f"{connection.vendor} answers.")


class CacheCheck(HealthCheck):
    name = "cache"
    failure_message = "The cache cannot store and read a value."

    def check(self) -> Status:
        key = f"hubspot:health:{uuid.uuid4().hex}"
        cache.set(key, "1", 10)
        ok = cache.get(key) == "1"
        cache.delete(key)
        if not ok:
            logger.error("Health check 'cache': a value set was not read back")
            return self.failed()
        return Status(True, "The cache stores and reads values.")


class TaskBackendCheck(HealthCheck):
    """Whether tasks can be queued: the database backend's table answers, or the RQ queues'
    Redis does. `default_task_backend` is a proxy: the real backend is behind the alias."""

    name = "tasks"
    failure_message = "The task backend cannot be used."

    def check(self) -> Status:
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
        return Status(True, f"Task backend {name} is ready.")


class HubSpotConfigurationCheck(HealthCheck):
    """The settings row: readable, every secret opens, and what the admin chose. Switched off or
    not configured is a state the admin chooses, not an outage: it passes. The last connection
    check's result is reported alongside (time, verdict, the failing checks by name, and whether
    it is stale because no sweep runs the watch), and does not fail it either: HubSpot being down
    or a revoked token does not stop this instance serving its pages, so a load balancer must not
    take it out; alert on `last_check_ok` instead."""

    name = "hubspot"
    requires = ("database",)
    failure_message = "The settings cannot be read."
    failure_details = {"configured": False}

    def check(self) -> Status:
        from .models import HubSpotSettings
        from .services import connection_watch

        s = HubSpotSettings.load()
        unreadable = s.undecryptable_fields
        if unreadable:
            # The pages still serve, but HubSpot calls and webhooks wait: an outage to act on.
            logger.error("Health check: %s", s.undecryptable_message())
            details = {"configured": False, "enabled": bool(s.enabled), "undecryptable": unreadable}
            return Status(False, s.undecryptable_message(), details)
        if not s.enabled:
            message, configured = "HubSpot is switched off.", False
        elif not s.is_configured:
            message, configured = "HubSpot is on but the portal ID or token is missing.", False
        else:
            message, configured = "HubSpot is configured.", True
        if s.last_check_ok is False:
            message += " The last connection check failed."
        details = {
            "configured": configured,
            "enabled": bool(s.enabled),
            "last_check_ok": s.last_check_ok,
            "last_check_at": s.last_check_at.isoformat() if s.last_check_at else None,
            **connection_watch.public_status(s),
        }
        return Status(True, message, details)


DEFAULT_CHECKS = (DatabaseCheck, CacheCheck, TaskBackendCheck, HubSpotConfigurationCheck)


class Registry:
    """The checks by name, in the order they were registered (which is the order they run)."""

    def __init__(self):
        self._checks: dict[str, HealthCheck] = {}

    def register(self, check_class: type[HealthCheck]) -> type[HealthCheck]:
        """Add a check (usable as a class decorator); registering a name again replaces it."""
        if not check_class.name:
            raise ValueError(f"{check_class.__name__} has no name")
        self._checks[check_class.name] = check_class()
        return check_class

    def unregister(self, name: str) -> None:
        self._checks.pop(name, None)

    def __iter__(self):
        return iter(list(self._checks.values()))

    def __contains__(self, name: str) -> bool:
        return name in self._checks

    def statuses(self) -> dict[str, Status]:
        results: dict[str, Status] = {}
        for check in self:
            failed = [name for name in check.requires if name in results and not results[name].ok]
            results[check.name] = check.skipped(failed[0]) if failed else check.run()
        return results

    def run(self) -> dict:
        """The report /api/health answers with."""
        statuses = self.statuses()
        failed = [name for name, status in statuses.items() if not status.ok]
        return {
            "success": not failed,
            "message": "Healthy." if not failed else "Unhealthy: " + ", ".join(failed) + ".",
            "components": {name: status.as_dict() for name, status in statuses.items()},
        }


registry = Registry()


def register_default_checks() -> None:
    for check_class in DEFAULT_CHECKS:
        if check_class.name not in registry:
            registry.register(check_class)
