"""HubSpot companies: the organisations contacts work for and deals are made with."""

from ..crm.types import Column, ObjectType, Property

OBJECT_TYPE = ObjectType(
    name="companies",
    singular="company",
    properties=(
        Property("name", "Name", required=True),
        Property("domain", "Domain", help_text="example.com: HubSpot links contacts by it."),
        Property("phone", "Phone", max_length=40),
        Property("city", "City", max_length=100),
        Property("country", "Country", max_length=100),
    ),
    columns=(
        Column("name", "Name", sort="name"),
        Column("domain", "Domain", sort="domain"),
        Column("city", "City", sort="city"),
        Column("phone", "Phone", sort="phone"),
        Column("created", "Created", sort="createdate"),
    ),
    title_property="name",
    search_hint="Name or domain",
    related=("contacts", "deals"),
    # Creating needs the request-key property once (crm.schemas.companies.write).
    scopes=(
        "crm.objects.companies.read",
        "crm.objects.companies.write",
        "crm.schemas.companies.write",
    ),
    example={"name": "Acme Hosting", "domain": "acme.example", "city": "Berlin"},
)
