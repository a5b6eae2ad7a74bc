"""HubSpot's CRM imports API: a multipart upload, its state over a few polls, its row errors.

`POST /crm/imports/{v}` takes `importRequest` (JSON) and `files` (the CSV) as multipart/form-data
and answers the import (`PublicImportResponse`, state STARTED). Each `GET /crm/imports/{v}/{id}`
then processes a share of the rows (PROCESSING) until all are in (DONE after `polls_to_done`
polls); the rows are upserted by email into the fake's own contact store, with its validation
rules, so they show up in `fake.objects("contacts")` like any other write. A row HubSpot would
refuse (no email, an invalid one, a bad value) is kept as a `PublicImportError` with its line
number, served by `GET /crm/imports/{v}/{id}/errors`, paged by `after`. Every answer has the
shape of the SDK's `hubspot.crm.imports` models.

Shapes from HubSpot's imports reference and the SDK's models; two details are [unverified]
there and chosen here: `sourceData.lineNumber` counts the file's lines with the header as line 1,
and `metadata.counters` carries ERRORS (rows refused so far) beside CREATED_OBJECTS and
UPDATED_OBJECTS while the import runs.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import threading

from .common import _EMAIL, ApiError, invalid, iso, now_ms, q1

IMPORT_SCOPE = "crm.import"
CONTACT_TYPE_ID = "0-1"
MAX_ERRORS_PAGE = 1000


def parse_multipart(raw: bytes) -> dict:
    """{name: (filename, bytes)} of a multipart/form-data body; the boundary is its first line."""
    first, _, _ = raw.partition(b"\r\n")
    if not first.startswith(b"--") or len(first) < 3:
        raise invalid("The request must be multipart/form-data with importRequest and files parts")
    delimiter = b"\r\n" + first
    parts = {}
    for chunk in (b"\r\n" + raw).split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        disposition = next(
            (
                line.decode("utf-8", "replace")
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition")
            ),
            "",
        )
        fields = dict(
            (key.strip(), value.strip().strip('"'))
            for key, _, value in (item.partition("=") for item in disposition.split(";")[1:])
        )
        if "name" in fields:
            parts[fields["name"]] = (fields.get("filename"), content)
    return parts


def _records(reader):
    """(first line, cells) of each non-blank record after the header (as `next(reader)` left
    it), the header counting as line 1; a quoted cell may span lines."""
    end = reader.line_num
    for cells in reader:
        start, end = end + 1, reader.line_num
        if any(cell.strip() for cell in cells):
            yield start, cells


class FakeImport:
    def __init__(self, import_id, request, file_name, text, polls_to_done):
        self.id = import_id
        self.request = request
        self.file_name = file_name
        self.created = self.updated = now_ms()
        self.state = "STARTED"
        self.columns = [
            None if m.get("ignored") else m.get("propertyName") for m in self._mappings()
        ]
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            raise ApiError(400, "The file is empty", "VALIDATION_ERROR")
        if len(header) != len(self.columns):
            raise ApiError(
                400,
                f"The file has {len(header)} columns but columnMappings maps {len(self.columns)}",
                "VALIDATION_ERROR",
            )
        self._rows = _records(reader)
        counting = csv.reader(io.StringIO(text))
        next(counting, None)
        self.total = sum(1 for _ in _records(counting))
        self.per_poll = max(1, -(-self.total // max(1, polls_to_done)))
        self.done_rows = 0
        self.created_count = self.updated_count = 0
        self.errors = []

    def _mappings(self):
        page = (self.request.get("files") or [{}])[0].get("fileImportPage") or {}
        return page.get("columnMappings") or []

    def advance(self, state):
        """One poll's worth of rows (all that are left on the last poll)."""
        if self.state in ("DONE", "FAILED", "CANCELED"):
            return
        for line, cells in itertools.islice(self._rows, self.per_poll):
            self.done_rows += 1
            self._apply(state, line, cells)
        self.state = "DONE" if self.done_rows >= self.total else "PROCESSING"
        self.updated = now_ms()

    def _apply(self, state, line, cells):
        props = {
            name: cells[i].strip()
            for i, name in enumerate(self.columns)
            if name and i < len(cells) and cells[i].strip()
        }
        email = props.get("email", "").lower()
        if not email or not _EMAIL.match(email):
            message = "The email address is missing" if not email else f"{email} is invalid"
            return self._error(line, cells, "INVALID_EMAIL", message, email)
        props["email"] = email
        with state.lock:
            try:
                results, errors = state._batch_upsert(
                    "contacts", [{"id": email, "idProperty": "email", "properties": props}], {}
                )
            except ApiError as err:
                return self._error(line, cells, "FAILED_VALIDATION", err.body["message"], "")
        if errors:
            return self._error(line, cells, "FAILED_VALIDATION", errors[0]["message"], "")
        if results[0]["new"]:
            self.created_count += 1
        else:
            self.updated_count += 1

    def _error(self, line, cells, error_type, message, value):
        self.errors.append(
            {
                "id": str(len(self.errors) + 1),
                "createdAt": now_ms(),
                "objectType": "CONTACT",
                "objectTypeId": CONTACT_TYPE_ID,
                "errorType": error_type,
                "errorMessage": message,
                "invalidValue": value,
                "sourceData": {
                    "rowData": list(cells),
                    "containsEncryptedProperties": False,
                    "lineNumber": line,
                    "fileId": 3_579_000 + int(self.id),
                },
            }
        )

    def as_json(self):
        return {
            "id": str(self.id),
            "state": self.state,
            "importName": str(self.request.get("name") or ""),
            "importSource": "API",
            "createdAt": iso(self.created),
            "updatedAt": iso(self.updated),
            "optOutImport": False,
            "mappedObjectTypeIds": [CONTACT_TYPE_ID],
            "importRequestJson": self.request,
            "metadata": {
                "counters": {
                    "TOTAL_ROWS": self.total,
                    "CREATED_OBJECTS": self.created_count,
                    "UPDATED_OBJECTS": self.updated_count,
                    "UNIQUE_OBJECTS_WRITTEN": self.created_count + self.updated_count,
                    "ERRORS": len(self.errors),
                },
                "fileIds": [str(3_579_000 + int(self.id))],
                "objectLists": [],
            },
        }


