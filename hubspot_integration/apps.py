from django.apps import AppConfig


class HubSpotIntegrationConfig(AppConfig):
    name = "hubspot_integration"
    verbose_name = "HubSpot"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # `checks` and `language` are imported for their side effects: the system checks
        # register themselves, and the login signal applies a customer's chosen language.
        from . import checks, language, receivers  # noqa: F401
        from .health import register_default_checks

        register_default_checks()
        self.remember_metrics_token()
        receivers.connect(self)
        self.register_outbox_handlers()
        self.bind_queue_jobs()

    @staticmethod
    def remember_metrics_token():
        """The log filter redacts the metrics token wherever it would appear (a proxy's header
        dump, a debug line), like the HubSpot secrets it learns as they are decrypted."""
        from django.conf import settings

        from .logging import remember_secret

        remember_secret(str(getattr(settings, "METRICS_TOKEN", "") or ""))

    @staticmethod
    def register_outbox_handlers():
        """Every outbox kind's handler, from the service that owns the kind; a kind left out is
        reported at start-up by the system check hubspot.E010."""
        from .crm import registry
        from .services import contact_messages, conversations, gdpr, imports, outbox, user_sync

        services = (
            *registry.modules("service"),
            contact_messages,
            imports,
            gdpr,
            user_sync,
            conversations,
        )
        for service in services:
            for kind, handler in service.OUTBOX_HANDLERS.items():
                outbox.register(kind, handler)

    @staticmethod
    def bind_queue_jobs():
        """The tasks behind the jobs the services enqueue by name. tasks.py depends on the
        services, so this is the one import of it; a job left unbound is hubspot.E011."""
        from . import tasks
        from .services import queue

        queue.bind(queue.PROCESS_OPERATION, tasks.process_operation)
        queue.bind(queue.PROCESS_WEBHOOK_EVENTS, tasks.process_webhook_events)
        queue.bind(queue.RUN_CONTACT_IMPORT, tasks.run_contact_import)
        queue.bind(queue.SEND_TICKET_EMAIL, tasks.send_ticket_email)
        queue.bind(queue.POLL_CONTACT_IMPORT, tasks.poll_contact_import)
