from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_groups(sender, **kwargs):
    from .roles import sync_groups

    sync_groups(kwargs.get("apps"))


class HubSpotIntegrationConfig(AppConfig):
    name = "hubspot_integration"
    verbose_name = "HubSpot"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported for their side effects: system checks, signal receivers (customer tickets
        # follow their outbox operations), and the outbox handlers each service registers.
        from . import checks, receivers  # noqa: F401
        from .health import register_default_checks
        from .services import contacts, imports, support, tickets  # noqa: F401

        register_default_checks()
        post_migrate.connect(_sync_groups, sender=self, dispatch_uid="hubspot_sync_groups")
