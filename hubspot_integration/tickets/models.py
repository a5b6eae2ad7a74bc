from ..crm.models import AdminPage


class HubSpotTicket(AdminPage):
    # Its permission (`manage_tickets`) is held by HubSpotSettings, where the groups found it
    # before the page had a model of its own.
    class Meta(AdminPage.Meta):
        app_label = "hubspot_integration"
        verbose_name = "HubSpot ticket"
        verbose_name_plural = "HubSpot tickets"
