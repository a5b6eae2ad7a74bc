"""Customers' tickets in the admin, with staff's "sync now" to pull their state from HubSpot."""

from django.contrib import admin, messages

from .. import errors
from ..models import CustomerTicket
from ..services import ticket_sync


@admin.register(CustomerTicket)
class CustomerTicketAdmin(admin.ModelAdmin):
    list_display = ["subject", "email", "user", "stage_label", "status", "hubspot_id", "updated_at"]
    list_filter = ["status"]
    search_fields = ["subject", "email", "hubspot_id"]
    readonly_fields = [f.name for f in CustomerTicket._meta.fields]
    actions = ["sync_now"]

    def has_add_permission(self, request):
        return False  # customers create them through the support page

    def has_change_permission(self, request, obj=None):
        return False  # HubSpot is the truth; webhooks and "sync now" update these rows

    def has_manage_tickets_permission(self, request):
        return request.user.has_perm("hubspot_integration.manage_tickets")

    @admin.action(description="Sync now from HubSpot", permissions=["manage_tickets"])
    def sync_now(self, request, queryset):
        try:
            result = ticket_sync.sync_tickets(queryset)
        except errors.HubSpotError as err:
            self.message_user(request, f"Could not sync from HubSpot: {err}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Synced from HubSpot: {result['updated']} updated, {result['deleted']} deleted there.",
            messages.SUCCESS,
        )
