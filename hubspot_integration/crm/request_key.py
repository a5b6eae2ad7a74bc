"""Creates that a retry cannot double, for object types with no natural unique property.

A record created by the panel carries its outbox row's idempotency key in a HubSpot property with
unique values (`skypanel_request_key`, made on first use). A retried create after a lost answer
then fails with 409 instead of creating a second record, and the existing one is read back by that
property: a lookup by ID property is immediate, unlike search, whose index lags.
"""

from __future__ import annotations

import json
import logging

from django.core.cache import cache
from django.utils.translation import gettext

from .. import errors

logger = logging.getLogger(__name__)

PROPERTY = "skypanel_request_key"
PROPERTY_MISSING_CODE = "PROPERTY_DOESNT_EXIST"
# How long a worker believes the property exists before asking HubSpot again.
BELIEF_SECONDS = 24 * 3600


def ensure_property(client, object_type: str, group: str, *, recheck: bool = False) -> None:
    """Create the request-key property on `object_type` unless it is known to exist; `recheck`
    forgets that belief first (HubSpot has just said the property does not exist)."""
    key = f"hubspot:{object_type}-request-key-property:{client.portal_id}"
    if recheck:
        cache.delete(key)
    elif cache.get(key):
        return
    try:
        client.get_property(object_type, PROPERTY)
    except errors.NotFound:
        try:
            client.create_property(
                object_type,
                {
                    "name": PROPERTY,
                    "label": "SkyPanel request key",
                    "description": "Set by SkyPanel so a retried request never makes a second record.",
                    "groupName": group,
                    "type": "string",
                    "fieldType": "text",
                    "hasUniqueValue": True,
                },
            )
        except errors.Conflict:
            pass  # another worker created it first
    cache.set(key, True, BELIEF_SECONDS)


def names_missing_property(err: errors.HubSpotError, name: str = PROPERTY) -> bool:
    """Whether HubSpot refused a write because property `name` does not exist.

    HubSpot answers 400 VALIDATION_ERROR with "Property values were not valid: [...]": a JSON list
    of problems, each `{"name", "error": "PROPERTY_DOESNT_EXIST", ...}`, in the message; the
    date-based API repeats them in `errors` as `{"code", "context": {"propertyName": [...]}}`."""
    if not isinstance(err, errors.ValidationFailed):
        return False
    for item in err.details:
        if not isinstance(item, dict) or item.get("code") != PROPERTY_MISSING_CODE:
            continue
        named = (item.get("context") or {}).get("propertyName") or []
        if name in named or f'"{name}"' in str(item.get("message", "")):
            return True
    marker = "Property values were not valid:"
    if marker in err.message:
        try:
            problems = json.loads(err.message.split(marker, 1)[1].strip())
        except ValueError:
            problems = []
        for problem in problems if isinstance(problems, list) else []:
            if (
                isinstance(problem, dict)
                and problem.get("name") == name
                and problem.get("error") == PROPERTY_MISSING_CODE
            ):
                return True
    return False


def create_once(
    client,
    object_type: str,
    properties: dict,
    associations: list,
    operation,
    *,
    read_properties=None,
) -> dict:
    """Create the record keyed by the operation; a 409 on the key means an earlier attempt of
    this operation made it and its answer was lost, so that record is read back instead."""
    try:
        return client.create_object(
            object_type, {**properties, PROPERTY: operation.idempotency_key}, associations
        )
    except errors.Conflict:
        return client.get_object(
            object_type,
            operation.idempotency_key,
            id_property=PROPERTY,
            properties=read_properties,
        )


def create(
    client,
    object_type: str,
    group: str,
    properties: dict,
    operation,
    *,
    associations: list | None = None,
    read_properties=None,
) -> dict:
    """Create once, making the key property first; if HubSpot lost the property meanwhile
    (deleted, a sandbox reset) it is made again and the record sent once more."""
    associations = associations or []
    ensure_property(client, object_type, group)
    try:
        return create_once(
            client,
            object_type,
            properties,
            associations,
            operation,
            read_properties=read_properties,
        )
    except errors.ValidationFailed as err:
        if not names_missing_property(err):
            raise
        logger.warning(
            "HubSpot no longer has the %s property %s; creating it again (operation %s)",
            object_type,
            PROPERTY,
            operation.pk,
        )
        ensure_property(client, object_type, group, recheck=True)
        try:
            return create_once(
                client,
                object_type,
                properties,
                associations,
                operation,
                read_properties=read_properties,
            )
        except errors.ValidationFailed as again:
            if not names_missing_property(again):
                raise
            # Just created, yet unknown: HubSpot has not caught up. Worth another attempt later.
            raise not_known_yet(
                object_type, status=again.status, correlation_id=again.correlation_id
            ) from again


def not_known_yet(object_type: str, **details) -> errors.Unavailable:
    """HubSpot refused the request key it was just given: it has not caught up with the new
    property yet, so the record is worth sending again later."""
    return errors.Unavailable(
        gettext(
            "HubSpot does not know the new %(type)s property %(property)s yet; the record will "
            "be sent again."
        )
        % {"type": object_type, "property": PROPERTY},
        **details,
    )
