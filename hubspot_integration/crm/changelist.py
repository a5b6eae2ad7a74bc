"""What a live list's query string means, the way the admin's ChangeList reads its own: `q` the
search box, `o` the sorted column ("2" ascending, "-2" descending, by column index), and one
parameter per filter in the filter sidebar. A value the list does not know is ignored, never an
error: the page then shows the unsorted or unfiltered list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .listing import ASC, DESC
from .types import Column
from .words import in_sentence


@dataclass
class ListFilter:
    """A filter of the sidebar: its query parameter, title, choices and the search filters a
    choice means."""

    param: str
    title: str
    choices: list[tuple[str, str]]  # (value, label); a choice may be a group: (label, [...])
    to_filters: Callable[[str], list[dict]]
    upper: bool = False  # the value is HubSpot's upper-case enumeration (a ticket's priority)
    # The sidebar's "By stage", whole: a language may not lower-case the title inside it.
    heading: str = ""

    def accepts(self, value: str) -> bool:
        # No choices known (HubSpot's pipelines unread right now): any value is tried as given.
        return bool(value) and (not self.choices or value in self.values())

    def values(self) -> set[str]:
        found = set()
        for value, label in self.choices:
            if isinstance(label, list | tuple):
                found.update(v for v, _ in label)
            else:
                found.add(value)
        return found


def _start_of(period: str) -> dt.datetime | None:
    now = timezone.localtime()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "today": today,
        "past_7_days": today - dt.timedelta(days=6),
        "this_month": today.replace(day=1),
        "this_year": today.replace(month=1, day=1),
    }.get(period)


def created_filter(prop: str = "createdate") -> ListFilter:
    """The admin's date hierarchy in a filter: created today, past 7 days, this month, year."""

    def to_filters(value: str) -> list[dict]:
        start = _start_of(value)
        if start is None:
            return []
        ms = str(int(start.timestamp() * 1000))
        return [{"propertyName": prop, "operator": "GTE", "value": ms}]

    return ListFilter(
        "created",
        gettext_lazy("Created"),
        [
            ("today", gettext_lazy("Today")),
            ("past_7_days", gettext_lazy("Past 7 days")),
            ("this_month", gettext_lazy("This month")),
            ("this_year", gettext_lazy("This year")),
        ],
        to_filters,
        heading=gettext_lazy("By created"),
    )


def equals_filter(
    param: str, title: str, prop: str, choices, upper: bool = False, heading: str = ""
) -> ListFilter:
    """A filter on one property's value (a ticket's stage, its priority)."""
    return ListFilter(
        param,
        title,
        list(choices),
        lambda v: [{"propertyName": prop, "operator": "EQ", "value": v}],
        upper=upper,
        heading=heading,
    )


class ListState:
    """The list's search, sort and filters as read from the request."""

    def __init__(self, request, columns: tuple[Column, ...], list_filters: list[ListFilter]):
        self.query = request.GET.get("q", "").strip()
        self.columns = columns
        self.list_filters = list_filters
        self.chosen: dict[str, str] = {}
        for spec in list_filters:
            value = request.GET.get(spec.param, "").strip()
            if spec.upper:
                value = value.upper()
            if spec.accepts(value):
                self.chosen[spec.param] = value
        self.order_index, self.descending = self._order(request.GET.get("o", ""))

    def _order(self, raw: str) -> tuple[int | None, bool]:
        text = raw.strip()
        descending = text.startswith("-")
        digits = text.lstrip("-")
        if not digits.isdigit():
            return None, False
        index = int(digits)
        if index >= len(self.columns) or not self.columns[index].sort:
            return None, False
        return index, descending

    @property
    def sort(self) -> tuple[str, str] | None:
        if self.order_index is None:
            return None
        direction = DESC if self.descending else ASC
        return self.columns[self.order_index].sort, direction

    @property
    def order(self) -> str:
        if self.order_index is None:
            return ""
        return f"{'-' if self.descending else ''}{self.order_index}"

    def filters(self) -> list[dict]:
        found = []
        for spec in self.list_filters:
            if spec.param in self.chosen:
                found.extend(spec.to_filters(self.chosen[spec.param]))
        return found

    @property
    def keep(self) -> dict[str, str]:
        """What a link to another page of the same list carries."""
        return {"q": self.query, "o": self.order, **self.chosen}

    @property
    def filtered(self) -> bool:
        return bool(self.query or self.chosen)

    def link(self, **changes) -> str:
        params = {**self.keep, **changes}
        return "?" + urlencode([(k, v) for k, v in params.items() if v])

    # --- what the template draws ---------------------------------------------------------------
    def headers(self) -> list[dict]:
        """The column headers, with the admin's sort links and arrows where HubSpot can sort."""
        found = []
        for index, column in enumerate(self.columns):
            header = {"name": column.name, "label": column.label, "sortable": bool(column.sort)}
            if column.sort:
                sorted_here = index == self.order_index
                ascending_next = not (sorted_here and not self.descending)
                header.update(
                    sorted=sorted_here,
                    ascending=sorted_here and not self.descending,
                    url=self.link(o=str(index) if ascending_next else f"-{index}"),
                    clear_url=self.link(o=""),
                )
            found.append(header)
        return found

    def sidebar(self) -> list[dict]:
        """The filter sidebar's sections, as the admin draws `#changelist-filter`."""
        sections = []
        for spec in self.list_filters:
            current = self.chosen.get(spec.param, "")
            options = [
                {"label": _("All"), "url": self.link(**{spec.param: ""}), "selected": not current}
            ]
            for value, label in spec.choices:
                group = label if isinstance(label, list | tuple) else [(value, label)]
                for choice, text in group:
                    if isinstance(label, list | tuple) and len(spec.choices) > 1:
                        text = f"{value}: {text}"  # a stage names its pipeline
                    options.append(
                        {
                            "label": text,
                            "url": self.link(**{spec.param: choice}),
                            "selected": choice == current,
                        }
                    )
            heading = spec.heading or _("By %(filter_title)s") % {
                "filter_title": in_sentence(spec.title)
            }
            sections.append(
                {
                    "param": spec.param,
                    "title": spec.title,
                    "heading": heading,
                    "options": options,
                }
            )
        return sections
