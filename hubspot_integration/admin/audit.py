"""The settings audit log: read-only for everyone, superusers included."""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from ..models import HubSpotSettings, SettingsAuditEntry


def field_names(names: list[str]) -> str:
    """The changed settings in words: their verbose names, as the settings form labels them."""
    words = []
    for name in names or []:
        try:
            words.append(str(HubSpotSettings._meta.get_field(name).verbose_name))
        except FieldDoesNotExist:
            words.append(str(name).replace("_", " "))  # a field since removed: still readable
    return ", ".join(words)


@admin.register(SettingsAuditEntry)
class SettingsAuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "source", "changed", "summary"]
    list_filter = ["source", "action"]
    search_fields = ["actor_name", "summary"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in SettingsAuditEntry._meta.fields]

    @admin.display(description=_("changed settings"))
    def changed(self, obj):
        return field_names(obj.changed_fields)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
