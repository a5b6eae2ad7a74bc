"""The outbox: every write to HubSpot with its attempts and last error; admins retry or discard
failed ones. Rows are the record of what happened, so nobody adds, edits or deletes them here."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..crm import registry
from ..crm.service import record_url
from ..models import OutboxOperation
from ..services import outbox

Status = OutboxOperation.Status


@admin.register(OutboxOperation)
class OutboxOperationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "attempts",
        "short_error",
        "correlation_id",
        "requested_by",
        "created_at",
        "record",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["correlation_id", "hubspot_object_id", "last_error", "idempotency_key"]
    list_select_related = ["requested_by"]
    date_hierarchy = "created_at"
    actions = ["retry_operations", "discard_operations"]
    readonly_fields = [f.name for f in OutboxOperation._meta.fields]

    @admin.display(description=gettext_lazy("last error"))
    def short_error(self, obj):
        return obj.last_error[:120] + ("…" if len(obj.last_error) > 120 else "")

    @admin.display(description=gettext_lazy("HubSpot record"), ordering="hubspot_object_id")
    def record(self, obj):
        """The record the write made or changed, linked to HubSpot and to its panel page."""
        object_id = obj.hubspot_object_id or (obj.payload or {}).get("id") or ""
        declared = registry.of_kind(obj.kind)
        if not object_id or declared is None:
            return object_id
        links = format_html(
            _('<a href="{}" target="_blank" rel="noopener">{} {} in HubSpot</a>'),
            record_url(declared.type_id, object_id),
            declared.noun.capitalize(),
            object_id,
        )
        if "archive" in obj.kind:
            return links  # gone from the panel's pages
        page = registry.change_url(declared.name, object_id)
        return format_html(_('{} · <a href="{}">panel page</a>'), links, page) if page else links

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Read-only even for those who may retry: changes happen through the actions only.
        if request.method == "POST":
            raise PermissionDenied
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # Counted from the selection as it was when the action started: under a status filter the
    # queryset is re-evaluated after the change, and the changed rows would drop out of it.
    @admin.action(
        description=gettext_lazy("Retry the selected failed operations"), permissions=["change"]
    )
    def retry_operations(self, request, queryset):
        selected = list(queryset)
        retried = sum(
            1
            for operation in selected
            if operation.status == Status.FAILED and outbox.retry(operation)
        )
        # One English text for any count (the tests read it); a language may inflect it.
        queued = ngettext(
            "%(count)s operation(s) queued for another attempt.",
            "%(count)s operation(s) queued for another attempt.",
            retried,
        )
        messages.success(request, queued % {"count": retried})
        if skipped := len(selected) - retried:
            messages.warning(
                request,
                _("%(count)s skipped: only failed operations can be retried.") % {"count": skipped},
            )

    @admin.action(
        description=gettext_lazy("Discard the selected operations"), permissions=["change"]
    )
    def discard_operations(self, request, queryset):
        selected = list(queryset)
        # A running one is in a worker's hands right now; its result would overwrite the discard.
        discarded = sum(
            1
            for operation in selected
            if operation.status in (Status.PENDING, Status.FAILED) and outbox.discard(operation)
        )
        done = ngettext(
            "%(count)s operation(s) discarded.", "%(count)s operation(s) discarded.", discarded
        )
        messages.success(request, done % {"count": discarded})
        if skipped := len(selected) - discarded:
            messages.warning(
                request,
                _("%(count)s skipped: only pending or failed operations can be discarded.")
                % {"count": skipped},
            )
