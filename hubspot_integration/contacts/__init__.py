"""HubSpot contacts: the panel's people. An email names one contact, never two."""

from ..crm.types import Column, ObjectType, Property

OBJECT_TYPE = ObjectType(
    name="contacts",
    singular="contact",
    properties=(
        Property("email", "Email", max_length=254, required=True, kind="email"),
        Property("firstname", "First name", max_length=100),
        Property("lastname", "Last name", max_length=100),
        Property("company", "Company", max_length=200),
        Property("phone", "Phone", max_length=40),
    ),
    columns=(
        Column("name", "Name", sort="lastname"),
        Column("email", "Email", sort="email"),
        Column("company", "Company", sort="company"),
        Column("phone", "Phone", sort="phone"),
        Column("created", "Created", sort="createdate"),
    ),
    title_property="email",
    # Contacts keep HubSpot's legacy name for the modified date.
    read_properties=("createdate", "lastmodifieddate"),
    search_hint="Email, name or company",
    # A contact's page tells its story: its tickets, companies and deals (each where the
    # credential may read them) and, below them, its chat threads.
    related=("tickets", "companies", "deals"),
    scopes=("crm.objects.contacts.read", "crm.objects.contacts.write"),
    optional=False,  # every part of the panel files things on contacts
    example={"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee"},
)
