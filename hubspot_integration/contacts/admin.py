"""The "HubSpot contacts" pages: the shared CRM pages, plus the offer to edit the contact that
already has an email instead of creating a second one."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from ..admin.pages import report_outcome, send
from ..crm.admin import CrmObjectAdmin
from . import OBJECT_TYPE
from .forms import ContactForm
from .models import HubSpotContact
from .service import service


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
