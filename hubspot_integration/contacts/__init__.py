"""HubSpot contacts: the panel's people. An email names one contact, never two."""

from django.utils.translation import gettext_lazy as _

from ..crm.types import Column, ObjectType, Property

OBJECT_TYPE = ObjectType(
    name="contacts",
    singular="contact",
    verbose_name=_("contact"),
    verbose_name_plural=_("contacts"),
    properties=(
        Property("email", _("Email"), max_length=254, required=True, kind="email"),
        Property("firstname", _("First name"), max_length=100),
        Property("lastname", _("Last name"), max_length=100),
        Property("company", _("Company"), max_length=200),
        Property("phone", _("Phone"), max_length=40),
    ),
    columns=(
        Column("name", _("Name"), sort="lastname"),
        Column("email", _("Email"), sort="email"),
        Column("company", _("Company"), sort="company"),
        Column("phone", _("Phone"), sort="phone"),
        Column("created", _("Created"), sort="createdate"),
    ),
    title_property="email",
    # Contacts keep HubSpot's legacy name for the modified date.
    read_properties=("createdate", "lastmodifieddate"),
    search_hint=_("Email, name or company"),
    # A contact's page tells its story: its tickets, companies and deals (each where the
    # credential may read them) and, below them, its chat threads.
    related=("tickets", "companies", "deals"),
    scopes=("crm.objects.contacts.read", "crm.objects.contacts.write"),
    optional=False,  # every part of the panel files things on contacts
    example={"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee"},
)
