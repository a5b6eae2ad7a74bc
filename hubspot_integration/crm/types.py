"""How an object type declares itself: pure data, importable before Django's apps are ready (the
model module, the connection check and the OAuth scopes read it at import time)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy

# HubSpot's IDs of its standard object types: its UI's record links use them.
STANDARD_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "tickets": "0-5"}

# The outbox kinds' names for people, one sentence per verb (German puts the verb last).
VERB_LABELS = {
    "create": gettext_lazy("Create %(record)s"),
    "update": gettext_lazy("Update %(record)s"),
    "archive": gettext_lazy("Archive %(record)s"),
}


def _kind_label(verb: str, object_type: ObjectType) -> str:
    template = VERB_LABELS.get(verb)
    if template is None:
        return f"{verb.capitalize()} {object_type.label}"
    return str(template) % {"record": object_type.noun}


# Built at import (model choices) and read per request, in the language of the request.
kind_label = lazy(_kind_label, str)


@dataclass(frozen=True)
class Property:
    """An editable HubSpot property, as a form field and an API field."""

    name: str  # HubSpot's internal name
    label: str  # what people read: a lazy translation (gettext_lazy), resolved per request
    max_length: int = 255
    required: bool = False  # required when creating; a change may leave it out
    kind: str = "text"  # "text", "email", "url" or "textarea"
    help_text: str = ""


@dataclass(frozen=True)
class Column:
    """A column of the admin list: a property, or a value the type's service computes."""

    name: str
    label: str  # the heading, a lazy translation
    sort: str = ""  # the HubSpot property search sorts the column by; blank: not sortable


@dataclass(frozen=True)
class ObjectType:
    name: str  # HubSpot's object type in API paths: "companies"
    singular: str  # "company": outbox kinds, URL names, messages
    properties: tuple[Property, ...]
    columns: tuple[Column, ...]
    title_property: str  # what names a record in messages and links
    type_id: str = ""  # HubSpot's object type ID ("2-123" for a custom object); standard: known
    read_properties: tuple[str, ...] = ("createdate", "hs_lastmodifieddate")
    search_hint: str = ""  # the search box's placeholder
    related: tuple[str, ...] = ()  # object types listed on a record's page
    scopes: tuple[str, ...] = ()  # what the credential needs for this type's pages
    optional: bool = True  # a missing scope breaks only this type's pages
    enabled_by: str = ""  # a HubSpotSettings switch that turns the type's pages on and off
    # The Django permission every page and endpoint of the type needs.
    permission_codename: str = ""
    verbs: tuple[str, ...] = ("create", "update", "archive")  # the outbox kinds it writes with
    example: dict = field(default_factory=dict, compare=False)  # the API docs' sample record
    # What the admin pages call a record and several of them, as lazy translations; `label` and
    # `label_plural` stay English for the outbox kinds and the API docs.
    verbose_name: str = ""
    verbose_name_plural: str = ""

    def __post_init__(self):
        if not self.type_id:
            object.__setattr__(self, "type_id", STANDARD_TYPE_IDS[self.name])

    @property
    def permission(self) -> str:
        return f"hubspot_integration.{self.permission_codename or 'manage_' + self.name}"

    @property
    def label(self) -> str:
        return self.singular.replace("_", " ")

    @property
    def label_plural(self) -> str:
        return self.name.replace("_", " ")

    @property
    def noun(self) -> str:
        """A record of this type in the active language: "contact", "Kontakt"."""
        return str(self.verbose_name or self.label)

    @property
    def noun_plural(self) -> str:
        return str(self.verbose_name_plural or self.label_plural)

    def kind(self, verb: str) -> str:
        """The outbox kind of a write: "create_company"."""
        return f"{verb}_{self.singular}"

    def kind_choices(self) -> list[tuple[str, str]]:
        return [(self.kind(verb), kind_label(verb, self)) for verb in self.verbs]

    @property
    def list_properties(self) -> list[str]:
        names = [p.name for p in self.properties] + list(self.read_properties)
        return list(dict.fromkeys(names))
