"""The "HubSpot contacts" pages: a live list with search and paging, create, edit, archive."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from .. import errors
from ..crm_forms import ContactForm
from ..models import HubSpotContact
from ..services import contacts
from .pages import (
    CursorPager,
    HubSpotPageAdmin,
    add_service_errors,
    admin_page,
    report_outcome,
    when,
)


def _row(contact: dict) -> dict:
    props = contact.get("properties") or {}
    name = " ".join(filter(None, [props.get("firstname"), props.get("lastname")]))
    return {
        "id": contact["id"],
        "name": name,
        "email": props.get("email") or "",
        "company": props.get("company") or "",
        "phone": props.get("phone") or "",
        "created": when(props.get("createdate")),
        "hubspot_url": contacts.contact_url(contact["id"]),
    }


@admin.register(HubSpotContact)
class HubSpotContactAdmin(HubSpotPageAdmin):
    permission = "hubspot_integration.manage_contacts"

    def get_urls(self):
        return [
            admin_page(self, "", self.changelist_view, "changelist"),
            admin_page(self, "add/", self.add_view, "add"),
            admin_page(self, "<str:object_id>/change/", self.change_view, "change"),
            admin_page(self, "<str:object_id>/delete/", self.delete_view, "delete"),
        ]

    # --- list ----------------------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        self.check_permission(request)
        query = request.GET.get("q", "").strip()
        pager = CursorPager(request, {"q": query})
        rows, next_after = [], None
        try:
            page = contacts.list_contacts(
                limit=self.page_size, after=pager.after or None, query=query
            )
            rows, next_after = [_row(c) for c in page.results], page.next_after
        except errors.HubSpotError as err:
            messages.error(request, f"Could not read the contacts from HubSpot: {err}")
        return self.render(
            request,
            "contacts/change_list.html",
            {
                "title": "HubSpot contacts",
                "rows": rows,
                "query": query,
                "page_number": pager.number,
                "next_url": pager.next_url(next_after),
                "previous_url": pager.previous_url(),
                "add_url": self.url("add"),
            },
        )

    # --- create --------------------------------------------------------------------------------
    def add_view(self, request, form_url="", extra_context=None):
        self.check_permission(request)
        form = ContactForm(request.POST or None)
        existing = None
        if request.method == "POST" and form.is_valid():
            try:
                result = contacts.create_contact(
                    form.properties(drop_blank=True), user=request.user
                )
            except ValidationError as err:
                add_service_errors(form, err)
            except errors.HubSpotError as err:
                messages.error(request, f"HubSpot refused the contact: {err}")
            else:
                if result.existing is not None:
                    # No duplicate: offer the contact that already has this email instead.
                    existing = _row(result.existing)
                    existing["change_url"] = self.url("change", existing["id"])
                    messages.warning(request, "A contact with this email already exists.")
                elif report_outcome(
                    request,
                    result.outcome,
                    done=f"Contact {form.cleaned_data['email']} created.",
                    link=contacts.contact_url(result.outcome.operation.hubspot_object_id),
                ):
                    return HttpResponseRedirect(self.url("changelist"))
        return self.render(
            request,
            "contacts/change_form.html",
            {"title": "Add HubSpot contact", "form": form, "existing": existing, "adding": True},
        )

    # --- edit ----------------------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        self.check_permission(request)
        if request.method == "POST":
            form = ContactForm(request.POST)
            if form.is_valid() and self._update(request, object_id, form):
                return HttpResponseRedirect(self.url("changelist"))
        else:
            try:
                form = ContactForm.from_contact(contacts.get_contact(object_id))
            except errors.HubSpotError as err:
                messages.error(request, f"Could not read contact {object_id} from HubSpot: {err}")
                return HttpResponseRedirect(self.url("changelist"))
        return self.render(
            request,
            "contacts/change_form.html",
            {
                "title": "Change HubSpot contact",
                "form": form,
                "object_id": object_id,
                "hubspot_url": contacts.contact_url(object_id),
                "delete_url": self.url("delete", object_id),
            },
        )

    def _update(self, request, object_id, form) -> bool:
        try:
            outcome = contacts.update_contact(object_id, form.properties(), user=request.user)
        except ValidationError as err:
            add_service_errors(form, err)
            return False
        return report_outcome(
            request,
            outcome,
            done=f"Contact {form.cleaned_data['email']} saved.",
            link=contacts.contact_url(object_id),
        )

    # --- archive -------------------------------------------------------------------------------
    def delete_view(self, request, object_id, extra_context=None):
        self.check_permission(request)
        if request.method == "POST":
            outcome = contacts.archive_contact(object_id, user=request.user)
            report_outcome(request, outcome, done=f"Contact {object_id} archived in HubSpot.")
            return HttpResponseRedirect(self.url("changelist"))
        try:
            contact = _row(contacts.get_contact(object_id))
        except errors.NotFound:
            messages.error(request, f"HubSpot has no contact {object_id}.")
            return HttpResponseRedirect(self.url("changelist"))
        except errors.HubSpotError as err:
            # Archiving still works through the outbox; only the summary is missing.
            messages.warning(request, f"Could not read the contact from HubSpot: {err}")
            contact = {"id": object_id, "name": "", "email": ""}
        return self.render(
            request,
            "contacts/delete_confirmation.html",
            {
                "title": "Archive HubSpot contact",
                "contact": contact,
                "change_url": self.url("change", object_id),
            },
        )
