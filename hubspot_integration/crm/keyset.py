"""Reading a list sorted by a column other than the creation date, however long.

HubSpot's search answers at most 10,000 results a query and applies one sort rule, so a list
sorted by, say, last name is read in stages, each a query HubSpot answers in full:

- **values**: the records sorted by the column, from just past the values already read (`GT`,
  or `LT` descending). A list of 10,000 or fewer is this one query, its empty values last. When
  the query holds more, the value of its 10,000th record (the *cap value*, read with one
  one-result search) bounds it: the stage reads the values before the cap value, which are
  fewer than 10,000.
- **ties**: the records whose value is the cap value (`EQ`), in ID order, paged by
  `hs_object_id GT` the last ID read, so any number of them is read once. The next values stage
  starts past the cap value.
- **empty**: past 10,000, the records without a value (`NOT_HAS_PROPERTY`), in ID order, last,
  where HubSpot's own sort puts them in either direction.

Which records share the cap value is decided by HubSpot's own `EQ`, never by comparing values
here, and a tie is never split between two queries, so no record is read twice or missed
whatever order HubSpot gives equal values. A list page's `after` names the stage and where in
it the page starts (`encode`); a page that ends where a stage ends asks for one record of the
stages after it, so the last page never links to an empty one.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace

from .listing import ASC, SEARCH_CAP, SEARCH_PAGE_MAX, epoch_ms, search_page

VALUES, TIES, EMPTY = "values", "ties", "empty"
ID = "hs_object_id"
BY_ID = [{"propertyName": ID, "direction": ASC}]
# HubSpot answers datetimes as ISO text; its filters take them as epoch milliseconds.
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


@dataclass(frozen=True)
class Cursor:
    """Where a sorted read stands: its stage, the values stage's lower bound (`bound`: values up
    to it are read), the cap value of the current values query once known (`checked`), the
    offset inside a values stage, the last ID read in a ties or empty stage, and whether the
    values stage is the whole list (`whole`: it fits under the cap, empty values included)."""

    stage: str = VALUES
    bound: str | None = None
    checked: bool = False
    cap: str | None = None
    offset: int = 0
    last_id: str | None = None
    whole: bool = False


def encode(cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    raw = json.dumps(list(asdict(cursor).values()), separators=(",", ":")).encode()
    return "k" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(after: str | None) -> Cursor:
    """The cursor `after` names; anything that is not one of ours starts at the top."""
    after = (after or "").strip()
    if not after.startswith("k"):
        return Cursor()
    try:
        body = after[1:] + "=" * (-len(after[1:]) % 4)
        fields = json.loads(base64.urlsafe_b64decode(body))
        stage, bound, checked, cap, offset, last_id, whole = fields
        ok = stage in (VALUES, TIES, EMPTY) and isinstance(offset, int) and 0 <= offset < SEARCH_CAP
        ok = ok and all(v is None or isinstance(v, str) for v in (bound, cap, last_id))
        ok = ok and (last_id is None or last_id.isdigit()) and (stage != TIES or cap is not None)
        cursor = Cursor(stage, bound, bool(checked), cap, offset, last_id, bool(whole))
        return cursor if ok else Cursor()
    except (ValueError, TypeError):
        return Cursor()


def filter_value(value) -> str:
    """A record's value as a filter operand: datetimes in epoch milliseconds."""
    text = str(value)
    if _ISO_TIME.fullmatch(text) and (ms := epoch_ms(text)) is not None:
        return str(ms)
    return text


def fresh(cursor: Cursor) -> bool:
    """Whether `cursor` starts a stage (which may turn out empty)."""
    if cursor.stage == VALUES:
        return not cursor.checked and cursor.offset == 0
    return cursor.last_id is None


