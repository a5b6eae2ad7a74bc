from django.utils.translation import gettext_lazy as _

from ..crm.models import AdminPage


class HubSpotContact(AdminPage):
    # Its permission (`manage_contacts`) is held by HubSpotSettings, where the groups found it
    # before the page had a model of its own.
    class Meta(AdminPage.Meta):
        app_label = "hubspot_integration"
        verbose_name = _("HubSpot contact")
        verbose_name_plural = _("HubSpot contacts")
