from django.urls import path

from ..crm import registry
from ..crm.api import PREFIX
from . import report_views, schema_docs, settings_views, support_views  # noqa: F401 (schema_docs registers the OpenAPI docs)

app_name = "hubspot_api"

urlpatterns = [
    path(f"{PREFIX}/config", settings_views.SettingsConfigView.as_view(), name="settings-config"),
    path(PREFIX, settings_views.SettingsUpdateView.as_view(), name="settings"),
    path(
        f"{PREFIX}/test-connection",
        settings_views.TestConnectionView.as_view(),
        name="test-connection",
    ),
    # Reporting (staff) and health (public): paths as TotalCare's scripts call them.
    path("hubspot/crm/summary", report_views.CrmSummaryView.as_view(), name="crm-summary"),
    path(
        "hubspot/contacts/recent", report_views.RecentContactsView.as_view(), name="recent-contacts"
    ),
    path("hubspot/deals/pipeline", report_views.DealPipelineView.as_view(), name="deal-pipeline"),
    path("hubspot/analytics", report_views.AnalyticsView.as_view(), name="analytics"),
    path("hubspot/forms", report_views.FormsReportView.as_view(), name="forms-report"),
    path(
        "hubspot/support/summary",
        support_views.SupportSummaryView.as_view(),
        name="support-summary",
    ),
    path("health", report_views.HealthView.as_view(), name="health"),
]
# Each object type's endpoints, from its package (`contacts/api.py`, `companies/api.py`, ...).
urlpatterns += [pattern for module in registry.modules("api") for pattern in module.urlpatterns]
