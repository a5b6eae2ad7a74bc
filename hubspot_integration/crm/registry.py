"""The object types the panel serves. Adding one is a package plus its name here."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy

from .types import ObjectType

# One line per object type: the package `hubspot_integration.<name>`.
PACKAGES = ("contacts", "tickets", "companies")

# Types a record page lists without a package of their own: their name for people.
UNREGISTERED_NOUNS = {"deals": gettext_lazy("deals")}


@cache
def object_types() -> tuple[ObjectType, ...]:
    return tuple(import_module(f"hubspot_integration.{name}").OBJECT_TYPE for name in PACKAGES)


def object_type(name: str) -> ObjectType:
    for declared in object_types():
        if declared.name == name:
            return declared
    raise LookupError(f"No HubSpot object type {name!r} is registered.")


def noun_plural(type_name: str) -> str:
    """Records of a type in the active language ("companies", "Unternehmen"), registered or not."""
    try:
        return object_type(type_name).noun_plural
    except LookupError:
        return str(UNREGISTERED_NOUNS.get(type_name, type_name.replace("_", " ")))


def modules(part: str) -> list:
    """Each registered package's `part` module ("admin", "api", "service", "models") that it has."""
    found = []
    for name in PACKAGES:
        try:
            found.append(import_module(f"hubspot_integration.{name}.{part}"))
        except ModuleNotFoundError as err:
            if err.name != f"hubspot_integration.{name}.{part}":
                raise  # the module exists and something it imports is missing: say so
    return found


def outbox_kind_choices() -> list[tuple[str, str]]:
    return [choice for declared in object_types() for choice in declared.kind_choices()]


def of_kind(kind: str) -> ObjectType | None:
    """The object type an outbox kind writes ("archive_contact": contacts), or None."""
    return next((t for t in object_types() if kind in {t.kind(v) for v in t.verbs}), None)


def change_url(type_name: str, object_id: str, user=None) -> str:
    """A record's page in the panel; blank for a type without pages (deals) or, given `user`,
    one who may not open them."""
    try:
        declared = object_type(type_name)
    except LookupError:
        return ""
    if user is not None and not user.has_perm(declared.permission):
        return ""
    try:
        model_name = f"hubspot{declared.singular.replace('_', '')}"
        return reverse(f"admin:hubspot_integration_{model_name}_change", args=[object_id])
    except NoReverseMatch:
        return ""
