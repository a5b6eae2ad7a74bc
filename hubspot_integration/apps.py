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
        from . import checks  # noqa: F401  (registers the system checks)
        from .services import contacts, tickets  # noqa: F401  (register outbox handlers)

        post_migrate.connect(_sync_groups, sender=self, dispatch_uid="hubspot_sync_groups")
