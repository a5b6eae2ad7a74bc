"""The CRM object endpoints: create, read, update, archive, GDPR delete, list."""

from __future__ import annotations

from .common import (
    DEFAULT_PROPERTIES,
    MAX_LIST_LIMIT,
    _int,
    _obj,
    invalid,
    not_found,
    now_ms,
    q1,
    qlist,
)


class ObjectsMixin:
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
