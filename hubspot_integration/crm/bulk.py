"""What the lists' bulk actions share: which records were checked, where to go back to, and
telling the user each record's outcome (done, queued while HubSpot is down, or refused)."""

from __future__ import annotations

from django.contrib import messages
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ..admin.pages import QUEUED_MESSAGE
from ..services.outbox import Outcome
from .types import ObjectType

# The admin's own name for a row's checkbox, so the list reads like any admin list.
ACTION_CHECKBOX = "_selected_action"


def counted(total: int | None, object_type: ObjectType) -> str:
    """ "1,234 contacts"; blank when HubSpot could not say."""
    if total is None:
        return ""
    noun = object_type.noun if total == 1 else object_type.noun_plural
    # The number grouped as the active language writes it: 1,234 in English, 1.234 in German.
    return f"{number_format(total, force_grouping=True)} {noun}"


def selected_ids(values: list[str]) -> list[str]:
    """The checked records' IDs, once each and in the list's order; anything that is not a
    HubSpot ID (digits) is dropped."""
    return list(dict.fromkeys(v.strip() for v in values if v.strip().isdigit()))


def safe_list_query(value: str) -> str:
    """The list's query string carried through a form, so the user lands back on the same
    filtered list; only a query string, never a URL of its own."""
    value = (value or "").strip()
    if not value.startswith("?") or any(c in value for c in "\r\n\\") or "//" in value:
        return ""
    return value


def report_bulk(request, outcomes: list[tuple[str, Outcome]], object_type: ObjectType, *, done):
    """One message per outcome kind; the refused ones name their record and HubSpot's reason.
    `done` is a translated sentence with `%(records)s` for the count: "%(records)s updated."."""
    finished = [i for i, o in outcomes if o.done]
    queued = [i for i, o in outcomes if o.queued]
    refused = [(i, o) for i, o in outcomes if not o.done and not o.queued]
    if finished:
        messages.success(request, done % {"records": counted(len(finished), object_type)})
    if queued:
        messages.warning(
            request,
            _("%(records)s: %(queued)s")
            % {"records": counted(len(queued), object_type), "queued": QUEUED_MESSAGE},
        )
    for object_id, outcome in refused:
        messages.error(
            request,
            _("HubSpot refused the change to %(record)s %(id)s: %(error)s")
            % {"record": object_type.noun, "id": object_id, "error": outcome.error},
        )
