"""The "HubSpot settings" page: one row, no add or delete, a "Test connection" button."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ..crm_forms import readable_pipelines, with_pipeline_choices
from ..forms import HubSpotSettingsForm
from ..models import HubSpotSettings
from ..services.connection import check_connection
from ..services.settings import save_settings


@admin.register(HubSpotSettings)
class HubSpotSettingsAdmin(admin.ModelAdmin):
    form = HubSpotSettingsForm
    change_form_template = "admin/hubspot_integration/hubspotsettings/change_form.html"
    readonly_fields = ["data_hosting_region", "ui_domain", "last_check_at", "last_check_ok"]
    fieldsets = [
        (None, {"fields": ["enabled", "portal_id", "new_token", "clear_token"]}),
        (
            "Features",
            {
                "fields": [
                    "chat_enabled",
                    "wait_for_consent",
                    "script_url_override",
                    "tickets_enabled",
                    "default_ticket_pipeline",
                    "default_ticket_stage",
                    "ticket_form_id",
                    "contact_form_id",
                ]
            },
        ),
        ("Webhooks", {"fields": ["new_webhook_secret", "clear_webhook_secret"]}),
        ("Limits and caching", {"fields": ["rate_limit_per_10s", "dashboard_cache_seconds"]}),
        (
            "Found by the connection check",
            {"fields": ["data_hosting_region", "ui_domain", "last_check_at", "last_check_ok"]},
        ),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The default ticket pipeline and stage are chosen from HubSpot's list when it answers.
        form = super().get_form(request, obj, change=change, **kwargs)
        return with_pipeline_choices(form, readable_pipelines())

    def get_object(self, request, object_id, from_field=None):
        # Always the one row, read from the database (the admin edits, so no cached copy).
        obj, _ = HubSpotSettings.objects.get_or_create(pk=HubSpotSettings.SINGLETON_PK)
        return obj

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        HubSpotSettings.objects.get_or_create(pk=HubSpotSettings.SINGLETON_PK)
        return HttpResponseRedirect(
            reverse(
                "admin:hubspot_integration_hubspotsettings_change",
                args=[HubSpotSettings.SINGLETON_PK],
            )
        )

    def save_model(self, request, obj, form, change):
        save_settings(obj, actor=request.user, source="admin")

    def get_urls(self):
        urls = [
            path(
                "test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="hubspot_integration_hubspotsettings_test",
            )
        ]
        return urls + super().get_urls()

    def test_connection_view(self, request):
        if not request.user.has_perm("hubspot_integration.test_connection"):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(
                reverse(
                    "admin:hubspot_integration_hubspotsettings_change",
                    args=[HubSpotSettings.SINGLETON_PK],
                )
            )
        report = check_connection()
        level = messages.SUCCESS if report.success else messages.ERROR
        messages.add_message(request, level, report.message)
        context = {
            **self.admin_site.each_context(request),
            "title": "HubSpot connection check",
            "opts": self.model._meta,
            "report": report,
            "settings_url": reverse(
                "admin:hubspot_integration_hubspotsettings_change",
                args=[HubSpotSettings.SINGLETON_PK],
            ),
        }
        return TemplateResponse(
            request, "admin/hubspot_integration/hubspotsettings/test_connection.html", context
        )
