"""What every part of the fake shares: object types, HubSpot's error shapes, query parsing, records.

The fake's `State` (state.py) is assembled from one mixin per resource (records, objects, search,
batch, associations, schema, marketing); this module holds what they all use.
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import functools
import json
import re
import time
import uuid

OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "tickets": "0-5"}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "tickets": "ticket"}
_ALIASES = {
    **{name: name for name in OBJECT_TYPE_IDS},
    **{type_id: name for name, type_id in OBJECT_TYPE_IDS.items()},
    **{single: name for name, single in SINGULAR.items()},
}

# HubSpot's own property names differ per type: contacts keep the legacy "lastmodifieddate".
MODIFIED = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "tickets": "hs_lastmodifieddate",
}
# What a read returns when the caller names no properties (as HubSpot does).
DEFAULT_PROPERTIES = {
    "contacts": {
        "createdate",
        "email",
        "firstname",
        "lastname",
        "hs_object_id",
        "lastmodifieddate",
    },
    "companies": {"createdate", "domain", "name", "hs_object_id", "hs_lastmodifieddate"},
    "deals": {
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "pipeline",
        "hs_object_id",
        "hs_lastmodifieddate",
    },
    "tickets": {
        "content",
        "createdate",
        "subject",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
        "hs_object_id",
        "hs_lastmodifieddate",
    },
}
# Free-text `query` in a search looks at these.
SEARCHABLE = {
    "contacts": ("email", "firstname", "lastname", "company", "phone"),
    "companies": ("name", "domain"),
    "deals": ("dealname",),
    "tickets": ("subject", "content"),
}
# HubSpot-defined association types: id -> (from type, to type, v3 name, v4 label).
ASSOCIATION_TYPES = {
    1: ("contacts", "companies", "contact_to_company", "Primary"),
    2: ("companies", "contacts", "company_to_contact", "Primary"),
    279: ("contacts", "companies", "contact_to_company_unlabeled", None),
    280: ("companies", "contacts", "company_to_contact_unlabeled", None),
    3: ("deals", "contacts", "deal_to_contact", None),
    4: ("contacts", "deals", "contact_to_deal", None),
    5: ("deals", "companies", "deal_to_company", "Primary"),
    6: ("companies", "deals", "company_to_deal", "Primary"),
    341: ("deals", "companies", "deal_to_company_unlabeled", None),
    342: ("companies", "deals", "company_to_deal_unlabeled", None),
    15: ("contacts", "tickets", "contact_to_ticket", None),
    16: ("tickets", "contacts", "ticket_to_contact", None),
    25: ("companies", "tickets", "company_to_ticket", "Primary"),
    26: ("tickets", "companies", "ticket_to_company", "Primary"),
    339: ("tickets", "companies", "ticket_to_company_unlabeled", None),
    340: ("companies", "tickets", "company_to_ticket_unlabeled", None),
    27: ("deals", "tickets", "deal_to_ticket", None),
    28: ("tickets", "deals", "ticket_to_deal", None),
}
_INVERSE_PAIRS = [(1, 2), (279, 280), (3, 4), (5, 6), (341, 342), (15, 16), (25, 26)]
_INVERSE_PAIRS += [(339, 340), (27, 28)]
INVERSE = {a: b for a, b in _INVERSE_PAIRS} | {b: a for a, b in _INVERSE_PAIRS}
# A primary association always comes with the unlabeled one, as in HubSpot.
_IMPLIED = {1: 279, 2: 280, 5: 341, 6: 342, 25: 340, 26: 339}
DEFAULT_ASSOCIATION = {
    (frm, to): type_id
    for type_id, (frm, to, _name, label) in ASSOCIATION_TYPES.items()
    if label is None
}

MAX_BATCH = 100
MAX_SEARCH_LIMIT = 200
MAX_SEARCH_RESULTS = 10_000
MAX_LIST_LIMIT = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def object_type(name):
    """'contacts', 'contact' and '0-1' all name the same type; None if unknown."""
    return _ALIASES.get(str(name or "").lower())


# --- time -------------------------------------------------------------------------------------


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    """HubSpot's timestamp format: ISO-8601, milliseconds, Z."""
    seconds, millis = divmod(int(ms), 1000)
    stamp = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis:03d}Z"


def parse_ms(value):
    """Epoch milliseconds from '1700000000000', '2024-01-02' or an ISO datetime; None if neither."""
    return _parse_ms_text(str(value).strip())


# A search sorts or filters every record by its dates on each call: parsed once per text, a
# search over tens of thousands of records costs milliseconds instead of half a second.
@functools.lru_cache(maxsize=262_144)
def _parse_ms_text(text):
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return round(parsed.timestamp() * 1000)


# --- errors -----------------------------------------------------------------------------------


def error_body(message, category=None, **extra):
    """HubSpot's error JSON; every one carries a fresh correlationId, as HubSpot's do."""
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4())}
    if category:
        body["category"] = category
    body.update(extra)
    return body


