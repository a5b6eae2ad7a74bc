"""Properties and pipelines."""

from __future__ import annotations

import copy
import re

from . import seed
from .common import (
    ApiError,
    _obj,
    invalid,
)


class SchemaMixin:
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
