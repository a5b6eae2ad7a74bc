"""Associations between records: parsing, linking, and the association endpoints."""

from __future__ import annotations

from .common import (
    _IMPLIED,
    ASSOCIATION_TYPES,
    DEFAULT_ASSOCIATION,
    INVERSE,
    SINGULAR,
    ApiError,
    _batch_error,
    _default_result,
    _error_from,
    _input_id,
    _inputs,
    _int,
    _labels_between,
    _obj,
    invalid,
    iso,
    now_ms,
    q1,
)


class AssociationsMixin:
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
