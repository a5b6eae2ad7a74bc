"""Contact imports in the admin: past imports with their counts, an upload form, a progress page.

"Add" is the upload form; a row's page is its progress (polled as JSON while a worker streams the
file) and, once done, its summary and rejected lines. Every view needs `import_contacts`.
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import app_settings
from ..models import ContactImport
from ..services import imports, queue
from ..services.import_csv import HEADER_EXAMPLE, ImportFileError, check_file
from .pages import OnePermissionMixin, admin_page

logger = logging.getLogger(__name__)

FINISHED = (ContactImport.Status.DONE, ContactImport.Status.FAILED)


def max_upload_bytes() -> int:
    return app_settings.IMPORT_MAX_UPLOAD_BYTES


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "UTF-8 CSV, at most %(size)s. First line: %(header)s (email required, other columns "
            "optional, any order, any case)."
        ) % {"size": filesizeformat(max_upload_bytes()), "header": HEADER_EXAMPLE}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = max_upload_bytes()
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError(
                _("“%(name)s” is not a CSV file. Save the sheet as “CSV UTF-8” (.csv) first.")
                % {"name": upload.name}
            )
        if upload.size > limit:
            raise forms.ValidationError(
                _(
                    "The file is %(size)s; the limit is %(limit)s. Split it, or use "
                    "manage.py hubspot_import_contacts on the server."
                )
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        try:
            check_file(upload)
        except ImportFileError as err:
            raise forms.ValidationError(str(err)) from None
        return upload


def progress_data(contact_import: ContactImport) -> dict:
    result = imports.summary(contact_import)
    finished = contact_import.status in FINISHED
    if result.total:
        percent = int(100 * min(result.processed, result.total) / result.total)
    else:
        percent = 100 if finished else 0
    return {
        "status": contact_import.status,
        "statusLabel": contact_import.get_status_display(),
        "finished": finished,
        "total": result.total,
        "processed": result.processed,
        "percent": percent,
        "created": result.created,
        "updated": result.updated,
        "rejected": result.rejected,
        "failed": result.failed,
        # How the file went in: HubSpot's imports API (and its state), or why batch upserts.
        "note": contact_import.note,
        "hubspotState": contact_import.hubspot_state,
        "waitingBatches": (
            imports.pending_batches(contact_import)
            if contact_import.status == ContactImport.Status.RUNNING
            else 0
        ),
    }


@admin.register(ContactImport)
class ContactImportAdmin(OnePermissionMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "created_at",
        "requested_by",
        "status",
        "total_rows",
        "created_count",
        "updated_count",
        "rejected_count",
        "failed_count",
    ]
    list_filter = ["status"]
    list_display_links = ["__str__"]
    permission = "hubspot_integration.import_contacts"

    # --- permissions: `permission` for every page; imports are records, not edited ------------
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    # --- pages ------------------------------------------------------------------------------
    def get_urls(self):
        return [
            admin_page(self, "<int:import_id>/status/", self.status_view, "status"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        self.check_permission(request)
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            contact_import = imports.start_import(upload.name, user=request.user, upload=upload)
            transaction.on_commit(lambda: self._enqueue(request, contact_import))
            return HttpResponseRedirect(self._progress_url(contact_import))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import contacts from CSV"),
            "opts": self.model._meta,
            "form": form,
            "max_size": filesizeformat(max_upload_bytes()),
        }
        return TemplateResponse(
            request, "admin/hubspot_integration/contactimport/upload.html", context
        )

    def _enqueue(self, request, contact_import: ContactImport) -> None:
        # The file is stored with the import: the sweep starts an import nobody has picked up.
        minutes = max(1, round(app_settings.IMPORT_LEASE_SECONDS / 60))
        if not queue.enqueue(
            queue.RUN_CONTACT_IMPORT,
            contact_import.pk,
            what=f"contact import {contact_import.pk}",
            fallback=f"the sweep will start it within {minutes} minute(s)",
        ):
            messages.warning(
                request,
                _(
                    "The file was saved, but the task queue is unreachable right now: the import "
                    "will start within %(minutes)s minute(s), when the sweep picks it up. This "
                    "page shows its progress."
                )
                % {"minutes": minutes},
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self.check_permission(request)
        # The admin's own lookup: "abc" or a deleted import is "not found" with the admin's
        # message and redirect, not a ValueError from the integer primary key.
        contact_import = self.get_object(request, unquote(object_id))
        if contact_import is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        data = progress_data(contact_import)
        result = imports.summary(contact_import)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import of %(name)s")
            % {"name": contact_import.original_name or contact_import.pk},
            "opts": self.model._meta,
            "original": contact_import,
            "progress": data,
            "errors": result.errors,
            "more_errors": max(result.rejected + result.failed - len(result.errors), 0),
            "status_url": reverse(
                "admin:hubspot_integration_contactimport_status", args=[contact_import.pk]
            ),
        }
        return TemplateResponse(
            request, "admin/hubspot_integration/contactimport/progress.html", context
        )

    def status_view(self, request, import_id):
        if not self._allowed(request):
            return JsonResponse({"success": False, "message": _("Permission denied.")}, status=403)
        contact_import = ContactImport.objects.filter(pk=import_id).first()
        if contact_import is None:
            return JsonResponse({"success": False, "message": _("No such import.")}, status=404)
        return JsonResponse({"success": True, **progress_data(contact_import)})

    def _progress_url(self, contact_import: ContactImport) -> str:
        return reverse("admin:hubspot_integration_contactimport_change", args=[contact_import.pk])
