"""CSV export of an object type's records, streamed as HubSpot is read.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to a
spreadsheet (OWASP's "CSV injection"): such a cell is prefixed with `'` so it opens as text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import errors
from .types import ObjectType

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file that hands each written line back, for csv.writer to stream through."""

    def write(self, value):
        return value


def columns(object_type: ObjectType) -> list[tuple[str, str]]:
    """(property, heading): the type's editable and read properties, then its ID.

    The headings stay English whatever the language: the file goes back in through the
    contact import, whose header names are English."""
    with translation.override(None):
        labels = {p.name: str(p.label) for p in object_type.properties}
    labels.setdefault("createdate", "Created")
    names = [*labels, *(n for n in object_type.list_properties if n not in labels)]
    return [("id", "ID"), *((n, labels.get(n, n)) for n in names)]


def rows(object_type: ObjectType, records: Iterable[dict]) -> Iterator[list[str]]:
    heads = columns(object_type)
    yield [heading for _, heading in heads]
    try:
        for record in records:
            props = record.get("properties") or {}
            yield [inert(record["id"] if name == "id" else props.get(name)) for name, _ in heads]
    except errors.HubSpotError as err:
        # The answer has started: the file itself must say it is incomplete.
        yield [
            inert(_("Export incomplete: HubSpot stopped answering (%(error)s)") % {"error": err})
        ]


def filename(object_type: ObjectType) -> str:
    return f"hubspot-{object_type.name}-{timezone.localdate():%Y-%m-%d}.csv"


def response(object_type: ObjectType, records: Iterable[dict]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    streamed = StreamingHttpResponse(
        (writer.writerow(row) for row in rows(object_type, records)),
        content_type="text/csv; charset=utf-8",
    )
    streamed["Content-Disposition"] = f'attachment; filename="{filename(object_type)}"'
    streamed["Cache-Control"] = "no-store"  # one user's export: never kept by a proxy
    return streamed
