"""The "HubSpot settings" page: one row, no add or delete, "Save and test" (what was typed) and
"Test connection" (what is stored), and Connect with HubSpot / Disconnect for a project-based app's
OAuth connection."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..forms import HubSpotSettingsForm
from ..models import RETENTION_FIELDS, HubSpotSettings
from ..oauth import flow
from ..oauth import views as oauth_views
from ..services.connection import check_connection
from ..services.settings import save_settings
from ..singleton import SingletonModelAdmin
from ..tickets.forms import readable_pipelines, with_pipeline_choices

SAVE_AND_TEST = "_saveandtest"  # the submit button's name
TEST_PERMISSION = "hubspot_integration.test_connection"

# How the admin replaces each secret a lost key made unreadable (the banner on the page).
REMEDIES = {
    "access_token": gettext_lazy(
        "paste it again in “Service key or access token”, or tick “Clear the stored token”"
    ),
    "webhook_secret": gettext_lazy(
        "enter it again in “Webhook client secret”, or tick “Clear the webhook secret”"
    ),
    "oauth_client_secret": gettext_lazy(
        "enter it again in “OAuth client secret”, or tick “Clear the OAuth client secret”"
    ),
    "oauth_access_token": gettext_lazy(
        "nothing is needed while the refresh token opens (the next HubSpot "
        "call fetches a new one; Test connection makes one); otherwise press Disconnect, then Connect "
        "with HubSpot again"
    ),
    "oauth_refresh_token": gettext_lazy("press Disconnect, then Connect with HubSpot again"),
}


@admin.register(HubSpotSettings)
class HubSpotSettingsAdmin(SingletonModelAdmin):
    form = HubSpotSettingsForm
    change_form_template = "admin/hubspot_integration/hubspotsettings/change_form.html"
    readonly_fields = ["data_hosting_region", "ui_domain", "last_check_at", "last_check_ok"]
    fieldsets = [
        (None, {"fields": ["enabled", "portal_id", "credential_type", "new_token", "clear_token"]}),
        (
            gettext_lazy("OAuth (a project-based app: Connect with HubSpot)"),
            {
                "fields": [
                    "oauth_client_id",
                    "new_oauth_client_secret",
                    "clear_oauth_client_secret",
                ],
                "description": gettext_lazy(
                    "The app's client ID and client secret (its Auth tab in HubSpot). Save them, "
                    "then press Connect with HubSpot above."
                ),
            },
        ),
        (
            gettext_lazy("Features"),
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
        (
            gettext_lazy("Consent"),
            {
                "fields": [
                    "consent_text",
                    "consent_communications_text",
                    "consent_subscription_type_id",
                ],
                "description": gettext_lazy(
                    "With a consent text, the contact form asks the visitor to agree to it and "
                    "each submission carries HubSpot's legalConsentOptions with the texts they saw."
                ),
            },
        ),
        (gettext_lazy("Webhooks"), {"fields": ["new_webhook_secret", "clear_webhook_secret"]}),
        (
            gettext_lazy("Site users as HubSpot contacts"),
            {
                "fields": ["user_sync_enabled", "user_sync_from_hubspot", "user_property_map"],
                "description": gettext_lazy(
                    "Customers with a confirmed address are upserted to the HubSpot contact with "
                    "that email; staff accounts, passwords and unconfirmed addresses never are. "
                    "HubSpot's changes reach the users through the webhook (contact."
                    "propertyChange), when switched on; the email never comes from HubSpot."
                ),
            },
        ),
        (
            gettext_lazy("Limits and caching"),
            {
                "fields": [
                    "rate_limit_per_10s",
                    "dashboard_cache_seconds",
                    "import_api_threshold_rows",
                ]
            },
        ),
        (
            gettext_lazy("Retention"),
            {
                "fields": list(RETENTION_FIELDS),
                "description": gettext_lazy(
                    "How many days finished records are kept before the sweep purges them "
                    "(0 keeps a kind forever). A pending, running or failed write, an event not "
                    "yet applied and an import still queued or running are never purged."
                ),
            },
        ),
        (
            gettext_lazy("Found by the connection check"),
            {"fields": ["data_hosting_region", "ui_domain", "last_check_at", "last_check_ok"]},
        ),
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The default ticket pipeline and stage are chosen from HubSpot's list when it answers.
        form = super().get_form(request, obj, change=change, **kwargs)
        if "credential_type" in form.base_fields:
            # Omitted from a POST (older scripts), the stored kind stays: the model field's
            # default rule in construct_instance keeps the instance's value.
            form.base_fields["credential_type"].required = False
        return with_pipeline_choices(form, readable_pipelines())

    def save_model(self, request, obj, form, change):
        save_settings(obj, actor=request.user, source="admin")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        can_test = request.user.has_perm(TEST_PERMISSION)
        if request.method == "POST" and SAVE_AND_TEST in request.POST and not can_test:
            raise PermissionDenied
        s = self.get_object(request, object_id)
        context = {
            **(extra_context or {}),
            "oauth": self._oauth_panel(request, s),
            "can_save_and_test": can_test and self.has_change_permission(request, s),
            "undecryptable": [
                {"label": s.secret_label(name), "remedy": REMEDIES[name]}
                for name in s.undecryptable_fields
            ],
        }
        response = super().change_view(request, object_id, form_url, context)
        if getattr(request, "_hubspot_save_and_test", False):
            # Saved and committed (the admin's transaction is over): test what was just stored,
            # without holding the row's lock through HubSpot's answers.
            return self._connection_report(request)
        origins = flow.authorize_origins()
        if origins:
            # The Connect button posts here and is redirected to HubSpot's consent page: a
            # Content-Security-Policy `form-action 'self'` covers that redirect too.
            response._csp_update = {"form-action": origins}
        return response

    def response_change(self, request, obj):
        if SAVE_AND_TEST in request.POST:
            request._hubspot_save_and_test = True
            self.message_user(request, _("The HubSpot settings were saved."), messages.SUCCESS)
            return HttpResponseRedirect(self._settings_url())  # replaced by the report
        return super().response_change(request, obj)

    def _oauth_panel(self, request, s: HubSpotSettings) -> dict:
        scope, optional = flow.requested_scopes(s)
        unreadable = s.undecryptable_fields
        return {
            "can_change": request.user.has_perm(oauth_views.CHANGE_PERMISSION),
            "selected": s.uses_oauth,
            "ready": bool(s.oauth_client_id and s.oauth_client_secret),
            # A connection only a lost key opens is still one: Disconnect must be offered.
            "connected": bool(s.oauth_refresh_token) or "oauth_refresh_token" in unreadable,
            "unreadable": "oauth_refresh_token" in unreadable,
            "error": s.oauth_error,
            "connected_at": s.oauth_connected_at,
            "expires_at": s.oauth_expires_at,
            "granted": s.oauth_scopes or [],
            "missing": flow.missing_scopes(s, s.oauth_scopes) if s.oauth_refresh_token else [],
            "scope": scope,
            "optional_scope": optional,
            "app_config": flow.app_scope_config(),
            "redirect_uri": flow.redirect_uri(request),
            "connect_url": reverse("admin:hubspot_integration_hubspotsettings_oauth_connect"),
            "disconnect_url": reverse("admin:hubspot_integration_hubspotsettings_oauth_disconnect"),
        }

    def get_urls(self):
        urls = [
            path(
                "test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="hubspot_integration_hubspotsettings_test",
            ),
            path(
                "oauth/connect/",
                self.admin_site.admin_view(oauth_views.connect),
                name="hubspot_integration_hubspotsettings_oauth_connect",
            ),
            path(
                "oauth/disconnect/",
                self.admin_site.admin_view(oauth_views.disconnect),
                name="hubspot_integration_hubspotsettings_oauth_disconnect",
            ),
        ]
        return urls + super().get_urls()

    def _settings_url(self) -> str:
        return self.solo_change_url()

    def test_connection_view(self, request):
        """Test connection: the stored settings, whatever the form on the page holds."""
        if not request.user.has_perm(TEST_PERMISSION):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(self._settings_url())
        return self._connection_report(request)

    def _connection_report(self, request):
        report = check_connection()
        level = messages.SUCCESS if report.success else messages.ERROR
        messages.add_message(request, level, report.message)
        context = {
            **self.admin_site.each_context(request),
            "title": _("HubSpot connection check"),
            "opts": self.model._meta,
            "report": report,
            "oauth_error": HubSpotSettings.load().oauth_error,
            "settings_url": self._settings_url(),
        }
        return TemplateResponse(
            request, "admin/hubspot_integration/hubspotsettings/test_connection.html", context
        )