class SortedRead:
    """The stages of one list's search (`text`, `filters`) sorted by `prop` in `direction`."""

    def __init__(self, client, type_name, *, text, filters, prop, direction, properties):
        self.client, self.type_name, self.text = client, type_name, text
        self.filters, self.prop, self.direction = list(filters), prop, direction
        self.properties = list(dict.fromkeys([*properties, prop]))
        self.past = "GT" if direction == ASC else "LT"
        self.before = "LT" if direction == ASC else "GT"

    def _search(self, filters, sorts, limit, after=None):
        return search_page(
            self.client,
            self.type_name,
            text=self.text,
            filters=[*self.filters, *filters],
            sorts=sorts,
            properties=self.properties,
            limit=limit,
            after=str(after) if after else None,
        )

    def _on(self, operator, value=None) -> dict:
        found = {"propertyName": self.prop, "operator": operator}
        return found if value is None else {**found, "value": value}

    def step(self, cursor: Cursor, want: int) -> list[tuple[dict, Cursor | None]]:
        """One search of the stage `cursor` names, up to `want` records: each with the cursor
        that follows it (None after the list's last record). A stage that turns out empty
        hands on to the next one, so a step answers records unless the list is done."""
        want = max(1, min(want, SEARCH_PAGE_MAX))
        while True:
            if cursor.stage == VALUES:
                found, after_all = self._values(cursor, want)
            else:
                found, after_all = self._by_id(cursor, want)
            if found or after_all is None:
                return found
            cursor = after_all

    def _values(self, cursor: Cursor, want: int):
        # A range filter never matches a record without a value: past a bound or before the
        # cap value, the empty values drop out by themselves (filters are few: 6 a group).
        filters = [] if cursor.bound is None else [self._on(self.past, cursor.bound)]
        sorts = [{"propertyName": self.prop, "direction": self.direction}]
        if not cursor.checked:
            # Most lists fit under the cap: the first page says so with its total, and read
            # from the top it is the whole list, the empty values last where HubSpot puts them.
            page = self._search(filters, sorts, want, cursor.offset)
            if (page.get("total") or 0) <= SEARCH_CAP:
                fits = replace(cursor, checked=True, whole=cursor.bound is None)
                return self._paged(page, fits)
            last = self._search(filters, sorts, 1, SEARCH_CAP - 1)["results"]
            value = (last[0].get("properties") or {}).get(self.prop) if last else None
            cursor = replace(cursor, checked=True, offset=0)
            cursor = replace(cursor, cap=None if value in (None, "") else filter_value(value))
        if cursor.cap is not None:
            filters.append(self._on(self.before, cursor.cap))
        elif not cursor.whole and cursor.bound is None:
            filters.append(self._on("HAS_PROPERTY"))  # the empty values come in their own stage
        return self._paged(self._search(filters, sorts, want, cursor.offset), cursor)

    def _paged(self, page, cursor: Cursor):
        results = page["results"]
        if cursor.cap is not None:
            done = Cursor(TIES, cursor.bound, cap=cursor.cap)
        else:
            done = None if cursor.whole else Cursor(EMPTY)
        more = bool(page.get("next_after"))
        found = []
        for index, record in enumerate(results):
            following = replace(cursor, offset=cursor.offset + index + 1)
            found.append((record, following if more or index + 1 < len(results) else done))
        return found, done

    def _by_id(self, cursor: Cursor, want: int):
        if cursor.stage == TIES:
            filters = [self._on("EQ", cursor.cap)]
            done = Cursor(VALUES, bound=cursor.cap)
        else:
            filters = [self._on("NOT_HAS_PROPERTY")]
            done = None
        if cursor.last_id:
            filters.append({"propertyName": ID, "operator": "GT", "value": cursor.last_id})
        page = self._search(filters, BY_ID, want)
        results, more = page["results"], bool(page.get("next_after"))
        found = []
        for index, record in enumerate(results):
            following = replace(cursor, last_id=str(record["id"]))
            found.append((record, following if more or index + 1 < len(results) else done))
        return found, done

    # --- what the list and the export call -----------------------------------------------------
    def page(self, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """A page of `limit` records from `after`, and the next page's cursor (None: the last)."""
        cursor: Cursor | None = decode(after)
        found: list[dict] = []
        while cursor is not None and len(found) < limit:
            chunk = self.step(cursor, limit - len(found))
            if not chunk:
                cursor = None
                break
            found.extend(record for record, _ in chunk)
            cursor = chunk[-1][1]
        if cursor is not None and fresh(cursor) and not self.step(cursor, 1):
            cursor = None  # the page ended with a stage, and the stages after it are empty
        return found, encode(cursor) if found else None

    def all(self, page_size: int) -> Iterator[dict]:
        """Every record, in order, each once."""
        cursor: Cursor | None = Cursor()
        while cursor is not None:
            chunk = self.step(cursor, page_size)
            if not chunk:
                return
            yield from (record for record, _ in chunk)
            cursor = chunk[-1][1]
