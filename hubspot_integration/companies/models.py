from django.utils.translation import gettext_lazy as _

from ..crm.models import AdminPage


class HubSpotCompany(AdminPage):
    class Meta(AdminPage.Meta):
        app_label = "hubspot_integration"
        verbose_name = _("HubSpot company")
        verbose_name_plural = _("HubSpot companies")
        permissions = [("manage_companies", "Can find, create and edit HubSpot companies")]
