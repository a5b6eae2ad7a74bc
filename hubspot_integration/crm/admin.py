"""The admin pages of an object type: a live list with search and paging, add, change (with the
records linked to it), archive. A type's package subclasses `CrmObjectAdmin` with its
`object_type`, `service` and `form_class`, and registers it on its page model.

Templates are looked up per type first (`admin/hubspot_integration/<type>/<page>.html`), then the
shared ones (`.../crm/<page>.html`), as the admin looks up its own change forms.
"""

from __future__ import annotations

import itertools

from django.contrib import messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.utils.translation import gettext as _

from .. import errors
from ..admin.pages import CursorPager, HubSpotPageAdmin, admin_page, report_outcome, send, when
from ..conf import app_settings
from ..credentials import get_client
from ..services import money
from . import export, registry
from .bulk import ACTION_CHECKBOX, counted, report_bulk, safe_list_query, selected_ids
from .changelist import ListFilter, ListState, created_filter
from .service import CrmService, describe
from .types import ObjectType

# HubSpot's, not ours: the most inputs one batch call takes.
BATCH_MAX = 100


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
            *self.list_urls(),
            admin_page(self, "add/", self.add_view, "add"),
            admin_page(self, "<str:object_id>/change/", self.change_view, "change"),
        ]
        if "archive" in self.object_type.verbs:
            urls.append(admin_page(self, "<str:object_id>/delete/", self.delete_view, "delete"))
        return urls

    def list_urls(self):
        """The list's own pages: the CSV export and the bulk actions' POST."""
        return [
            admin_page(self, "export/", self.export_view, "export"),
            admin_page(self, "actions/", self.actions_view, "actions"),
        ]

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
            "label": self.object_type.noun,
            "label_plural": self.object_type.noun_plural,
            **extra,
        }

    # --- list ----------------------------------------------------------------------------------
    def list_filters(self, request) -> list[ListFilter]:
        """The filter sidebar's filters; a type with filters of its own adds to these."""
        return [created_filter()]

    def bulk_actions(self) -> list[tuple[str, str]]:
        """The bulk actions: (name, label); each `name` has a method `action_<name>`."""
        plural = self.object_type.noun_plural
        found = [("export", _("Export selected %(records)s to CSV") % {"records": plural})]
        if "archive" in self.object_type.verbs:
            found.insert(0, ("archive", _("Archive selected %(records)s") % {"records": plural}))
        return found

    def list_state(self, request) -> ListState:
        return ListState(request, self.object_type.columns, self.list_filters(request))

    def read_page(self, request, state: ListState, pager: CursorPager):
        """A page of the list: (records, next cursor, total); a type with a list of its own
        (tickets) reads it here."""
        page = self.service.list(
            limit=self.page_size,
            after=pager.after or None,
            query=state.query,
            filters=state.filters(),
            sort=state.sort,
            with_total=True,
        )
        return page.results, page.next_after, page.total

    def list_context(self, request, state: ListState, rows, next_after, total, pager) -> dict:
        """What every live list's template draws besides its rows."""
        return {
            "query": state.query,
            "total": total,
            "total_text": counted(total, self.object_type),
            "headers": state.headers(),
            "filter_sections": state.sidebar(),
            "filtered": state.filtered,
            "list_query": state.link(),
            "keep_hidden": [(k, v) for k, v in state.keep.items() if k != "q" and v],
            "action_choices": self.bulk_actions(),
            "actions_url": self.url("actions"),
            "export_url": self.url("export") + state.link(),
            "page_number": pager.number,
            "next_url": pager.next_url(next_after),
            "previous_url": pager.previous_url(),
        }

    def changelist_view(self, request, extra_context=None):
        self.check_permission(request)
        state = self.list_state(request)
        pager = CursorPager(request, state.keep)
        rows, next_after, total = [], None, None
        try:
            records, next_after, total = self.read_page(request, state, pager)
            rows = [self.row(r) for r in records]
        except errors.HubSpotError as err:
            messages.error(
                request,
                _("Could not read the %(records)s from HubSpot: %(error)s")
                % {"records": self.object_type.noun_plural, "error": err},
            )
        return self.render(
            request,
            self.templates("change_list.html"),
            self.context(
                title=_("HubSpot %(records)s") % {"records": self.object_type.noun_plural},
                rows=rows,
                add_url=self.url("add"),
                **self.list_context(request, state, rows, next_after, total, pager),
            ),
        )

    # --- export --------------------------------------------------------------------------------
    def export_view(self, request):
        """The current list (search box, filters and sort) as CSV, every record however many."""
        self.check_permission(request)
        state = self.list_state(request)
        records = self.service.iter_all(query=state.query, filters=state.filters(), sort=state.sort)
        return self.stream_csv(request, records, back=state.link())

    def stream_csv(self, request, records, *, back: str):
        try:
            # The first page is read before the answer starts, so an outage is a message on
            # the list rather than a broken download.
            first = next(iter_records := iter(records), None)
        except errors.HubSpotError as err:
            messages.error(request, _("Could not export from HubSpot: %(error)s") % {"error": err})
            return HttpResponseRedirect(self.url("changelist") + back)
        head = [] if first is None else [first]
        return export.response(self.object_type, itertools.chain(head, iter_records))

    # --- bulk actions --------------------------------------------------------------------------
    def actions_view(self, request):
        """The action select's POST: the chosen action on the checked records, after a
        confirmation page where the action changes HubSpot."""
        self.check_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        back = self.url("changelist") + safe_list_query(request.POST.get("list_query", ""))
        name = request.POST.get("action", "")
        ids = selected_ids(request.POST.getlist(ACTION_CHECKBOX))
        if name not in dict(self.bulk_actions()):
            messages.warning(request, _("No action selected."))
            return HttpResponseRedirect(back)
        if not ids:
            messages.warning(
                request,
                _(
                    "Items must be selected in order to perform actions on them. "
                    "No items have been changed."
                ),
            )
            return HttpResponseRedirect(back)
        limit = app_settings.BULK_ACTION_MAX
        if len(ids) > limit:
            messages.error(
                request,
                _("Select at most %(limit)s %(records)s.")
                % {"limit": limit, "records": self.object_type.noun_plural},
            )
            return HttpResponseRedirect(back)
        return getattr(self, f"action_{name}")(request, ids, back)

    def action_export(self, request, ids, back):
        return self.stream_csv(request, self.read_selected(ids), back="")

    def read_selected(self, ids: list[str]) -> list[dict]:
        client, found = get_client(), []
        for start in range(0, len(ids), BATCH_MAX):  # HubSpot's batch read takes 100 at most
            found += client.batch_read(
                self.object_type.name,
                ids[start : start + BATCH_MAX],
                properties=self.object_type.list_properties,
            )
        order = {object_id: i for i, object_id in enumerate(ids)}
        return sorted(found, key=lambda r: order.get(str(r["id"]), len(order)))

    def confirm(self, request, name: str, ids: list[str], back: str, **extra):
        """The confirmation page of a bulk action: the records it will change, by name."""
        try:
            records = [self.row(r) for r in self.read_selected(ids)]
        except errors.HubSpotError as err:
            # The writes still go through the outbox; only the names are missing.
            messages.warning(
                request,
                _("Could not read the selected records from HubSpot: %(error)s") % {"error": err},
            )
            records = [{"id": i, "summary": i, "change_url": self.url("change", i)} for i in ids]
        return self.render(
            request,
            self.templates("action_confirmation.html"),
            self.context(
                title=dict(self.bulk_actions())[name],
                action=name,
                records=records,
                list_query=safe_list_query(request.POST.get("list_query", "")),
                back_url=back,
                actions_url=self.url("actions"),
                **extra,
            ),
        )

    def action_archive(self, request, ids, back):
        if request.POST.get("post") != "yes":
            return self.confirm(request, "archive", ids, back)
        outcomes = [(i, self.service.archive(i, user=request.user)) for i in ids]
        report_bulk(request, outcomes, self.object_type, done=_("%(records)s archived in HubSpot."))
        return HttpResponseRedirect(back)

    # --- create --------------------------------------------------------------------------------
    def create(self, request, form):
        """Send the new record; a response to show instead of the form, or None."""
        outcome = send(
            request,
            form,
            lambda: self.service.create(form.properties(drop_blank=True), user=request.user),
            refused=_("HubSpot refused the %(record)s") % {"record": self.object_type.noun},
        )
        if outcome is None:
            return None
        new_id = outcome.operation.hubspot_object_id
        title = self.title_of(form.cleaned_data)
        if report_outcome(
            request,
            outcome,
            done=_("%(Record)s %(title)s created.")
            % {"Record": self.object_type.noun.capitalize(), "title": title},
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
                title=_("Add HubSpot %(record)s") % {"record": self.object_type.noun},
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
                    _("Could not read %(record)s %(id)s from HubSpot: %(error)s")
                    % {"record": self.object_type.noun, "id": object_id, "error": err},
                )
                return HttpResponseRedirect(self.url("changelist"))
            form = self.form_class.from_record(record)
        return self.render(
            request,
            self.templates("change_form.html"),
            self.context(
                title=_("Change HubSpot %(record)s") % {"record": self.object_type.noun},
                form=form,
                object_id=object_id,
                hubspot_url=self.service.url(object_id),
                delete_url=self.url("delete", object_id)
                if "archive" in self.object_type.verbs
                else "",
                related=self.related(request, record) if record else [],
                **(self.page_extras(request, object_id, record) if record else {}),
            ),
        )

    def page_extras(self, request, object_id, record: dict) -> dict:
        """More of the change page's context, for a type whose page shows more than its
        properties and related records (a contact's chat threads)."""
        return {}

    def save(self, request, object_id, form) -> bool:
        outcome = send(
            request,
            form,
            lambda: self.service.update(object_id, form.properties(), user=request.user),
            refused=_("HubSpot refused the change"),
        )
        if outcome is None:
            return False
        title = self.title_of(form.cleaned_data) or object_id
        return report_outcome(
            request,
            outcome,
            done=_("%(Record)s %(title)s saved.")
            % {"Record": self.object_type.noun.capitalize(), "title": title},
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
                request,
                _("Could not read the linked %(records)s from HubSpot: %(error)s")
                % {"records": registry.noun_plural(type_name), "error": problem},
            )
        currency = money.currency() if found.get("deals") else ""
        known = self.detail_context(request, found)
        sections = []
        for type_name, records in found.items():
            sections.append(
                {
                    "name": type_name,
                    "title": registry.noun_plural(type_name).capitalize(),
                    "items": [
                        {
                            "id": r["id"],
                            "text": describe(type_name, r, currency),
                            "url": self.panel_url(request, type_name, r["id"]),
                            "hubspot_url": self.service.url_of(type_name, r["id"]),
                            "details": self.details(type_name, r, known),
                        }
                        for r in records
                    ],
                }
            )
        return sections

    def detail_context(self, request, found: dict[str, list[dict]]):
        """What `details` needs once per page (the ticket pipelines, for stage labels)."""
        return None

    def details(self, type_name: str, record: dict, known) -> list[str]:
        """Words shown after a related record's name (a ticket's stage and dates)."""
        return []

    def panel_url(self, request, type_name: str, object_id: str) -> str:
        return registry.change_url(type_name, object_id, request.user)

    # --- archive -------------------------------------------------------------------------------
    def delete_view(self, request, object_id, extra_context=None):
        self.check_permission(request)
        label = self.object_type.noun
        if request.method == "POST":
            outcome = self.service.archive(object_id, user=request.user)
            report_outcome(
                request,
                outcome,
                done=_("%(Record)s %(id)s archived in HubSpot.")
                % {"Record": label.capitalize(), "id": object_id},
            )
            return HttpResponseRedirect(self.url("changelist"))
        try:
            record = self.row(self.service.get(object_id))
        except errors.NotFound:
            messages.error(
                request, _("HubSpot has no %(record)s %(id)s.") % {"record": label, "id": object_id}
            )
            return HttpResponseRedirect(self.url("changelist"))
        except errors.HubSpotError as err:
            # Archiving still works through the outbox; only the summary is missing.
            messages.warning(
                request,
                _("Could not read the %(record)s from HubSpot: %(error)s")
                % {"record": label, "error": err},
            )
            record = {"id": object_id, "title": "", "summary": ""}
        return self.render(
            request,
            self.templates("delete_confirmation.html"),
            self.context(
                title=_("Archive HubSpot %(record)s") % {"record": label},
                record=record,
                change_url=self.url("change", object_id),
            ),
        )
