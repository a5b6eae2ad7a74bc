"""The settings audit log: read-only for everyone, superusers included."""

from django.contrib import admin

from ..models import SettingsAuditEntry


@admin.register(SettingsAuditEntry)
class SettingsAuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "source", "summary"]
    list_filter = ["source", "action"]
    search_fields = ["actor_name", "summary"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in SettingsAuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
