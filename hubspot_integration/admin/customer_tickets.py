"""Customers' tickets in the admin, with staff's "sync now" to pull their state from HubSpot."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..models import CustomerTicket
from ..services import ticket_sync
from ..tickets import service as tickets


@admin.register(CustomerTicket)
class CustomerTicketAdmin(admin.ModelAdmin):
    list_display = [
        "subject",
        "email",
        "user",
        "pipeline_name",
        "stage_name",
        "priority_name",
        "status",
        "hubspot_id",
        "updated_at",
    ]
    list_filter = ["status"]
    search_fields = ["subject", "email", "hubspot_id"]
    readonly_fields = [f.name for f in CustomerTicket._meta.fields]
    actions = ["sync_now"]

    # HubSpot's labels, not its IDs: from the pipelines the panel keeps cached for a few minutes
    # (one read per list at most); the stored ID when HubSpot cannot be asked.
    @staticmethod
    def _known() -> list[dict]:
        try:
            return tickets.pipelines()
        except errors.HubSpotError:
            return tickets.cached_pipelines() or []

    @admin.display(description=gettext_lazy("pipeline"), ordering="pipeline")
    def pipeline_name(self, obj):
        found = next((p for p in self._known() if p["id"] == obj.pipeline), None)
        return found["label"] if found else obj.pipeline

    @admin.display(description=gettext_lazy("stage"), ordering="stage_label")
    def stage_name(self, obj):
        if not obj.stage:
            return obj.stage_label
        label = tickets.stage_label(obj.pipeline, obj.stage, self._known())
        return obj.stage_label if label == obj.stage and obj.stage_label else label

    @admin.display(description=gettext_lazy("priority"), ordering="priority")
    def priority_name(self, obj):
        value = (obj.priority or "").upper()
        return tickets.Priority(value).label if value in tickets.Priority.values else obj.priority

    def has_add_permission(self, request):
        return False  # customers create them through the support page

    def has_change_permission(self, request, obj=None):
        return False  # HubSpot is the truth; webhooks and "sync now" update these rows

    def has_manage_tickets_permission(self, request):
        return request.user.has_perm("hubspot_integration.manage_tickets")

    @admin.action(description=gettext_lazy("Sync now from HubSpot"), permissions=["manage_tickets"])
    def sync_now(self, request, queryset):
        try:
            result = ticket_sync.sync_tickets(queryset)
        except errors.HubSpotError as err:
            self.message_user(
                request,
                _("Could not sync from HubSpot: %(error)s") % {"error": err},
                messages.ERROR,
            )
            return
        self.message_user(
            request,
            _("Synced from HubSpot: %(updated)s updated, %(deleted)s deleted there.")
            % {"updated": result["updated"], "deleted": result["deleted"]},
            messages.SUCCESS,
        )
