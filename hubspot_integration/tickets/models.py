from django.utils.translation import gettext_lazy as _

from ..crm.models import AdminPage


class HubSpotTicket(AdminPage):
    # Its permission (`manage_tickets`) is held by HubSpotSettings, where the groups found it
    # before the page had a model of its own.
    class Meta(AdminPage.Meta):
        app_label = "hubspot_integration"
        verbose_name = _("HubSpot ticket")
        verbose_name_plural = _("HubSpot tickets")
