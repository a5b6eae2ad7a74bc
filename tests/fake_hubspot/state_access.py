"""Direct access for tests: seeding, dumping, defining properties and pipelines."""

from __future__ import annotations

import copy

from . import seed
from .common import (
    DEFAULT_ASSOCIATION,
    OBJECT_TYPE_IDS,
    invalid,
    object_type,
)


class AccessMixin:
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
