"""The search endpoint: filters, free-text query, sorts, the 10,000-result cap."""

from __future__ import annotations

from .common import (
    MAX_SEARCH_LIMIT,
    MAX_SEARCH_RESULTS,
    SEARCHABLE,
    _compare,
    _int,
    _obj,
    _operand,
    _operand_key,
    _record_key,
    _sort_key,
    _token_match,
    invalid,
    now_ms,
    object_type,
)


class SearchMixin:
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
        if self.scrambled_ties:
            found = sorted(found, key=lambda r: (int(r.id) * 2_654_435_761) % 2**32)
        else:
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