class FakeImports:
    """The account's imports. `polls_to_done`: status polls an import takes to finish."""

    def __init__(self, fake):
        self.fake = fake
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.imports = {}
            self.polls_to_done = 3
            self._next_id = 1471

    def start(self, body):
        parts = body if isinstance(body, dict) else {}
        if "importRequest" not in parts or "files" not in parts:
            raise invalid("The request must carry an importRequest part and a files part")
        try:
            request = json.loads(parts["importRequest"][1].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise invalid("importRequest is not valid JSON") from None
        files = request.get("files") if isinstance(request, dict) else None
        if not isinstance(files, list) or len(files) != 1:
            raise invalid("importRequest.files must describe the one uploaded file")
        described, (file_name, content) = files[0], parts["files"]
        if described.get("fileName") != file_name:
            raise invalid(f"No uploaded file is named {described.get('fileName')!r}")
        if described.get("fileFormat") != "CSV":
            raise invalid("fileFormat must be CSV or SPREADSHEET")
        mappings = (described.get("fileImportPage") or {}).get("columnMappings") or []
        if any(m.get("columnObjectTypeId") != CONTACT_TYPE_ID for m in mappings):
            raise invalid("This fake imports contacts only (columnObjectTypeId 0-1)")
        if not any(
            m.get("propertyName") == "email" and m.get("idColumnType") == "HUBSPOT_ALTERNATE_ID"
            for m in mappings
        ):
            raise invalid("Map the email column with idColumnType HUBSPOT_ALTERNATE_ID")
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiError(400, "The file is not UTF-8 text", "VALIDATION_ERROR") from None
        with self.lock:
            import_id = self._next_id
            self._next_id += 1
            record = FakeImport(import_id, request, file_name, text, self.polls_to_done)
            self.imports[str(import_id)] = record
            return 200, record.as_json()

    def _get(self, import_id):
        record = self.imports.get(str(import_id))
        if record is None:
            raise ApiError(404, f"Import {import_id} not found", "OBJECT_NOT_FOUND")
        return record

    def status(self, import_id):
        with self.lock:
            record = self._get(import_id)
            record.advance(self.fake.state)
            return 200, record.as_json()

    def errors(self, import_id, query):
        with self.lock:
            record = self._get(import_id)
            try:
                offset = int(q1(query, "after", "0") or 0)
                limit = max(1, min(int(q1(query, "limit", "100") or 100), MAX_ERRORS_PAGE))
            except ValueError:
                raise invalid("after and limit must be integers") from None
            rows = record.errors[offset : offset + limit]
            out = {"results": rows}
            if offset + limit < len(record.errors):
                after = str(offset + limit)
                link = f"{self.fake.url}/crm/imports/2026-09/{import_id}/errors?after={after}"
                out["paging"] = {"next": {"after": after, "link": link}}
            return 200, out

    def listing(self, query):
        with self.lock:
            rows = [r.as_json() for r in sorted(self.imports.values(), key=lambda r: -r.id)]
        return 200, {"results": rows[: int(q1(query, "limit", "10") or 10)]}


def register_routes(table):
    from .server import VERSION, fixed_scopes, route

    scopes = fixed_scopes(IMPORT_SCOPE)
    upload = route(
        "POST", f"/crm/imports/{VERSION}", lambda f, c: _imports(f).start(c.body), scopes
    )
    upload.parse = parse_multipart  # server.py hands the handler the parts, not JSON
    table.extend(
        [
            upload,
            route(
                "GET", f"/crm/imports/{VERSION}", lambda f, c: _imports(f).listing(c.query), scopes
            ),
            route(
                "GET",
                f"/crm/imports/{VERSION}/(?P<import_id>[^/]+)",
                lambda f, c: _imports(f).status(c.params["import_id"]),
                scopes,
            ),
            route(
                "GET",
                f"/crm/imports/{VERSION}/(?P<import_id>[^/]+)/errors",
                lambda f, c: _imports(f).errors(c.params["import_id"], c.query),
                scopes,
            ),
        ]
    )


def _imports(fake):
    with fake._lock:
        if getattr(fake, "imports", None) is None:
            fake.imports = FakeImports(fake)
        return fake.imports


def reset(fake):
    _imports(fake).reset()
