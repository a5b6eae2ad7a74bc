"""The fake account's data and HubSpot's rules over it.

CRM records, their properties, associations, pipelines, owners, forms, and the searches over them.
Every public method takes the one lock, so HTTP threads and a test seeding directly never see a
half-applied write. Methods answer ``(status, json_body)`` or raise :class:`ApiError`; the server
turns either into an HTTP answer.

The rules are deliberately strict where HubSpot is (unknown properties, enumeration options,
pipeline stages, unique emails) and a little stricter where strictness catches client bugs
(property values must be JSON strings).
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import json
import re
import secrets
import threading
import time
import uuid

from . import seed

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
    text = str(value).strip()
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


class State:
    def __init__(self):
        self.lock = threading.RLock()
        self.base_url = ""
        self.reset()

    def reset(self):
        with self.lock:
            self._next_id = 101
            self._last_created = 0  # creation times move forward, one ms at least
            self.records = {name: {} for name in OBJECT_TYPE_IDS}  # id -> Record, in id order
            self.emails = {}  # lower-cased email -> live contact id
            self.links = {}  # (type, id) -> {to type: {to id: set of association type ids}}
            self.properties = seed.default_properties()
            self.pipelines = {"tickets": seed.ticket_pipelines(), "deals": seed.deal_pipelines()}
            self.owners = seed.owners()
            self.forms = seed.forms()
            self.form_submissions = []
            self.identification_tokens = []
            # Seconds a new record stays invisible to search, like HubSpot's lagging index.
            self.search_delay = 0.0

    # --- direct access for tests ---------------------------------------------------------------

    def _type(self, name):
        found = object_type(name)
        if found is None:
            raise invalid(f"Unable to infer object type from: {name}")
        return found

    def count(self, name, include_archived=False):
        with self.lock:
            records = self.records[self._type(name)].values()
            return sum(1 for r in records if include_archived or not r.archived_at)

    def live_ids(self, name):
        with self.lock:
            return [r.id for r in self.records[self._type(name)].values() if not r.archived_at]

    def dump(self, name):
        """Every live record of a type with all its stored properties and associations."""
        with self.lock:
            otype = self._type(name)
            return [
                self._present(r, set(r.props), OBJECT_TYPE_IDS)
                for r in self.records[otype].values()
                if not r.archived_at
            ]

    def create_object(self, name, properties, associations=None):
        """Seeds one record through the same validation as the API (raises ApiError)."""
        with self.lock:
            otype = self._type(name)
            values = dict(properties)
            if otype == "tickets":
                # Seeding convenience: a ticket without a pipeline lands in the first one.
                pipeline = self.pipelines["tickets"][0]
                values.setdefault("hs_pipeline", pipeline["id"])
                values.setdefault("hs_pipeline_stage", pipeline["stages"][0]["id"])
            body = {"properties": values, "associations": self._shorthand(otype, associations)}
            created = self.create(otype, body)[1]
            return self.dump_one(otype, created["id"])

    def _shorthand(self, otype, associations):
        # {"contacts": ["101"]} -> the API's association list, using the default type.
        if not isinstance(associations, dict):
            return associations or []
        return [
            {
                "to": {"id": str(to_id)},
                "types": [
                    {
                        "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": DEFAULT_ASSOCIATION[(otype, self._type(to))],
                    }
                ],
            }
            for to, ids in associations.items()
            for to_id in ids
        ]

    def dump_one(self, otype, object_id):
        with self.lock:
            rec = self.records[otype][object_id]
            return self._present(rec, set(rec.props), OBJECT_TYPE_IDS)

    def bulk_insert(self, name, rows, links=()):
        """Fast path for seed.py: rows of (properties, created ms), no validation."""
        with self.lock:
            otype = self._type(name)
            ids = [self._insert(otype, dict(props), created).id for props, created in rows]
            for index, to, to_id, type_id in links:
                self._link(otype, ids[index], to, to_id, type_id)
            return ids

    def define_property(self, name, prop_name, type="string", options=None, **kwargs):
        with self.lock:
            otype = self._type(name)
            definition = seed.make_property(prop_name, type, options, **kwargs)
            self.properties[otype][prop_name] = definition
            return copy.deepcopy(definition)

    def delete_property(self, name, prop_name):
        """A property deleted in HubSpot (or a sandbox reset): the definition and every record's
        value of it are gone; writes naming it answer 400 PROPERTY_DOESNT_EXIST again."""
        with self.lock:
            otype = self._type(name)
            removed = self.properties[otype].pop(prop_name, None)
            for rec in self.records[otype].values():
                rec.props.pop(prop_name, None)
            return removed is not None

    def pipeline_list(self, name):
        with self.lock:
            otype = self._type(name)
            if otype not in self.pipelines:
                raise invalid(f"Object type {otype} does not support pipelines")
            return copy.deepcopy(self.pipelines[otype])

    def set_pipelines(self, name, pipelines):
        with self.lock:
            otype = self._type(name)
            self.pipelines[otype] = [
                seed.make_pipeline(
                    str(p["id"]),
                    p.get("label", str(p["id"])),
                    p.get("displayOrder", order),
                    [self._full_stage(otype, s, i) for i, s in enumerate(p.get("stages", []))],
                )
                for order, p in enumerate(pipelines)
            ]

    @staticmethod
    def _full_stage(otype, stage, order):
        default = {"ticketState": "OPEN"} if otype == "tickets" else {"probability": "0.5"}
        full = {
            "label": str(stage["id"]),
            "displayOrder": order,
            "archived": False,
            "metadata": default,
            "createdAt": seed.FIXED_TIME,
            "updatedAt": seed.FIXED_TIME,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        }
        full.update(stage)
        full["id"] = str(stage["id"])
        return full

    # --- records ---------------------------------------------------------------------------------

    def _insert(self, otype, values, created):
        oid = str(self._next_id)
        self._next_id += 1
        values.setdefault("createdate", iso(created))
        values["hs_object_id"] = oid
        values[MODIFIED[otype]] = iso(created)
        rec = Record(otype, oid, values, created)
        self.records[otype][oid] = rec
        if otype == "contacts" and values.get("email"):
            self.emails[values["email"]] = oid
        return rec

    def _creation_time(self):
        # Two records created in the same millisecond would tie on createdate, and a sort on it
        # would then depend on luck; HubSpot's creates are never that close.
        self._last_created = max(now_ms(), self._last_created + 1)
        return self._last_created

    def _touch(self, rec, values):
        # updatedAt must move forward even for two writes in the same millisecond.
        rec.updated = max(now_ms(), rec.updated + 1)
        if rec.type == "contacts" and "email" in values:
            old = rec.props.get("email")
            if old and self.emails.get(old) == rec.id:
                del self.emails[old]
            if values["email"]:
                self.emails[values["email"]] = rec.id
        rec.props.update(values)
        rec.props[MODIFIED[rec.type]] = iso(rec.updated)

    def _find(self, otype, key, id_property=None):
        """The live record whose id (or unique id_property) is key, else None."""
        key = str(key)
        if not id_property or id_property == "hs_object_id":
            rec = self.records[otype].get(key)
        elif otype == "contacts" and id_property == "email":
            rec = self.records[otype].get(self.emails.get(key.lower()))
        else:
            definition = self.properties[otype].get(id_property)
            if not definition or not definition.get("hasUniqueValue"):
                raise invalid(f"Property {id_property} is not a unique identifier property")
            rec = next(
                (r for r in self.records[otype].values() if r.props.get(id_property) == key),
                None,
            )
        return rec if rec is not None and not rec.archived_at else None

    def _present(self, rec, names, association_types=()):
        out = {
            "id": rec.id,
            "properties": {name: rec.props.get(name) for name in sorted(names)},
            "createdAt": iso(rec.created),
            "updatedAt": iso(rec.updated),
            "archived": bool(rec.archived_at),
        }
        if rec.archived_at:
            out["archivedAt"] = iso(rec.archived_at)
        associations = {}
        for to in association_types:
            linked = self.links.get((rec.type, rec.id), {}).get(to, {})
            results = [
                {"id": to_id, "type": ASSOCIATION_TYPES[type_id][2]}
                for to_id in sorted(linked, key=int)
                for type_id in sorted(linked[to_id])
            ]
            if results:
                associations[to] = {"results": results}
        if associations:
            out["associations"] = associations
        return out

    def _names(self, otype, asked):
        """Properties a read returns: the defaults, or those asked for plus the system ones."""
        if not asked:
            return set(DEFAULT_PROPERTIES[otype])
        known = self.properties[otype]
        return {n for n in asked if n in known} | {"createdate", "hs_object_id", MODIFIED[otype]}

    # --- validation ------------------------------------------------------------------------------

    def _clean(self, otype, values):
        """Checks each value on its own; answers them normalised or raises one 400 for all."""
        if not isinstance(values, dict):
            raise invalid("properties must be a JSON object of strings")
        definitions = self.properties[otype]
        problems, out = [], {}
        for name, value in values.items():
            definition = definitions.get(name)
            if definition is None:
                problems.append(
                    _problem(name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST")
                )
            elif name in ("hs_object_id", MODIFIED[otype]):
                message = f'"{name}" is a read only property; its value cannot be set.'
                problems.append(_problem(name, message, "READ_ONLY_VALUE"))
            elif value is None:
                out[name] = ""
            elif not isinstance(value, str):
                message = (
                    f'Property "{name}" must be sent as a string, '
                    f"got {_json_kind(value)} {json.dumps(value)}"
                )
                problems.append(_problem(name, message, "INVALID_PROPERTY_VALUE"))
            else:
                normalised, problem = self._check_value(otype, definition, value)
                if problem:
                    problems.append(problem)
                else:
                    out[name] = normalised
        if problems:
            raise invalid_properties(problems)
        return out

    def _check_value(self, otype, definition, value):
        name, kind = definition["name"], definition["type"]
        if value == "":
            return "", None
        if otype == "contacts" and name == "email":
            if not _EMAIL.match(value.strip()):
                return None, _problem(name, f"Email address {value} is invalid", "INVALID_EMAIL")
            return value.strip().lower(), None
        if kind == "number":
            try:
                float(value)
            except ValueError:
                return None, _problem(name, f"{value} is not a valid number", "INVALID_INTEGER")
            return value, None
        if kind in ("datetime", "date"):
            ms = parse_ms(value)
            if ms is None:
                return None, _problem(name, f"{value} is not a valid date", "INVALID_DATE")
            return (iso(ms) if kind == "datetime" else iso(ms)[:10]), None
        if kind == "bool":
            if value not in ("true", "false"):
                return None, _problem(name, f"{value} is not true or false", "INVALID_BOOLEAN")
            return value, None
        if kind == "enumeration":
            if name == "hubspot_owner_id":
                allowed = [o["id"] for o in self.owners]
            else:
                allowed = [o["value"] for o in definition["options"]]
            chosen = value.split(";") if definition["fieldType"] == "checkbox" else [value]
            bad = [v for v in chosen if v not in allowed]
            if bad:
                message = f'"{bad[0]}" was not one of the allowed options: [{", ".join(allowed)}]'
                return None, _problem(name, message, "INVALID_OPTION")
        return value, None

    def _check_record(self, otype, values, rec=None):
        """Rules that span properties or records; raises 400 or 409 for one record."""
        merged = {**(rec.props if rec else {}), **values}
        if otype == "tickets":
            problems = []
            for name in ("subject", "hs_pipeline", "hs_pipeline_stage"):
                if (rec is None or name in values) and not merged.get(name):
                    problems.append(_problem(name, f"{name} is required", "REQUIRED_FIELD"))
            if not problems and (rec is None or {"hs_pipeline", "hs_pipeline_stage"} & set(values)):
                problems += self._stage_problems(
                    "tickets", merged, "hs_pipeline", "hs_pipeline_stage"
                )
            if problems:
                raise invalid_properties(problems)
        elif otype == "deals" and {"pipeline", "dealstage"} & set(values):
            if not merged.get("pipeline"):
                # HubSpot files a deal without a pipeline under the default one.
                values["pipeline"] = merged["pipeline"] = self.pipelines["deals"][0]["id"]
            if merged.get("dealstage"):
                problems = self._stage_problems("deals", merged, "pipeline", "dealstage")
                if problems:
                    raise invalid_properties(problems)
        elif otype == "contacts" and values.get("email"):
            existing = self.emails.get(values["email"])
            if existing and (rec is None or existing != rec.id):
                raise ApiError(409, f"Contact already exists. Existing ID: {existing}", "CONFLICT")
        # Properties with unique values (hasUniqueValue): a second record with the same value is
        # refused with 409, as HubSpot does; this is what makes idempotency keys work.
        for name, value in values.items():
            definition = self.properties[otype].get(name) or {}
            if value and definition.get("hasUniqueValue"):
                clash = next(
                    (
                        r
                        for r in self.records[otype].values()
                        if not r.archived_at and r.props.get(name) == value and r is not rec
                    ),
                    None,
                )
                if clash is not None:
                    raise ApiError(
                        409,
                        f"A {otype[:-1]} with {name}={value} already exists. Existing ID: {clash.id}",
                        "CONFLICT",
                    )

    def _stage_problems(self, otype, merged, pipeline_prop, stage_prop):
        pipelines = {p["id"]: p for p in self.pipelines[otype]}
        pipeline = pipelines.get(merged.get(pipeline_prop))
        if pipeline is None:
            message = f"{merged.get(pipeline_prop)} is not a valid pipeline ID"
            return [_problem(pipeline_prop, message, "INVALID_OPTION")]
        if merged.get(stage_prop) not in {s["id"] for s in pipeline["stages"]}:
            message = (
                f"{merged.get(stage_prop)} is not a valid stage of pipeline {pipeline['id']}; "
                f"valid stages: {', '.join(s['id'] for s in pipeline['stages'])}"
            )
            return [_problem(stage_prop, message, "INVALID_OPTION")]
        return []

    def _after_write(self, rec):
        if rec.type != "tickets" or rec.props.get("closed_date"):
            return
        pipeline = next(
            (p for p in self.pipelines["tickets"] if p["id"] == rec.props.get("hs_pipeline")), None
        )
        stages = {s["id"]: s for s in (pipeline or {}).get("stages", [])}
        stage = stages.get(rec.props.get("hs_pipeline_stage"), {})
        if stage.get("metadata", {}).get("ticketState") == "CLOSED":
            rec.props["closed_date"] = iso(rec.updated)

    # --- associations ----------------------------------------------------------------------------

    def _parse_associations(self, otype, associations):
        """The `associations` list of a create, checked; answers (to type, to id, type id)."""
        if not isinstance(associations, list):
            raise invalid("associations must be a list")
        wanted = []
        for item in associations:
            to_id = str(((item or {}).get("to") or {}).get("id", ""))
            types = (item or {}).get("types") or []
            if not to_id or not types:
                raise invalid("Each association needs `to.id` and at least one type")
            for spec in types:
                type_id = self._association_type(spec, otype)
                to = ASSOCIATION_TYPES[type_id][1]
                if self._find(to, to_id) is None:
                    raise invalid(
                        f"The association target {SINGULAR[to]} {to_id} does not exist",
                        context={"toObjectId": [to_id]},
                    )
                wanted.append((to, to_id, type_id))
        return wanted

    @staticmethod
    def _association_type(spec, otype, to=None):
        spec = spec if isinstance(spec, dict) else {}
        category = spec.get("associationCategory")
        type_id = spec.get("associationTypeId")
        known = ASSOCIATION_TYPES.get(type_id) if isinstance(type_id, int) else None
        # Only HubSpot-defined types exist here; a custom label would need USER_DEFINED ones.
        if (
            category != "HUBSPOT_DEFINED"
            or known is None
            or known[0] != otype
            or (to is not None and known[1] != to)
        ):
            raise invalid(
                f"Association type {category}/{type_id} is not valid from {otype}"
                + (f" to {to}" if to else "")
            )
        return type_id

    def _link(self, otype, oid, to, to_id, type_id):
        for type_ in {type_id, _IMPLIED.get(type_id, type_id)}:
            self.links.setdefault((otype, oid), {}).setdefault(to, {}).setdefault(to_id, set()).add(
                type_
            )
            self.links.setdefault((to, to_id), {}).setdefault(otype, {}).setdefault(oid, set()).add(
                INVERSE[type_]
            )

    def _unlink_all(self, otype, oid):
        for to, targets in self.links.pop((otype, oid), {}).items():
            for to_id in targets:
                self.links.get((to, to_id), {}).get(otype, {}).pop(oid, None)

    # --- CRM object endpoints --------------------------------------------------------------------

    def create(self, name, body):
        with self.lock:
            otype = self._type(name)
            body = _obj(body)
            values = self._clean(otype, body.get("properties") or {})
            self._check_record(otype, values)
            links = self._parse_associations(otype, body.get("associations") or [])
            rec = self._insert(otype, values, self._creation_time())
            for to, to_id, type_id in links:
                self._link(otype, rec.id, to, to_id, type_id)
            self._after_write(rec)
            return 201, self._present(rec, DEFAULT_PROPERTIES[otype] | set(values))

    def get(self, name, object_id, query):
        with self.lock:
            otype = self._type(name)
            archived = q1(query, "archived", "false").lower() == "true"
            if archived:
                rec = self.records[otype].get(str(object_id))
                rec = rec if rec is not None and rec.archived_at else None
            else:
                rec = self._find(otype, object_id, q1(query, "idProperty"))
            if rec is None:
                raise not_found()
            associations = [self._type(t) for t in qlist(query, "associations")]
            return 200, self._present(
                rec, self._names(otype, qlist(query, "properties")), associations
            )

    def update(self, name, object_id, body, query):
        with self.lock:
            otype = self._type(name)
            body = _obj(body)
            rec = self._find(otype, object_id, q1(query, "idProperty"))
            if rec is None:
                raise not_found()
            values = self._clean(otype, body.get("properties") or {})
            self._check_record(otype, values, rec)
            self._touch(rec, values)
            self._after_write(rec)
            return 200, self._present(rec, DEFAULT_PROPERTIES[otype] | set(values))

    def archive(self, name, object_id):
        with self.lock:
            otype = self._type(name)
            rec = self._find(otype, object_id)
            # HubSpot answers 204 for an id that is already gone: archiving is idempotent.
            if rec is not None:
                self._archive(rec)
            return 204, None

    def gdpr_delete(self, name, body):
        """Deletes a record for good: unlike archive(), nothing is left to read or restore."""
        with self.lock:
            otype = self._type(name)
            body = _obj(body)
            object_id, id_property = body.get("objectId"), body.get("idProperty")
            if not isinstance(object_id, str) or not object_id:
                raise invalid("objectId is required and must be a string")
            if id_property is not None and not isinstance(id_property, str):
                raise invalid("idProperty must be a string")
            rec = self._find(otype, object_id, id_property)
            if rec is None and id_property in (None, "hs_object_id"):
                rec = self.records[otype].get(object_id)  # an archived record can be purged too
            if rec is None:
                raise not_found()
            if not rec.archived_at:
                self._archive(rec)
            del self.records[otype][rec.id]
            return 204, None

    def _archive(self, rec):
        rec.archived_at = max(now_ms(), rec.updated + 1)
        if rec.type == "contacts" and self.emails.get(rec.props.get("email")) == rec.id:
            del self.emails[rec.props["email"]]
        self._unlink_all(rec.type, rec.id)

    def list(self, name, query, path):
        """A page of records; `path` is the list's own path, for the next page's link."""
        with self.lock:
            otype = self._type(name)
            limit = _int(q1(query, "limit"), 10, "limit", 1, MAX_LIST_LIMIT)
            after = q1(query, "after")
            if after and not after.isdigit():
                raise invalid(f"Invalid paging cursor: {after}")
            archived = q1(query, "archived", "false").lower() == "true"
            names = self._names(otype, qlist(query, "properties"))
            associations = [self._type(t) for t in qlist(query, "associations")]
            page = []
            for rec in self.records[otype].values():
                if bool(rec.archived_at) != archived or (after and int(rec.id) < int(after)):
                    continue
                if len(page) == limit:
                    # The cursor is the next record's id: stable even if earlier records go away.
                    link = f"{self.base_url}{path}?after={rec.id}&limit={limit}"
                    paging = {"next": {"after": rec.id, "link": link}}
                    return 200, {"results": page, "paging": paging}
                page.append(self._present(rec, names, associations))
            return 200, {"results": page}

    # --- search ------------------------------------------------------------------------------------

    def search(self, name, body):
        with self.lock:
            otype = self._type(name)
            body = _obj(body or {})
            limit = _int(body.get("limit"), 10, "limit", 1, MAX_SEARCH_LIMIT)
            offset = _int(body.get("after"), 0, "after", 0, 10**9)
            if offset >= MAX_SEARCH_RESULTS:
                raise invalid(
                    f"Search results are limited to {MAX_SEARCH_RESULTS}; after={offset} is out "
                    "of range. Narrow the filters or sort to page through fewer results."
                )
            match = self._compile_search(otype, body)
            # Without a delay everything is indexed (even a create whose time was nudged ahead).
            cutoff = now_ms() - int(self.search_delay * 1000) if self.search_delay else float("inf")
            found = [
                r
                for r in self.records[otype].values()
                if not r.archived_at and r.created <= cutoff and match(r)
            ]
            found = self._sort(otype, found, body.get("sorts") or [])
            names = self._names(otype, body.get("properties") or [])
            end = min(offset + limit, MAX_SEARCH_RESULTS)
            out = {
                "total": len(found),
                "results": [self._present(r, names) for r in found[offset:end]],
            }
            if len(found) > end:
                out["paging"] = {"next": {"after": str(end)}}
            return 200, out

    def _compile_search(self, otype, body):
        groups = body.get("filterGroups") or []
        if not isinstance(groups, list) or len(groups) > 5:
            raise invalid("A search may have up to 5 filterGroups")
        compiled = []
        for group in groups:
            filters = (group or {}).get("filters") or []
            if len(filters) > 6:
                raise invalid("A filterGroup may have up to 6 filters")
            compiled.append([self._compile_filter(otype, f) for f in filters])
        if sum(len(g) for g in compiled) > 18:
            raise invalid("A search may have up to 18 filters in all")
        words = str(body.get("query") or "").lower().split()
        fields = SEARCHABLE[otype]

        def match(rec):
            if compiled and not any(all(f(rec) for f in group) for group in compiled):
                return False
            if words:
                text = " ".join(str(rec.props.get(f) or "") for f in fields).lower()
                return all(word in text for word in words)
            return True

        return match

    def _compile_filter(self, otype, spec):
        if not isinstance(spec, dict) or not spec.get("propertyName"):
            raise invalid("Each filter needs a propertyName")
        name = spec["propertyName"]
        op = str(spec.get("operator") or "EQ").upper()
        if name.startswith("associations."):
            return self._association_filter(otype, name, op, spec)
        definition = self.properties[otype].get(name)
        if definition is None:
            raise invalid(f'Unable to search on property "{name}": it does not exist')
        key = _sort_key(definition["type"])

        def value_of(rec):
            return rec.props.get(name)

        if op == "HAS_PROPERTY":
            return lambda r: value_of(r) not in (None, "")
        if op == "NOT_HAS_PROPERTY":
            return lambda r: value_of(r) in (None, "")
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pattern = str(_operand(spec, "value")).lower()
            hit = lambda r: _token_match(value_of(r), pattern)  # noqa: E731
            return hit if op == "CONTAINS_TOKEN" else (lambda r: not hit(r))
        if op in ("IN", "NOT_IN"):
            values = spec.get("values")
            if not isinstance(values, list) or not values:
                raise invalid(f"Operator {op} needs a non-empty `values` list")
            wanted = {_operand_key(key, v, name) for v in values}
            hit = lambda r: _record_key(key, value_of(r)) in wanted  # noqa: E731
            return hit if op == "IN" else (lambda r: not hit(r))
        if op == "BETWEEN":
            low = _operand_key(key, _operand(spec, "value"), name)
            high = _operand_key(key, _operand(spec, "highValue"), name)
            return lambda r: _compare(key, value_of(r), lambda k: low <= k <= high)
        tests = {
            "EQ": lambda k, v: k == v,
            "NEQ": lambda k, v: k != v,
            "LT": lambda k, v: k < v,
            "LTE": lambda k, v: k <= v,
            "GT": lambda k, v: k > v,
            "GTE": lambda k, v: k >= v,
        }
        if op not in tests:
            raise invalid(f"Unknown filter operator {op}")
        wanted = _operand_key(key, _operand(spec, "value"), name)
        test = tests[op]
        if op == "NEQ":
            # A record without the property is "not equal" to anything.
            return lambda r: (
                value_of(r) in (None, "") or _compare(key, value_of(r), lambda k: test(k, wanted))
            )
        return lambda r: _compare(key, value_of(r), lambda k: test(k, wanted))

    def _association_filter(self, otype, name, op, spec):
        to = object_type(name.partition(".")[2])
        if to is None:
            raise invalid(f"Unknown association in filter: {name}")

        def linked(rec):
            return set(self.links.get((rec.type, rec.id), {}).get(to, {}))

        if op == "HAS_PROPERTY":
            return lambda r: bool(linked(r))
        if op == "NOT_HAS_PROPERTY":
            return lambda r: not linked(r)
        if op in ("EQ", "NEQ"):
            wanted = {str(_operand(spec, "value"))}
        elif op in ("IN", "NOT_IN"):
            wanted = {str(v) for v in spec.get("values") or []}
        else:
            raise invalid(f"Operator {op} is not supported on {name}")
        if op in ("EQ", "IN"):
            return lambda r: bool(linked(r) & wanted)
        return lambda r: not linked(r) & wanted

    def _sort(self, otype, found, sorts):
        found = sorted(found, key=lambda r: int(r.id))
        if not isinstance(sorts, list):
            raise invalid("sorts must be a list")
        for sort in reversed(sorts):
            if isinstance(sort, str):
                prop, descending = sort.lstrip("-"), sort.startswith("-")
            elif isinstance(sort, dict):
                prop = sort.get("propertyName")
                descending = str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
            else:
                raise invalid("Each sort is a property name or {propertyName, direction}")
            definition = self.properties[otype].get(prop)
            if definition is None:
                raise invalid(f'Unable to sort on property "{prop}": it does not exist')
            key = _sort_key(definition["type"])
            present = [r for r in found if r.props.get(prop) not in (None, "")]
            missing = [r for r in found if r.props.get(prop) in (None, "")]
            present.sort(key=lambda r: _record_key(key, r.props[prop]), reverse=descending)
            found = present + missing
        return found

    # --- batch -------------------------------------------------------------------------------------

    def batch(self, name, action, body):
        with self.lock:
            otype = self._type(name)
            body = _obj(body)
            inputs = _inputs(body, MAX_BATCH)
            started = now_ms()
            handler = {
                "read": self._batch_read,
                "create": self._batch_create,
                "update": self._batch_update,
                "upsert": self._batch_upsert,
                "archive": self._batch_archive,
            }.get(action)
            if handler is None:
                raise ApiError(404, f"Unknown batch action {action}", "NOT_FOUND")
            results, errors = handler(otype, inputs, body)
            if action == "archive":
                return 204, None
            out = {
                "status": "COMPLETE",
                "results": results,
                "startedAt": iso(started),
                "completedAt": iso(now_ms()),
            }
            if errors:
                out["numErrors"] = len(errors)
                out["errors"] = errors
                return 207, out
            return (201 if action == "create" else 200), out

    def _missing_error(self, otype, ids):
        return _batch_error(
            "OBJECT_NOT_FOUND",
            f"Could not get some {SINGULAR[otype].upper()} objects, they may be deleted or not "
            "exist. Check that ids are valid.",
            {"ids": ids},
        )

    def _batch_read(self, otype, inputs, body):
        id_property = body.get("idProperty")
        names = self._names(otype, body.get("properties") or [])
        results, missing = [], []
        for item in inputs:
            rec = self._find(otype, item.get("id", ""), id_property)
            if rec is None:
                missing.append(str(item.get("id")))
            else:
                results.append(self._present(rec, names))
        return results, ([self._missing_error(otype, missing)] if missing else [])

    def _batch_create(self, otype, inputs, body):
        # Invalid values fail the whole batch, as in HubSpot; record-level conflicts do not.
        cleaned = self._clean_all(otype, inputs)
        results, errors = [], []
        for item, values in zip(inputs, cleaned, strict=True):
            try:
                self._check_record(otype, values)
                links = self._parse_associations(otype, item.get("associations") or [])
            except ApiError as err:
                errors.append(_error_from(err))
                continue
            rec = self._insert(otype, values, self._creation_time())
            for to, to_id, type_id in links:
                self._link(otype, rec.id, to, to_id, type_id)
            self._after_write(rec)
            results.append(self._present(rec, DEFAULT_PROPERTIES[otype] | set(values)))
        return results, errors

    def _batch_update(self, otype, inputs, body):
        cleaned = self._clean_all(otype, inputs)
        results, errors, missing = [], [], []
        for item, values in zip(inputs, cleaned, strict=True):
            rec = self._find(otype, item.get("id", ""), item.get("idProperty"))
            if rec is None:
                missing.append(str(item.get("id")))
                continue
            try:
                self._check_record(otype, values, rec)
            except ApiError as err:
                errors.append(_error_from(err))
                continue
            self._touch(rec, values)
            self._after_write(rec)
            results.append(self._present(rec, DEFAULT_PROPERTIES[otype] | set(values)))
        if missing:
            errors.insert(0, self._missing_error(otype, missing))
        return results, errors

    def _batch_upsert(self, otype, inputs, body):
        cleaned = self._clean_all(otype, inputs)
        results, errors = [], []
        for item, values in zip(inputs, cleaned, strict=True):
            key, id_property = str(item.get("id", "")), item.get("idProperty")
            try:
                rec = self._find(otype, key, id_property)
                if rec is None and id_property in (None, "hs_object_id"):
                    raise ApiError(404, f"No {SINGULAR[otype]} with id {key}", "OBJECT_NOT_FOUND")
                if rec is None:
                    values = {**values, **self._clean(otype, {id_property: key})}
                    self._check_record(otype, values)
                    rec, new = self._insert(otype, values, self._creation_time()), True
                else:
                    self._check_record(otype, values, rec)
                    self._touch(rec, values)
                    new = False
            except ApiError as err:
                errors.append(_error_from(err))
                continue
            self._after_write(rec)
            out = self._present(rec, DEFAULT_PROPERTIES[otype] | set(values))
            out["new"] = new
            results.append(out)
        return results, errors

    def _batch_archive(self, otype, inputs, body):
        for item in inputs:
            rec = self._find(otype, item.get("id", ""))
            if rec is not None:
                self._archive(rec)
        return [], []

    def _clean_all(self, otype, inputs):
        cleaned, problems = [], []
        for item in inputs:
            try:
                cleaned.append(self._clean(otype, item.get("properties") or {}))
            except ApiError as err:
                problems.append(err)
        if problems:
            raise problems[0]
        return cleaned

    # --- properties ------------------------------------------------------------------------------

    def property_list(self, name):
        with self.lock:
            return 200, {"results": copy.deepcopy(list(self.properties[self._type(name)].values()))}

    def property_get(self, name, prop_name):
        with self.lock:
            otype = self._type(name)
            definition = self.properties[otype].get(prop_name)
            if definition is None:
                raise ApiError(
                    404,
                    f"Unable to find property {prop_name} for object type {otype}",
                    "OBJECT_NOT_FOUND",
                )
            return 200, copy.deepcopy(definition)

    def property_create(self, name, body):
        with self.lock:
            otype = self._type(name)
            body = _obj(body)
            prop_name = body.get("name")
            if not isinstance(prop_name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", prop_name):
                raise invalid("name is required: lower case letters, digits and underscores")
            kind = body.get("type")
            if kind not in ("string", "number", "enumeration", "datetime", "date", "bool"):
                raise invalid(f"type {kind!r} is not a valid property type")
            if prop_name in self.properties[otype]:
                raise ApiError(
                    409, f"A property named '{prop_name}' already exists.", "OBJECT_ALREADY_EXISTS"
                )
            if kind == "enumeration" and not body.get("options"):
                raise invalid("An enumeration property needs options")
            definition = seed.make_property(
                prop_name,
                kind,
                body.get("options"),
                label=body.get("label"),
                field_type=body.get("fieldType"),
                group=body.get("groupName", "contactinformation"),
                unique=body.get("hasUniqueValue", False),
            )
            self.properties[otype][prop_name] = definition
            return 201, copy.deepcopy(definition)

    # --- pipelines -------------------------------------------------------------------------------

    def pipelines_get(self, name, pipeline_id=None):
        with self.lock:
            pipelines = self.pipeline_list(name)
            if pipeline_id is None:
                return 200, {"results": pipelines}
            for pipeline in pipelines:
                if pipeline["id"] == pipeline_id:
                    return 200, pipeline
            raise ApiError(404, f"Unable to find pipeline {pipeline_id}", "OBJECT_NOT_FOUND")

    # --- associations v4 -------------------------------------------------------------------------

    def _pair(self, from_name, from_id, to_name, to_id):
        otype, to = self._type(from_name), self._type(to_name)
        for kind, oid in ((otype, from_id), (to, to_id)):
            if self._find(kind, oid) is None:
                raise invalid(
                    f"{SINGULAR[kind]} {oid} does not exist", context={"objectId": [str(oid)]}
                )
        return otype, str(from_id), to, str(to_id)

    def associate(self, from_name, from_id, to_name, to_id, specs):
        with self.lock:
            otype, from_id, to, to_id = self._pair(from_name, from_id, to_name, to_id)
            if not isinstance(specs, list) or not specs:
                raise invalid("The body must be a non-empty list of association types")
            type_ids = [self._association_type(spec, otype, to) for spec in specs]
            for type_id in type_ids:
                self._link(otype, from_id, to, to_id, type_id)
            labels = [ASSOCIATION_TYPES[t][3] for t in type_ids if ASSOCIATION_TYPES[t][3]]
            return 201, _labels_between(otype, from_id, to, to_id, labels)

    def associate_default(self, from_name, from_id, to_name, to_id):
        with self.lock:
            started = now_ms()
            otype, from_id, to, to_id = self._pair(from_name, from_id, to_name, to_id)
            type_id = DEFAULT_ASSOCIATION.get((otype, to))
            if type_id is None:
                raise invalid(f"No default association between {otype} and {to}")
            self._link(otype, from_id, to, to_id, type_id)
            return 200, {
                "status": "COMPLETE",
                "results": [
                    _default_result(from_id, to_id, type_id),
                    _default_result(to_id, from_id, INVERSE[type_id]),
                ],
                "startedAt": iso(started),
                "completedAt": iso(now_ms()),
            }

    def associations_get(self, from_name, from_id, to_name, query):
        with self.lock:
            otype, to = self._type(from_name), self._type(to_name)
            limit = _int(q1(query, "limit"), 500, "limit", 1, 500)
            offset = _int(q1(query, "after"), 0, "after", 0, 10**9)
            return 200, self._linked_page(otype, str(from_id), to, offset, limit)

    def _linked_page(self, otype, from_id, to, offset, limit):
        linked = self.links.get((otype, from_id), {}).get(to, {})
        rows = [
            {
                "toObjectId": to_id,
                "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": t, "label": ASSOCIATION_TYPES[t][3]}
                    for t in sorted(linked[to_id])
                ],
            }
            for to_id in sorted(linked, key=int)
        ]
        out = {"results": rows[offset : offset + limit]}
        if len(rows) > offset + limit:
            out["paging"] = {"next": {"after": str(offset + limit)}}
        return out

    def association_batch(self, from_name, to_name, action, body, version):
        """The batch association endpoints: v4's shapes, on the date-based paths."""
        with self.lock:
            otype, to = self._type(from_name), self._type(to_name)
            inputs = _inputs(_obj(body))
            started = now_ms()
            handler = {
                "read": self._associations_read,
                "create": self._associations_create,
                "associate/default": self._associations_default,
                "archive": self._associations_archive,
            }[action]
            results, errors = handler(otype, to, inputs)
            out = {
                "status": "COMPLETE",
                "results": results,
                "startedAt": iso(started),
                "completedAt": iso(now_ms()),
            }
            if errors:
                out["numErrors"] = len(errors)
                out["errors"] = errors
                return 207, out
            # HubSpot's specs: batch create answers 201 in 2026-03 (as in v4) and 200 in 2026-09;
            # batch archive answers 200 with an empty batch response (v4 answered 204).
            return (201 if action == "create" and version == "2026-03" else 200), out

    def _associations_read(self, otype, to, inputs):
        results, errors = [], []
        for item in inputs:
            from_id = str(item.get("id", ""))
            after = _int(item.get("after"), 0, "after", 0, 10**9)
            page = self._linked_page(otype, from_id, to, after, 500)
            if self._find(otype, from_id) is None or not page["results"]:
                # HubSpot reports an object with nothing to list as an error of the batch.
                errors.append(
                    _batch_error(
                        "OBJECT_NOT_FOUND",
                        f"No {SINGULAR[to]} is associated with {SINGULAR[otype]} {from_id}.",
                        {"fromObjectId": [from_id]},
                        subCategory="crm.associations.NO_ASSOCIATIONS_FOUND",
                    )
                )
                continue
            result = {"from": {"id": from_id}, "to": page["results"]}
            if "paging" in page:
                result["paging"] = page["paging"]
            results.append(result)
        return results, errors

    def _associations_create(self, otype, to, inputs):
        results, errors = [], []
        for item in inputs:
            try:
                _, from_id, _, to_id = self._pair(
                    otype, _input_id(item, "from"), to, _input_id(item, "to")
                )
                types = item.get("types")
                if not isinstance(types, list) or not types:
                    raise invalid("Each input needs a non-empty list of association types")
                type_ids = [self._association_type(spec, otype, to) for spec in types]
            except ApiError as err:
                errors.append(_error_from(err))
                continue
            for type_id in type_ids:
                self._link(otype, from_id, to, to_id, type_id)
            labels = [ASSOCIATION_TYPES[t][3] for t in type_ids if ASSOCIATION_TYPES[t][3]]
            results.append(_labels_between(otype, from_id, to, to_id, labels))
        return results, errors

    def _associations_default(self, otype, to, inputs):
        type_id = DEFAULT_ASSOCIATION.get((otype, to))
        if type_id is None:
            raise invalid(f"No default association between {otype} and {to}")
        results, errors = [], []
        for item in inputs:
            try:
                _, from_id, _, to_id = self._pair(
                    otype, _input_id(item, "from"), to, _input_id(item, "to")
                )
            except ApiError as err:
                errors.append(_error_from(err))
                continue
            self._link(otype, from_id, to, to_id, type_id)
            results += [
                _default_result(from_id, to_id, type_id),
                _default_result(to_id, from_id, INVERSE[type_id]),
            ]
        return results, errors

    def _associations_archive(self, otype, to, inputs):
        for item in inputs:
            from_id = _input_id(item, "from")
            targets = item.get("to")
            if not isinstance(targets, list):
                raise invalid("Each input needs `to`: a list of {id}")
            for target in targets:
                self._unlink(otype, from_id, to, str((target or {}).get("id", "")))
        return [], []

    def _unlink(self, otype, from_id, to, to_id):
        self.links.get((otype, from_id), {}).get(to, {}).pop(to_id, None)
        self.links.get((to, to_id), {}).get(otype, {}).pop(from_id, None)

    def dissociate(self, from_name, from_id, to_name, to_id):
        with self.lock:
            otype, to = self._type(from_name), self._type(to_name)
            self._unlink(otype, str(from_id), to, str(to_id))
            return 204, None

    # --- owners, forms ---------------------------------------------------------------------------

    def owners_list(self, query):
        with self.lock:
            email = (q1(query, "email") or "").lower()
            limit = _int(q1(query, "limit"), 100, "limit", 1, 500)
            offset = _int(q1(query, "after"), 0, "after", 0, 10**9)
            rows = [o for o in self.owners if not email or o["email"].lower() == email]
            return 200, _page(rows, offset, limit)

    def owner_get(self, owner_id, query):
        with self.lock:
            field = "userId" if q1(query, "idProperty") == "userId" else "id"
            for owner in self.owners:
                if str(owner[field]) == str(owner_id):
                    return 200, copy.deepcopy(owner)
            raise ApiError(404, f"Owner {owner_id} not found", "OBJECT_NOT_FOUND")

    def forms_list(self, query):
        with self.lock:
            limit = _int(q1(query, "limit"), 20, "limit", 1, 100)
            offset = _int(q1(query, "after"), 0, "after", 0, 10**9)
            return 200, _page([f for f in self.forms if not f["archived"]], offset, limit)

    def form_get(self, form_id):
        with self.lock:
            form = self._form(form_id)
            if form is None:
                raise ApiError(404, f"Form {form_id} not found", "OBJECT_NOT_FOUND")
            return 200, copy.deepcopy(form)

    def _form(self, form_id):
        return next((f for f in self.forms if f["id"] == form_id and not f["archived"]), None)

    def submit_form(self, portal_id, expected_portal, form_id, body):
        """The Forms submission API; like HubSpot, it also creates or updates the contact."""
        with self.lock:
            form = self._form(form_id)
            if str(portal_id) != str(expected_portal) or form is None:
                raise ApiError(
                    404, f"Form {form_id} not found for portal {portal_id}", "OBJECT_NOT_FOUND"
                )
            body = _obj(body)
            fields = body.get("fields")
            if not isinstance(fields, list):
                raise invalid("fields must be a list of {name, value}")
            definitions = {f["name"]: f for g in form["fieldGroups"] for f in g["fields"]}
            values, errors = {}, []
            for item in fields:
                item_name = (item or {}).get("name")
                value = (item or {}).get("value")
                if item_name not in definitions:
                    errors.append(
                        _form_error(
                            item_name,
                            f"Field '{item_name}' not found in the form",
                            "FIELD_NOT_IN_FORM_DEFINITION",
                        )
                    )
                elif not isinstance(value, str):
                    errors.append(_form_error(item_name, "Value must be a string", "INVALID_VALUE"))
                else:
                    values[item_name] = value
            email = values.get("email", "")
            if not _EMAIL.match(email.strip()):
                errors.append(_form_error("email", "Invalid email address", "INVALID_EMAIL"))
            for field_name, definition in definitions.items():
                if definition["required"] and field_name != "email" and not values.get(field_name):
                    message = f"Required field '{field_name}' is missing"
                    errors.append(_form_error(field_name, message, "REQUIRED_FIELD"))
            if errors:
                raise ApiError(400, "The request is not valid", None, errors=errors)
            self.form_submissions.append(
                {
                    "portalId": int(portal_id),
                    "formGuid": form_id,
                    "body": copy.deepcopy(body),
                    "submittedAt": iso(now_ms()),
                }
            )
            self._contact_from_form(values)
            return 200, {"inlineMessage": "Thanks for submitting the form."}

    def _contact_from_form(self, values):
        definitions = self.properties["contacts"]
        props = {k: v for k, v in values.items() if definitions.get(k, {}).get("type") == "string"}
        props["email"] = values["email"].strip().lower()
        rec = self._find("contacts", props["email"], "email")
        if rec is None:
            self._insert("contacts", props, self._creation_time())
        else:
            self._touch(rec, props)

    def visitor_token(self, body):
        with self.lock:
            body = _obj(body)
            email = body.get("email")
            if not isinstance(email, str) or not _EMAIL.match(email):
                raise invalid("email is required and must be a valid email address")
            token = secrets.token_urlsafe(48)
            self.identification_tokens.append(
                {
                    "email": email,
                    "token": token,
                    "firstName": body.get("firstName"),
                    "lastName": body.get("lastName"),
                }
            )
            return 200, {"token": token}


# --- helpers outside the class ----------------------------------------------------------------


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
