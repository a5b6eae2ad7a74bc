"""Reading a contacts CSV as a stream: header mapping, row validation, line numbers.

Nothing here holds more than one row at a time, so memory does not grow with the file, and no
line is read past `HUBSPOT_IMPORT_MAX_LINE_BYTES` (a file with no line breaks is not a CSV). Every
file-level problem (not text, not CSV, no email column, a line too long) is raised as
`ImportFileError` with a message a person can act on; row-level problems are yielded as rejected
rows with their line.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..conf import app_settings
from ..contacts.service import normalize

# Header spellings seen in exports from spreadsheets and other CRMs, after lower-casing and
# dropping spaces, underscores and hyphens.
HEADER_ALIASES = {
    "email": "email",
    "emailaddress": "email",
    "firstname": "firstname",
    "givenname": "firstname",
    "lastname": "lastname",
    "surname": "lastname",
    "familyname": "lastname",
    "company": "company",
    "companyname": "company",
    "organization": "company",
    "phone": "phone",
    "phonenumber": "phone",
    "telephone": "phone",
}
DELIMITERS = ",;\t"
HEADER_EXAMPLE = "email,firstname,lastname,company,phone"


class ImportFileError(errors.PanelError):
    """The file as a whole cannot be imported; the message says why, for a person."""

    kind = "import_file"
    status_code = 400
    caller_fault = True
    default_message = gettext_lazy("The file cannot be imported.")


@dataclass
class Header:
    columns: dict[int, str]  # column index -> HubSpot property
    ignored: list[str]
    delimiter: str
    line: int  # the line the header was found on
    names: list[str] = dataclasses.field(default_factory=list)  # every column's name, in file order


@dataclass
class Row:
    line: int
    properties: dict | None = None
    reason: str = ""  # set when the row is rejected

    @property
    def rejected(self) -> bool:
        return self.properties is None


def max_line_bytes() -> int:
    return app_settings.IMPORT_MAX_LINE_BYTES


def _line_too_long(line: int, limit: int) -> ImportFileError:
    values = {
        "line": line,
        "limit": number_format(limit, force_grouping=True),
        "example": HEADER_EXAMPLE,
    }
    if line <= 1:
        text = _(
            "The first line is longer than %(limit)s bytes; is this a CSV? A contacts CSV has one "
            "short line per contact, the first naming the columns, e.g. %(example)s."
        )
    else:
        text = _(
            "Line %(line)s is longer than %(limit)s bytes; is this a CSV? A contacts CSV has one "
            "short line per contact, the first naming the columns, e.g. %(example)s."
        )
    return ImportFileError(text % values)


def _read_line(stream, number: int, limit: int) -> str:
    """One line, read no further than just past the limit (a 10 MB line is never held whole)."""
    # limit + 2 characters hold a line of `limit` characters and its "\r\n"; anything longer
    # has more than `limit` characters, so more than `limit` bytes.
    line = stream.readline(limit + 2)
    if len(line.rstrip("\r\n").encode("utf-8")) > limit:
        raise _line_too_long(number, limit)
    return line


def _lines(stream, offset: int, limit: int) -> Iterator[str]:
    number = offset
    while line := _read_line(stream, number + 1, limit):
        number += 1
        yield line


def header_key(name: str) -> str:
    return "".join(ch for ch in name.strip().lower() if ch not in " _-.\ufeff")


@contextmanager
def open_text(source):
    """A text stream over a path, a Django FieldFile or a binary file object, decoded lazily.

    `utf-8-sig` drops the byte-order mark Excel writes; decoding is strict so a binary file is
    refused instead of imported as mojibake.
    """
    if isinstance(source, str | Path):
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as err:
            raise ImportFileError(
                _("Cannot open %(file)s: %(error)s.")
                % {"file": source, "error": err.strerror or err}
            ) from None
    elif hasattr(source, "storage") and hasattr(source, "name"):  # FieldFile
        handle = source.storage.open(source.name, "rb")
    else:
        handle = source
        handle.seek(0)
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="", errors="strict")
    try:
        yield text
    finally:
        if handle is source:
            text.detach()  # the caller owns its file object
        else:
            text.close()


def _guess_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _records(stream, delimiter: str, offset: int, limit: int) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, cells) for every non-blank record, with readable errors.
    `offset` is the number of lines already read (the header).
    """
    reader = csv.reader(_lines(stream, offset, limit), delimiter=delimiter)
    previous_end = offset
    try:
        for cells in reader:
            start = previous_end + 1
            previous_end = offset + reader.line_num
            if any(cell.strip() for cell in cells):
                yield start, cells
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "The file is not a CSV text file (not UTF-8 text near line %(line)s). "
                "Save it from your spreadsheet as “CSV UTF-8”."
            )
            % {"line": previous_end + 1}
        ) from None
    except csv.Error as err:
        raise ImportFileError(
            _("The file is not valid CSV (line %(line)s: %(error)s).")
            % {"line": offset + reader.line_num, "error": err}
        ) from None


