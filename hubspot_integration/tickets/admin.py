"""The "HubSpot tickets" pages: a filtered live list, a detail page with the update form, create,
and a button that re-reads the pipelines. With tickets switched off every page says so."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..admin.pages import CursorPager, admin_page, report_outcome, send, when
from ..admin.threads import thread_context
from ..contacts import service as contacts
from ..crm.admin import CrmObjectAdmin
from ..crm.bulk import report_bulk
from ..crm.changelist import ListFilter, created_filter, equals_filter
from ..crm.words import in_sentence
from ..models import HubSpotSettings
from ..services import owners
from . import OBJECT_TYPE
from . import service as tickets
from .forms import TicketCreateForm, TicketUpdateForm, owner_label, stage_choices
from .models import HubSpotTicket


def _pipeline(known: list[dict] | None, pipeline_id: str) -> dict | None:
    return next((p for p in known or [] if p["id"] == pipeline_id), None)


def _row(ticket: dict, known: list[dict] | None) -> dict:
    props = ticket.get("properties") or {}
    pipeline = _pipeline(known, props.get("hs_pipeline") or "")
    return {
        "id": ticket["id"],
        "subject": props.get("subject") or "",
        "content": props.get("content") or "",
        "pipeline": pipeline["label"] if pipeline else props.get("hs_pipeline") or "",
        "stage": tickets.stage_label(
            props.get("hs_pipeline") or "", props.get("hs_pipeline_stage") or "", known or []
        ),
        "priority": tickets.priority_label(props.get("hs_ticket_priority") or ""),
        "category": tickets.category_label(props.get("hs_ticket_category") or ""),
        "owner_id": props.get("hubspot_owner_id") or "",
        "created": when(props.get("createdate")),
        "modified": when(props.get("hs_lastmodifieddate")),
        "hubspot_url": tickets.ticket_url(ticket["id"]),
    }


def _contact_ids(ticket: dict) -> list[str]:
    links = ((ticket.get("associations") or {}).get("contacts") or {}).get("results") or []
    return list(dict.fromkeys(str(link["id"]) for link in links))  # one per contact, in order


@admin.register(HubSpotTicket)
class HubSpotTicketAdmin(CrmObjectAdmin):
    """Its own list (filters by stage and priority), create (pipelines, requester) and detail
    (the update form) on the shared pages' permission, URLs and frame."""

    object_type = OBJECT_TYPE
    service = tickets.service

    def get_urls(self):
        return [
            admin_page(self, "", self.changelist_view, "changelist"),
            *self.list_urls(),
            admin_page(self, "add/", self.add_view, "add"),
            admin_page(
                self, "refresh-pipelines/", self.refresh_pipelines_view, "refresh_pipelines"
            ),
            admin_page(self, "<str:object_id>/change/", self.change_view, "change"),
        ]

    def _disabled(self, request):
        """The page to show instead when tickets are switched off, else None."""
        try:
            tickets.ensure_enabled()
        except tickets.TicketsDisabled as err:
            return self.render(
                request, "tickets/disabled.html", {"title": _("HubSpot tickets"), "reason": err}
            )
        return None

    def _pipelines(self, request, *, warn: bool) -> list[dict] | None:
        try:
            return tickets.pipelines()
        except errors.HubSpotError as err:
            if warn:
                messages.warning(
                    request, _("Could not read the ticket pipelines: %(error)s") % {"error": err}
                )
            return None

    # --- list ----------------------------------------------------------------------------------
    def list_filters(self, request) -> list[ListFilter]:
        known = getattr(request, "_ticket_pipelines", None)
        return [
            equals_filter(
                "stage",
                gettext_lazy("Stage"),
                "hs_pipeline_stage",
                stage_choices(known or []),
                heading=gettext_lazy("By stage"),
            ),
            equals_filter(
                "priority",
                gettext_lazy("Priority"),
                "hs_ticket_priority",
                tickets.Priority.choices,
                upper=True,
                heading=gettext_lazy("By priority"),
            ),
            created_filter(),
        ]

    def bulk_actions(self) -> list[tuple[str, str]]:
        return [
            ("set_stage", _("Set the stage of the selected tickets")),
            ("set_owner", _("Set the owner of the selected tickets")),
            ("export", _("Export selected tickets to CSV")),
        ]

    def changelist_view(self, request, extra_context=None):
        self.check_permission(request)
        if (page := self._disabled(request)) is not None:
            return page
        known = request._ticket_pipelines = self._pipelines(request, warn=False)
        state = self.list_state(request)
        pager = CursorPager(request, state.keep)
        rows, next_after, total = [], None, None
        try:
            if known is None:
                known = tickets.pipelines()  # the list cannot show stages without them
            page = tickets.list_tickets(
                limit=self.page_size,
                after=pager.after or None,
                query=state.query,
                filters=state.filters(),
                sort=state.sort,
                with_total=True,
            )
            rows = [_row(t, known) for t in page.results]
            next_after, total = page.next_after, page.total
        except errors.HubSpotError as err:
            messages.error(
                request, _("Could not read the tickets from HubSpot: %(error)s") % {"error": err}
            )
        return self.render(
            request,
            "tickets/change_list.html",
            {
                "title": _("HubSpot tickets"),
                "rows": rows,
                "stage": state.chosen.get("stage", ""),
                "priority": state.chosen.get("priority", ""),
                "add_url": self.url("add"),
                "refresh_url": self.url("refresh_pipelines"),
                **self.list_context(request, state, rows, next_after, total, pager),
            },
        )

    def export_view(self, request):
        self.check_permission(request)
        if (page := self._disabled(request)) is not None:
            return page
        request._ticket_pipelines = self._pipelines(request, warn=False)
        return super().export_view(request)

    def actions_view(self, request):
        self.check_permission(request)
        if (page := self._disabled(request)) is not None:
            return page
        return super().actions_view(request)

    # --- bulk actions --------------------------------------------------------------------------
    def action_set_stage(self, request, ids, back):
        try:
            known = tickets.pipelines()
        except errors.HubSpotError as err:
            # The stages to choose from; the change itself is queued while HubSpot is down.
            known = tickets.cached_pipelines() if err.transient else None
            if not known:
                messages.error(
                    request, _("Could not read the ticket pipelines: %(error)s") % {"error": err}
                )
                return HttpResponseRedirect(back)
        pipeline_of = {st["id"]: p["id"] for p in known for st in p["stages"]}
        field = {
            "name": "stage",
            "id": "bulk-stage",
            "label": _("New stage"),
            "choices": stage_choices(known),
        }
        return self._bulk_update(
            request,
            ids,
            back,
            "set_stage",
            field,
            lambda stage: {"stage": stage, "pipeline": pipeline_of[stage]},
            valid=set(pipeline_of),
        )

    def action_set_owner(self, request, ids, back):
        found = self._owners(request)
        if found is None:
            return HttpResponseRedirect(back)
        field = {
            "name": "owner",
            "id": "bulk-owner",
            "label": _("New owner"),
            "choices": [(_("HubSpot owners"), [(o["id"], owner_label(o)) for o in found])],
        }
        return self._bulk_update(
            request,
            ids,
            back,
            "set_owner",
            field,
            lambda owner: {"owner": owner},
            valid={o["id"] for o in found},
        )

    def _bulk_update(self, request, ids, back, action, field, data_for, *, valid):
        """Confirm the choice, then update each ticket through the service and the outbox."""
        chosen = request.POST.get(field["name"], "")
        if request.POST.get("post") != "yes" or chosen not in valid:
            if request.POST.get("post") == "yes":
                messages.error(
                    request, _("Choose the %(field)s.") % {"field": in_sentence(field["label"])}
                )
            return self.confirm(request, action, ids, back, choice_field=field)
        outcomes = []
        for ticket_id in ids:
            try:
                outcomes.append(
                    (
                        ticket_id,
                        tickets.update_ticket(ticket_id, data_for(chosen), user=request.user),
                    )
                )
            except (errors.HubSpotError, ValidationError) as err:
                text = "; ".join(err.messages) if isinstance(err, ValidationError) else str(err)
                messages.error(
                    request,
                    _("Ticket %(id)s not changed: %(error)s") % {"id": ticket_id, "error": text},
                )
        report_bulk(request, outcomes, OBJECT_TYPE, done=_("%(records)s updated."))
        return HttpResponseRedirect(back)

    def refresh_pipelines_view(self, request):
        self.check_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if (page := self._disabled(request)) is not None:
            return page
        try:
            known = tickets.pipelines(refresh=True)
        except errors.HubSpotError as err:
            messages.error(
                request, _("Could not read the ticket pipelines: %(error)s") % {"error": err}
            )
        else:
            stages = sum(len(p["stages"]) for p in known)
            messages.success(
                request,
                _("Pipelines refreshed from HubSpot: %(pipelines)s pipelines, %(stages)s stages.")
                % {"pipelines": len(known), "stages": stages},
            )
        return HttpResponseRedirect(self.url("changelist"))

    # --- create --------------------------------------------------------------------------------
    def add_view(self, request, form_url="", extra_context=None):
        self.check_permission(request)
        if (page := self._disabled(request)) is not None:
            return page
        form = TicketCreateForm(
            request.POST or None,
            pipelines=self._pipelines(request, warn=True),
            settings_obj=HubSpotSettings.load(),
        )
        if request.method == "POST" and form.is_valid():
            outcome = send(
                request,
                form,
                lambda: tickets.create_ticket(form.cleaned_data, user=request.user),
                refused=_("HubSpot refused the ticket"),
            )
            if outcome is not None:
                ticket_id = outcome.operation.hubspot_object_id
                if report_outcome(
                    request,
                    outcome,
                    done=_("Ticket “%(subject)s” created.")
                    % {"subject": form.cleaned_data["subject"]},
                    link=tickets.ticket_url(ticket_id) if ticket_id else "",
                ):
                    target = self.url("change", ticket_id) if outcome.done else ""
                    return HttpResponseRedirect(target or self.url("changelist"))
        return self.render(
            request, "tickets/add_form.html", {"title": _("Add HubSpot ticket"), "form": form}
        )

    # --- detail and update ---------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        self.check_permission(request)
        if (page := self._disabled(request)) is not None:
            return page
        try:
            ticket = tickets.get_ticket(object_id)
        except errors.HubSpotError as err:
            messages.error(
                request,
                _("Could not read ticket %(id)s from HubSpot: %(error)s")
                % {"id": object_id, "error": err},
            )
            return HttpResponseRedirect(self.url("changelist"))
        known = self._pipelines(request, warn=request.method == "GET")
        current = ticket.get("properties") or {}
        owner_list = self._owners(request)
        form = TicketUpdateForm(
            request.POST or None,
            pipeline=_pipeline(known, current.get("hs_pipeline") or ""),
            owners=owner_list,
            current=current,
        )
        posted = request.method == "POST" and form.is_valid()
        if posted and self._update(request, object_id, form, current):
            return HttpResponseRedirect(self.url("change", object_id))
        row = _row(ticket, known)
        owner = next((o for o in owner_list or [] if o["id"] == row["owner_id"]), None)
        row["owner"] = owner_label(owner) if owner else row["owner_id"]
        return self.render(
            request,
            "tickets/change_form.html",
            {
                "title": row["subject"] or _("Ticket %(id)s") % {"id": object_id},
                "ticket": row,
                "form": form,
                "contacts": self._contacts(request, ticket),
                **thread_context(request, ticket_id=str(object_id)),
            },
        )

    def _contacts(self, request, ticket: dict) -> list[dict]:
        """The ticket's contacts by name ("Ann Lee <ann@example.com>"), each linked to its page
        where the user may open contacts; by ID when HubSpot cannot name them right now."""
        ids = _contact_ids(ticket)
        named = {}
        if ids:
            sections = self.related(request, ticket)  # one batch read; warns when it fails
            named = {item["id"]: item for s in sections for item in s["items"]}
        return [
            named.get(cid)
            or {
                "id": cid,
                "text": _("Contact %(id)s") % {"id": cid},
                "url": self.panel_url(request, "contacts", cid),
                "hubspot_url": contacts.contact_url(cid),
            }
            for cid in ids
        ]

    def _owners(self, request) -> list[dict] | None:
        try:
            return owners.owners()
        except errors.HubSpotError as err:
            messages.warning(
                request, _("Could not read the HubSpot owners: %(error)s") % {"error": err}
            )
            return None

    def _update(self, request, object_id, form, current: dict) -> bool:
        # Only what changed goes to HubSpot: an unchanged stage costs no pipeline lookup.
        wanted = {
            "stage": ("hs_pipeline_stage", form.cleaned_data["stage"]),
            "priority": ("hs_ticket_priority", form.cleaned_data["priority"]),
            "owner": ("hubspot_owner_id", form.cleaned_data["owner"]),
        }
        data = {k: v for k, (prop, v) in wanted.items() if (current.get(prop) or "") != v}
        if not data:
            messages.info(request, _("Nothing changed."))
            return True
        if "stage" in data:
            data["pipeline"] = current.get("hs_pipeline") or ""
        outcome = send(
            request,
            form,
            lambda: tickets.update_ticket(object_id, data, user=request.user),
            refused=_("HubSpot refused the change"),
        )
        if outcome is None:
            return False
        return report_outcome(
            request, outcome, done=_("Ticket saved."), link=tickets.ticket_url(object_id)
        )
