"""Records and HubSpot's validation rules for their property values."""

from __future__ import annotations

import json

from .common import (
    _EMAIL,
    ASSOCIATION_TYPES,
    DEFAULT_PROPERTIES,
    MODIFIED,
    ApiError,
    Record,
    _json_kind,
    _problem,
    invalid,
    invalid_properties,
    iso,
    now_ms,
    parse_ms,
)


class RecordsMixin:
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
            elif name in ("hs_object_id", MODIFIED[otype]) or (
                definition.get("modificationMetadata") or {}
            ).get("readOnlyValue"):
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
