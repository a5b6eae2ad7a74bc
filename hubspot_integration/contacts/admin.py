"""The "HubSpot contacts" pages: the shared CRM pages, plus the offer to edit the contact that
already has an email instead of creating a second one, and the GDPR delete of a contact.

GDPR delete needs `gdpr_delete_contacts` on top of `manage_contacts`: it erases the person in
HubSpot (no restore, unlike archiving) and their account and records here, so the "HubSpot
admins" group holds it and "HubSpot staff" do not (roles.py)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect

from .. import errors
from ..admin.pages import admin_page, report_outcome, send
from ..crm.admin import CrmObjectAdmin
from ..services import gdpr
from . import OBJECT_TYPE
from .forms import ContactForm
from .models import HubSpotContact
from .service import service

GDPR_PERMISSION = "hubspot_integration.gdpr_delete_contacts"


@admin.register(HubSpotContact)
class HubSpotContactAdmin(CrmObjectAdmin):
    object_type = OBJECT_TYPE
    service = service
    form_class = ContactForm

    def create(self, request, form):
        result = send(
            request,
            form,
            lambda: service.create_unique(form.properties(drop_blank=True), user=request.user),
            refused="HubSpot refused the contact",
        )
        if result is None:
            return None
        if result.existing is not None:
            # No duplicate: offer the contact that already has this email instead.
            form.extra_context = {"existing": self.row(result.existing)}
            messages.warning(request, "A contact with this email already exists.")
            return None
        if report_outcome(
            request,
            result.outcome,
            done=f"Contact {form.cleaned_data['email']} created.",
            link=service.url(result.outcome.operation.hubspot_object_id),
        ):
            return HttpResponseRedirect(self.url("changelist"))
        return None

    def get_urls(self):
        return [
            admin_page(self, "<str:object_id>/gdpr-delete/", self.gdpr_delete_view, "gdpr_delete"),
            *super().get_urls(),
        ]

    def gdpr_delete_view(self, request, object_id):
        self.check_permission(request)
        if not request.user.has_perm(GDPR_PERMISSION):
            raise PermissionDenied
        try:
            record = self.row(service.get(object_id))
        except errors.NotFound:
            messages.error(request, f"HubSpot has no contact {object_id}.")
            return HttpResponseRedirect(self.url("changelist"))
        except errors.HubSpotError as err:
            # The address names whom to erase: without it there is nothing safe to do.
            messages.error(request, f"Could not read the contact from HubSpot: {err}")
            return HttpResponseRedirect(self.url("change", object_id))
        email = str(record.get("email") or "")
        if not email:
            messages.error(request, "This contact has no email address to erase it by.")
            return HttpResponseRedirect(self.url("change", object_id))
        found = gdpr.inventory(email)
        if found.user is not None and (found.user.is_staff or found.user.is_superuser):
            # Erasing a staff account from here would let a HubSpot admin remove a superuser.
            messages.error(
                request,
                f"{email} belongs to a staff account: delete that account in the user admin "
                "(a superuser's task), then come back to erase the contact.",
            )
            return HttpResponseRedirect(self.url("change", object_id))
        if request.method == "POST" and request.POST.get("post") == "yes":
            erased = gdpr.erase(email, actor=request.user, source="admin")
            report_outcome(
                request,
                erased.outcome,
                done=f"Contact {email} deleted in HubSpot; removed here: {erased.summary}.",
            )
            return HttpResponseRedirect(self.url("changelist"))
        return self.render(
            request,
            self.templates("gdpr_delete.html"),
            self.context(
                title="GDPR-delete a HubSpot contact",
                record=record,
                found=found,
                change_url=self.url("change", object_id),
            ),
        )
