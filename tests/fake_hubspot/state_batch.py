"""The batch endpoints: read, create, update, upsert, archive (100 inputs at most).

Invalid values fail the whole batch with one 400, as HubSpot does, unless every input carries an
`objectWriteTraceId` (HubSpot's multi-status handling): then each refused input is an error of a
207 answer naming it (`context.objectWriteTraceId`, and `context.ids` for upsert and update), the
others go in, and each result echoes its input's trace ID."""

from __future__ import annotations

from .common import (
    DEFAULT_PROPERTIES,
    MAX_BATCH,
    SINGULAR,
    ApiError,
    _batch_error,
    _error_from,
    _inputs,
    _obj,
    iso,
    now_ms,
)


class BatchMixin:
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
                if isinstance(values, ApiError):
                    raise values
                self._check_record(otype, values)
                links = self._parse_associations(otype, item.get("associations") or [])
            except ApiError as err:
                errors.append(_traced_error(err, item))
                continue
            rec = self._insert(otype, values, self._creation_time())
            for to, to_id, type_id in links:
                self._link(otype, rec.id, to, to_id, type_id)
            self._after_write(rec)
            results.append(
                _traced(item, self._present(rec, DEFAULT_PROPERTIES[otype] | set(values)))
            )
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
                if isinstance(values, ApiError):
                    raise values
                self._check_record(otype, values, rec)
            except ApiError as err:
                errors.append(_traced_error(err, item, ids=[str(item.get("id", ""))]))
                continue
            self._touch(rec, values)
            self._after_write(rec)
            results.append(
                _traced(item, self._present(rec, DEFAULT_PROPERTIES[otype] | set(values)))
            )
        if missing:
            errors.insert(0, self._missing_error(otype, missing))
        return results, errors

    def _batch_upsert(self, otype, inputs, body):
        cleaned = self._clean_all(otype, inputs)
        results, errors = [], []
        for item, values in zip(inputs, cleaned, strict=True):
            key, id_property = str(item.get("id", "")), item.get("idProperty")
            try:
                if isinstance(values, ApiError):
                    raise values
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
                # HubSpot names the refused input in the error's context.
                errors.append(_traced_error(err, item, ids=[key]))
                continue
            self._after_write(rec)
            out = _traced(item, self._present(rec, DEFAULT_PROPERTIES[otype] | set(values)))
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
        """Each input's values; an input's refusal stays in its place (an ApiError) when the
        batch asked for multi-status answers, else the first one refuses the whole batch."""
        cleaned, problems = [], []
        for item in inputs:
            try:
                cleaned.append(self._clean(otype, item.get("properties") or {}))
            except ApiError as err:
                cleaned.append(err)
                problems.append(err)
        if problems and not all(item.get("objectWriteTraceId") for item in inputs):
            raise problems[0]
        return cleaned


def _traced(item, out):
    if item.get("objectWriteTraceId"):
        out["objectWriteTraceId"] = str(item["objectWriteTraceId"])
    return out


def _traced_error(err, item, ids=None):
    error = _error_from(err)
    context = dict(error.get("context") or {})
    if ids:
        context["ids"] = ids
    if item.get("objectWriteTraceId"):
        context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
    error["context"] = context
    # The property-level details, as in a single write's 400.
    error["errors"] = [
        {k: v for k, v in detail.items() if k in ("message", "code", "context", "in")}
        for detail in (err.body.get("errors") or [])
    ]
    return error
