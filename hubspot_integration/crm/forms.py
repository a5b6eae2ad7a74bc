"""The admin form of an object type, built from its declared properties, and back to properties."""

from __future__ import annotations

from django import forms

from .types import ObjectType

FIELD_CLASSES = {"email": forms.EmailField, "url": forms.URLField}


class ObjectForm(forms.Form):
    object_type: ObjectType  # set by `form_for`

    @classmethod
    def from_record(cls, record: dict) -> ObjectForm:
        props = record.get("properties") or {}
        return cls(initial={p.name: props.get(p.name) or "" for p in cls.object_type.properties})

    def properties(self, *, drop_blank: bool = False) -> dict:
        # On create a blank field means "not given"; on edit it means "clear it in HubSpot".
        names = [p.name for p in self.object_type.properties]
        data = {name: self.cleaned_data.get(name, "") for name in names}
        return {k: v for k, v in data.items() if v} if drop_blank else data


def form_field(prop) -> forms.Field:
    field_class = FIELD_CLASSES.get(prop.kind, forms.CharField)
    kwargs = {"label": prop.label, "max_length": prop.max_length, "required": prop.required}
    if prop.help_text:
        kwargs["help_text"] = prop.help_text
    if prop.kind == "textarea":
        kwargs["widget"] = forms.Textarea
    return field_class(**kwargs)


def form_for(object_type: ObjectType, base: type[ObjectForm] = ObjectForm) -> type[ObjectForm]:
    """A form class with one field per editable property, in the declared order."""
    attrs = {p.name: form_field(p) for p in object_type.properties}
    attrs["object_type"] = object_type
    name = f"{object_type.singular.title().replace('_', '')}Form"
    return type(name, (base,), attrs)
