"""Reading a whole filtered list, or any page of it, past HubSpot's search cap.

HubSpot's search answers at most 10,000 results a query (an `after` beyond that is a 400), so a
list or an export of more records is split by creation date: each window is a search sorted by
`createdate` with a GTE (ascending) or LTE (descending) bound at the last record already read,
paged until just before the cap, then the next window starts from that record's creation time.
The records created in that same millisecond are read again at the next window's edge and
dropped by ID. A window therefore never reaches 10,000 results, however the records are spread
over time, and needs no probing search for its size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .. import errors
from ..conf import app_settings

# HubSpot's, not ours: the most results one search query reaches, and the biggest page.
SEARCH_CAP = 10_000
SEARCH_PAGE_MAX = 200

ASC, DESC = "ASCENDING", "DESCENDING"


def created_ms(record: dict) -> int | None:
    """A record's creation time in epoch milliseconds (HubSpot answers ISO text)."""
    return epoch_ms((record.get("properties") or {}).get("createdate"))


def epoch_ms(value) -> int | None:
    """A HubSpot time (ISO text, or epoch milliseconds as text) in epoch milliseconds."""
    value = str(value or "").strip()
    if value.isdigit():
        return int(value)
    try:
        moment = parse_datetime(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round(moment.timestamp() * 1000) if moment else None


@dataclass
class Window:
    """Where a created-date window starts: its bound (ms) and the IDs at that bound already
    read (the previous window ended among them)."""

    bound: int | None = None
    seen_at_bound: set[str] = field(default_factory=set)

    def filter(self, direction: str) -> list[dict]:
        if self.bound is None:
            return []
        operator = "GTE" if direction == ASC else "LTE"
        return [{"propertyName": "createdate", "operator": operator, "value": str(self.bound)}]

    def advance(self, records: list[dict]) -> Window:
        """The window that starts at the last of `records`."""
        last = created_ms(records[-1]) if records else None
        if last is None:
            raise errors.HubSpotError(_("HubSpot answered records without a creation date."))
        at_edge = {str(r["id"]) for r in records if created_ms(r) == last}
        if last == self.bound:
            at_edge |= self.seen_at_bound  # the whole window was one millisecond's records
        return Window(last, at_edge)


def encode_cursor(window: Window, offset: str | None) -> str:
    """A list page's `after`: HubSpot's offset, or the window and the offset inside it."""
    if window.bound is None:
        return offset or ""
    seen = ".".join(sorted(window.seen_at_bound, key=lambda i: (len(i), i)))
    return f"w{window.bound}~{seen}~{offset or ''}"


def decode_cursor(after: str) -> tuple[Window, str | None]:
    """The window and offset a cursor names; a cursor that is not ours starts at the top."""
    after = (after or "").strip()
    if not after.startswith("w"):
        return Window(), (after if after.isdigit() else None)
    try:
        bound, seen, offset = after[1:].split("~")
        ids = {i for i in seen.split(".") if i.isdigit()}
        return Window(int(bound), ids), (offset if offset.isdigit() else None)
    except ValueError:
        return Window(), None


def search_page(
    client,
    type_name: str,
    *,
    text: str,
    filters: list[dict],
    sorts: list[dict],
    properties: list[str],
    limit: int,
    after: str | None,
) -> dict:
    """One search call; `filters` may carry a window's bound."""
    return client.search_objects(
        type_name,
        query=text or None,
        filter_groups=[{"filters": filters}] if filters else None,
        properties=properties,
        sorts=sorts,
        limit=limit,
        after=after,
    )


def windowed_page(client, type_name, *, text, filters, direction, properties, limit, after):
    """A page of a search sorted by creation date, any depth into the list: (results, the next
    page's cursor or None, total)."""
    window, offset = decode_cursor(after)
    # One sort rule: HubSpot's search takes no more. Ties at a window's edge are read again
    # and dropped by ID.
    sorts = [{"propertyName": "createdate", "direction": direction}]
    # Read a little more than a page when the window's edge is repeated, so the page stays full.
    want = min(limit + len(window.seen_at_bound), SEARCH_PAGE_MAX)
    page = search_page(
        client,
        type_name,
        text=text,
        filters=[*filters, *window.filter(direction)],
        sorts=sorts,
        properties=properties,
        limit=want,
        after=offset,
    )
    results = [r for r in page["results"] if str(r["id"]) not in window.seen_at_bound][:limit]
    total = page.get("total")
    if window.bound is not None:
        total = None  # the window's total, not the list's: the first page's is kept by the caller
    next_offset = page.get("next_after")
    if not next_offset or not results:
        return results, None, total
    if int(next_offset) + want <= SEARCH_CAP:
        return results, encode_cursor(window, next_offset), total
    # The next page would pass the cap: a new window starts at this page's last record.
    return results, encode_cursor(window.advance(results), None), total


def iter_all(
    client,
    type_name: str,
    *,
    text: str = "",
    filters: list[dict] | tuple = (),
    properties: list[str],
    page_size: int | None = None,
    direction: str = ASC,
) -> Iterator[dict]:
    """Every record the search matches, oldest first (newest first with `direction` DESC),
    each once, however many there are."""
    size = min(page_size or app_settings.EXPORT_PAGE_SIZE, SEARCH_PAGE_MAX)
    filters = list(filters)
    after: str | None = None
    stuck = 0
    while True:
        results, after_next, _total = windowed_page(
            client,
            type_name,
            text=text,
            filters=filters,
            direction=direction,
            properties=properties,
            limit=size,
            after=after,
        )
        yield from results
        if after_next is None:
            return
        # More than 10,000 records created in one millisecond cannot be split by date: stop
        # rather than loop (HubSpot never creates records that close together).
        stuck = stuck + 1 if after_next == after else 0
        if stuck > 1:
            raise errors.HubSpotError(
                _("Too many records share one creation time to list them all.")
            )
        after = after_next
