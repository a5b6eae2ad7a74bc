"""HubSpot companies: the organisations contacts work for and deals are made with."""

from django.utils.translation import gettext_lazy as _

from ..crm.types import Column, ObjectType, Property

OBJECT_TYPE = ObjectType(
    name="companies",
    singular="company",
    verbose_name=_("company"),
    verbose_name_plural=_("companies"),
    properties=(
        Property("name", _("Name"), required=True),
        Property("domain", _("Domain"), help_text=_("example.com: HubSpot links contacts by it.")),
        Property("phone", _("Phone"), max_length=40),
        Property("city", _("City"), max_length=100),
        Property("country", _("Country"), max_length=100),
    ),
    columns=(
        Column("name", _("Name"), sort="name"),
        Column("domain", _("Domain"), sort="domain"),
        Column("city", _("City"), sort="city"),
        Column("phone", _("Phone"), sort="phone"),
        Column("created", _("Created"), sort="createdate"),
    ),
    title_property="name",
    search_hint=_("Name or domain"),
    related=("contacts", "deals"),
    # Creating needs the request-key property once (crm.schemas.companies.write).
    scopes=(
        "crm.objects.companies.read",
        "crm.objects.companies.write",
        "crm.schemas.companies.write",
    ),
    example={"name": "Acme Hosting", "domain": "acme.example", "city": "Berlin"},
)