class ApiError(Exception):
    """A non-success answer; raised anywhere below the router and sent as HubSpot's error JSON."""

    def __init__(self, status, message, category=None, headers=None, body=None, **extra):
        super().__init__(f"{status} {message}")
        self.status = status
        self.body = body if body is not None else error_body(message, category, **extra)
        self.headers = headers or {}


def not_found():
    return ApiError(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")


def invalid(message, **extra):
    return ApiError(400, message, "VALIDATION_ERROR", **extra)


def _problem(name, message, code):
    return {"isValid": False, "message": message, "error": code, "name": name}


def invalid_properties(problems):
    listing = json.dumps(problems, separators=(",", ":"))
    errors = [
        {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
        for p in problems
    ]
    return invalid(f"Property values were not valid: {listing}", errors=errors)


def _json_kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array"}.get(type(value), type(value).__name__)


# --- query helpers ----------------------------------------------------------------------------


def q1(query, name, default=None):
    values = query.get(name)
    return values[0] if values else default


def qlist(query, name):
    """Both `properties=a,b` and `properties=a&properties=b` (the SDK sends the latter)."""
    return [part for value in query.get(name, []) for part in value.split(",") if part]


def _int(value, default, name, low, high):
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"{name} must be an integer, got {value!r}") from None
    if not low <= number <= high:
        raise invalid(f"{name} must be between {low} and {high}, got {number}")
    return number


def _obj(body, what="request body"):
    if not isinstance(body, dict):
        raise invalid(f"The {what} must be a JSON object")
    return body


class Record:
    __slots__ = ("type", "id", "props", "created", "updated", "archived_at")

    def __init__(self, object_type_, object_id, props, created):
        self.type = object_type_
        self.id = object_id
        self.props = props
        self.created = created
        self.updated = created
        self.archived_at = None


def _batch_error(category, message, context, **extra):
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
        **extra,
    }


def _inputs(body, limit=None):
    """A batch body's `inputs`: a list of objects, at most `limit` of them."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise invalid("`inputs` must be a list")
    if limit is not None and len(inputs) > limit:
        raise invalid(
            f"Too many inputs: {len(inputs)}. A batch takes at most {limit}.",
            context={"maxInputs": [str(limit)]},
        )
    if not all(isinstance(item, dict) for item in inputs):
        raise invalid("Each input must be a JSON object")
    return inputs


def _input_id(item, side):
    """The id of a batch association input's `from` or `to` ({"id": "123"})."""
    value = item.get(side)
    object_id = value.get("id") if isinstance(value, dict) else None
    if object_id in (None, ""):
        raise invalid(f"Each input needs `{side}.id`")
    return str(object_id)


def _labels_between(otype, from_id, to, to_id, labels):
    # IDs are strings here, as in HubSpot's specs and the SDK's LabelsBetweenObjectPair.
    return {
        "fromObjectTypeId": OBJECT_TYPE_IDS[otype],
        "fromObjectId": str(from_id),
        "toObjectTypeId": OBJECT_TYPE_IDS[to],
        "toObjectId": str(to_id),
        "labels": labels,
    }


def _default_result(from_id, to_id, type_id):
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}
    return {"from": {"id": from_id}, "to": {"id": to_id}, "associationSpec": spec}


def _error_from(err):
    body = err.body
    return _batch_error(
        body.get("category", "VALIDATION_ERROR"), body["message"], body.get("context", {})
    )


def _form_error(field, message, error_type):
    return {"message": f"Error in 'fields.{field}'. {message}", "errorType": error_type}


def _page(rows, offset, limit):
    out = {"results": copy.deepcopy(rows[offset : offset + limit])}
    if len(rows) > offset + limit:
        out["paging"] = {"next": {"after": str(offset + limit)}}
    return out


def _operand(spec, field):
    value = spec.get(field)
    if value is None:
        raise invalid(f"Filter on {spec.get('propertyName')} needs `{field}`")
    return value


def _sort_key(kind):
    """Turns a stored string into something that orders the way HubSpot orders that type."""
    if kind == "number":
        return float
    if kind in ("datetime", "date"):

        def to_ms(text):
            ms = parse_ms(text)
            if ms is None:
                raise ValueError(text)
            return ms

        return to_ms
    return lambda text: str(text).lower()


def _operand_key(key, value, name):
    try:
        return key(str(value))
    except ValueError:
        raise invalid(f"Filter value {value!r} does not fit property {name}") from None


def _record_key(key, value):
    if value in (None, ""):
        return None
    try:
        return key(value)
    except ValueError:
        return None


def _compare(key, value, test):
    found = _record_key(key, value)
    return found is not None and test(found)


def _token_match(value, pattern):
    if not value:
        return False
    text = str(value).lower()
    tokens = {text, *re.split(r"[\s@,;]+", text), *re.split(r"[^0-9a-z]+", text)}
    if "*" in pattern:
        return any(fnmatch.fnmatchcase(token, pattern) for token in tokens)
    return pattern in tokens
