"""OpenAPI pieces shared by every endpoint: the success and error envelopes, the error responses.

`add_error_responses` (a drf-spectacular post-processing hook) documents the error envelope for
every 4xx/5xx an operation can answer, so the schema tells the truth about failures too and the
fuzz run can hold every answer to it.
"""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

# status -> when it happens (the schema's description of each error response).
ERROR_STATUSES = {
    "400": "Invalid input, or HubSpot rejected the data.",
    "401": "Not authenticated: log in (session) or send `Authorization: Token <key>`.",
    "403": "Authenticated, but without the permission this endpoint needs.",
    "404": "No such object in HubSpot.",
    "405": "Method not allowed.",
    "406": "Only JSON is served.",
    "409": "HubSpot is not configured, or the object already exists.",
    "415": "Send JSON.",
    "429": "Too many requests.",
    "500": "An unexpected error (logged; no traceback is returned).",
    "502": "HubSpot refused the panel's credentials or scopes.",
    "503": "HubSpot is unreachable or rate-limited; retry later.",
}


def envelope(name: str, data, *, many: bool = False, **extra) -> serializers.Serializer:
    """`{"success": true, "data": <data>, ...extra}` as a named schema component."""
    fields = {
        "success": serializers.BooleanField(default=True),
        "data": data(many=True) if many and isinstance(data, type) else data,
        **extra,
    }
    return inline_serializer(name=name, fields=fields)


def add_error_responses(result, generator, request, public):
    """Post-processing hook: every operation documents the error envelope for each error status."""
    ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "ErrorEnvelope",
        {
            "type": "object",
            "properties": {
                "success": {"type": "boolean", "enum": [False]},
                "message": {"type": "string"},
                "details": {},
            },
            "required": ["success", "message", "details"],
            "example": {"success": False, "message": "Invalid input: email.", "details": {}},
        },
    )
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_STATUSES.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result
