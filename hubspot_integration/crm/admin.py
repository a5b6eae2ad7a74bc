"""The admin pages of an object type: a live list with search and paging, add, change (with the
records linked to it), archive. A type's package subclasses `CrmObjectAdmin` with its
`object_type`, `service` and `form_class`, and registers it on its page model.

Templates are looked up per type first (`admin/hubspot_integration/<type>/<page>.html`), then the
shared ones (`.../crm/<page>.html`), as the admin looks up its own change forms.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse

from .. import errors
from ..admin.pages import CursorPager, HubSpotPageAdmin, admin_page, report_outcome, send, when
from . import registry
from .service import CrmService, describe
from .types import ObjectType


class CrmObjectAdmin(HubSpotPageAdmin):
    object_type: ObjectType
    service: CrmService
    form_class: type

    @property
    def permission(self) -> str:
        return self.object_type.permission

    def get_urls(self):
        urls = [
            admin_page(self, "", self.changelist_view, "changelist"),
            admin_page(self, "add/", self.add_view, "add"),
            admin_page(self, "<str:object_id>/change/", self.change_view, "change"),
        ]
        if "archive" in self.object_type.verbs:
            urls.append(admin_page(self, "<str:object_id>/delete/", self.delete_view, "delete"))
        return urls

    def has_delete_permission(self, request, obj=None):
        return "archive" in self.object_type.verbs and super().has_delete_permission(request, obj)

    def templates(self, page: str) -> list[str]:
        return [f"{self.object_type.name}/{page}", f"crm/{page}"]

    # --- what a row shows ----------------------------------------------------------------------
    def cell(self, record: dict, column: str):
        """A column's value; `name` and `created` are computed, the rest are properties."""
        props = record.get("properties") or {}
        if column == "name" and "name" not in props:
            return " ".join(filter(None, [props.get("firstname"), props.get("lastname")]))
        if column == "created":
            return when(props.get("createdate"))
        return props.get(column) or ""

    def row(self, record: dict) -> dict:
        values = {c.name: self.cell(record, c.name) for c in self.object_type.columns}
        return {
            **values,
            "id": record["id"],
            "title": values.get(self.object_type.columns[0].name) or "",
            "summary": describe(self.object_type.name, record),
            "cells": [(c.name, values[c.name]) for c in self.object_type.columns[1:]],
            "hubspot_url": self.service.url(record["id"]),
            "change_url": self.url("change", record["id"]),
        }

    def title_of(self, data: dict) -> str:
        return str(data.get(self.object_type.title_property) or "")

    def context(self, **extra) -> dict:
        return {
            "object_type": self.object_type,
            "columns": self.object_type.columns,
            "label": self.object_type.label,
            "label_plural": self.object_type.label_plural,
            **extra,
        }

    # --- list ----------------------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        self.check_permission(request)
        query = request.GET.get("q", "").strip()
        pager = CursorPager(request, {"q": query})
        rows, next_after = [], None
        try:
            page = self.service.list(limit=self.page_size, after=pager.after or None, query=query)
            rows, next_after = [self.row(r) for r in page.results], page.next_after
        except errors.HubSpotError as err:
            messages.error(
                request, f"Could not read the {self.object_type.label_plural} from HubSpot: {err}"
            )
        return self.render(
            request,
            self.templates("change_list.html"),
            self.context(
                title=f"HubSpot {self.object_type.label_plural}",
                rows=rows,
                query=query,
                page_number=pager.number,
                next_url=pager.next_url(next_after),
                previous_url=pager.previous_url(),
                add_url=self.url("add"),
            ),
        )

    # --- create --------------------------------------------------------------------------------
    def create(self, request, form):
        """Send the new record; a response to show instead of the form, or None."""
        outcome = send(
            request,
            form,
            lambda: self.service.create(form.properties(drop_blank=True), user=request.user),
            refused=f"HubSpot refused the {self.object_type.label}",
        )
        if outcome is None:
            return None
        new_id = outcome.operation.hubspot_object_id
        title = self.title_of(form.cleaned_data)
        if report_outcome(
            request,
            outcome,
            done=f"{self.object_type.label.capitalize()} {title} created.",
            link=self.service.url(new_id) if new_id else "",
        ):
            return HttpResponseRedirect(self.url("changelist"))
        return None

    def add_view(self, request, form_url="", extra_context=None):
        self.check_permission(request)
        form = self.form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            response = self.create(request, form)
            if response is not None:
                return response
        return self.render(
            request,
            self.templates("change_form.html"),
            self.context(
                title=f"Add HubSpot {self.object_type.label}",
                form=form,
                adding=True,
                **getattr(form, "extra_context", {}),
            ),
        )

    # --- edit ----------------------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        self.check_permission(request)
        record = None
        if request.method == "POST":
            form = self.form_class(request.POST)
            if form.is_valid() and self.save(request, object_id, form):
                return HttpResponseRedirect(self.url("changelist"))
        else:
            try:
                record = self.service.get(object_id)
            except errors.HubSpotError as err:
                messages.error(
                    request,
                    f"Could not read {self.object_type.label} {object_id} from HubSpot: {err}",
                )
                return HttpResponseRedirect(self.url("changelist"))
            form = self.form_class.from_record(record)
        return self.render(
            request,
            self.templates("change_form.html"),
            self.context(
                title=f"Change HubSpot {self.object_type.label}",
                form=form,
                object_id=object_id,
                hubspot_url=self.service.url(object_id),
                delete_url=self.url("delete", object_id)
                if "archive" in self.object_type.verbs
                else "",
                related=self.related(request, record) if record else [],
            ),
        )

    def save(self, request, object_id, form) -> bool:
        outcome = send(
            request,
            form,
            lambda: self.service.update(object_id, form.properties(), user=request.user),
            refused="HubSpot refused the change",
        )
        if outcome is None:
            return False
        title = self.title_of(form.cleaned_data) or object_id
        return report_outcome(
            request,
            outcome,
            done=f"{self.object_type.label.capitalize()} {title} saved.",
            link=self.service.url(object_id),
        )

    def related(self, request, record: dict) -> list[dict]:
        """The sections listing the records linked to this one, each linked to its own page in
        the panel where the user may open it, else to HubSpot."""
        if not self.object_type.related:
            return []
        found, problems = self.service.related(record)
        for type_name, problem in problems.items():
            messages.warning(
                request, f"Could not read the linked {type_name} from HubSpot: {problem}"
            )
        sections = []
        for type_name, records in found.items():
            sections.append(
                {
                    "name": type_name,
                    "title": type_name.replace("_", " ").capitalize(),
                    "items": [
                        {
                            "id": r["id"],
                            "text": describe(type_name, r),
                            "url": self.panel_url(request, type_name, r["id"]),
                            "hubspot_url": self.service.url_of(type_name, r["id"]),
                        }
                        for r in records
                    ],
                }
            )
        return sections

    def panel_url(self, request, type_name: str, object_id: str) -> str:
        try:
            declared = registry.object_type(type_name)
        except LookupError:
            return ""  # deals have no pages in the panel (yet): HubSpot's link only
        if not request.user.has_perm(declared.permission):
            return ""
        try:
            model_name = f"hubspot{declared.singular.replace('_', '')}"
            return reverse(f"admin:hubspot_integration_{model_name}_change", args=[object_id])
        except NoReverseMatch:
            return ""

    # --- archive -------------------------------------------------------------------------------
    def delete_view(self, request, object_id, extra_context=None):
        self.check_permission(request)
        label = self.object_type.label
        if request.method == "POST":
            outcome = self.service.archive(object_id, user=request.user)
            report_outcome(
                request, outcome, done=f"{label.capitalize()} {object_id} archived in HubSpot."
            )
            return HttpResponseRedirect(self.url("changelist"))
        try:
            record = self.row(self.service.get(object_id))
        except errors.NotFound:
            messages.error(request, f"HubSpot has no {label} {object_id}.")
            return HttpResponseRedirect(self.url("changelist"))
        except errors.HubSpotError as err:
            # Archiving still works through the outbox; only the summary is missing.
            messages.warning(request, f"Could not read the {label} from HubSpot: {err}")
            record = {"id": object_id, "title": "", "summary": ""}
        return self.render(
            request,
            self.templates("delete_confirmation.html"),
            self.context(
                title=f"Archive HubSpot {label}",
                record=record,
                change_url=self.url("change", object_id),
            ),
        )