def read_header(stream) -> tuple[Header, Iterator[tuple[int, list[str]]]]:
    """The header (the first non-blank line) and an iterator over the records after it."""
    limit = max_line_bytes()
    line = 0
    try:
        first = _read_line(stream, 1, limit)
        line += 1
        while first and not first.strip():
            first = _read_line(stream, line + 1, limit)
            line += 1
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "The file is not a CSV text file (it is not UTF-8 text). "
                "Save it from your spreadsheet as “CSV UTF-8”."
            )
        ) from None
    if "\x00" in first:
        raise ImportFileError(_("The file is not a CSV text file (it contains binary data)."))
    if not first.strip():
        raise ImportFileError(
            _("The file is empty: its first line must be %(example)s.")
            % {"example": HEADER_EXAMPLE}
        )
    delimiter = _guess_delimiter(first)
    try:
        names = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as err:
        raise ImportFileError(
            _("The first line is not valid CSV (%(error)s).") % {"error": err}
        ) from None
    columns: dict[int, str] = {}
    ignored = []
    for index, name in enumerate(names):
        prop = HEADER_ALIASES.get(header_key(name))
        if prop and prop not in columns.values():
            columns[index] = prop
        elif name.strip():
            ignored.append(name.strip())
    if "email" not in columns.values():
        shown = ", ".join(n.strip() for n in names if n.strip())[:200] or _("nothing")
        raise ImportFileError(
            _(
                "The file has no email column (its first line names: %(names)s). "
                "The first line must name the columns, e.g. %(example)s."
            )
            % {"names": shown, "example": HEADER_EXAMPLE}
        )
    header = Header(
        columns=columns, ignored=ignored, delimiter=delimiter, line=line, names=list(names)
    )
    return header, _records(stream, delimiter, line, limit)


def describe(error: ValidationError, data: dict) -> str:
    """`email 'x' is not a valid email address`: the field first, as a person reads it.
    `data`: the row's cells; an email absent from them is named missing (told by the cells, not
    by the words of the service's message, which may be in any language)."""
    parts = []
    for field, messages in error.message_dict.items():
        for message in messages:
            message = message.rstrip(".")
            if field == "email" and not data.get("email"):
                parts.append(_("email is missing"))
            elif message.startswith("'"):
                parts.append(f"{field} {message}")
            else:
                parts.append(f"{field}: {message[:1].lower()}{message[1:]}")
    return "; ".join(parts)


def rows(header: Header, records) -> Iterator[Row]:
    """Validated rows. Blank cells are left out, so an import never wipes a value in HubSpot."""
    for line, cells in records:
        data = {}
        for index, prop in header.columns.items():
            value = cells[index].strip() if index < len(cells) else ""
            if value:
                data[prop] = value
        try:
            yield Row(line, properties=normalize(data))
        except ValidationError as err:
            yield Row(line, reason=describe(err, data))


def count_rows(source) -> int:
    """Data rows in the file: one streaming pass, which also finds every file-level problem
    before a single contact is sent."""
    with open_text(source) as stream:
        _header, records = read_header(stream)
        return sum(1 for _ in records)


def check_file(upload, *, sniff_bytes: int = 64 * 1024) -> Header:
    """Check an upload's header and first rows before it is stored (the admin form)."""
    limit = max_line_bytes()
    sniff_bytes = max(sniff_bytes, limit + 8)  # enough to see where a first line of `limit` ends
    upload.seek(0)
    head = upload.read(sniff_bytes)
    upload.seek(0)
    if b"\x00" in head:
        raise ImportFileError(_("The file is not a CSV text file (it contains binary data)."))
    # An incremental decoder keeps a character cut at the sniff boundary for later instead of
    # calling it invalid; real garbage still raises.
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=len(head) < sniff_bytes)
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "The file is not a CSV text file (it is not UTF-8 text). "
                "Save it from your spreadsheet as “CSV UTF-8”."
            )
        ) from None
    if len(head) == sniff_bytes and "\n" not in text and "\r" not in text:
        raise _line_too_long(1, limit)
    if len(head) == sniff_bytes and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # the last line may be cut short: leave it out
    header, _records = read_header(io.StringIO(text))
    return header
