from ..crm.models import AdminPage


class HubSpotCompany(AdminPage):
    class Meta(AdminPage.Meta):
        app_label = "hubspot_integration"
        verbose_name = "HubSpot company"
        verbose_name_plural = "HubSpot companies"
        permissions = [("manage_companies", "Can find, create and edit HubSpot companies")]
