"""HubSpot tickets: support requests in HubSpot's pipelines, filed on the requester's contact."""

from ..crm.types import Column, ObjectType, Property

OBJECT_TYPE = ObjectType(
    name="tickets",
    singular="ticket",
    properties=(
        Property("subject", "Subject", required=True),
        Property("content", "Description", max_length=10000, kind="textarea"),
    ),
    columns=(
        Column("subject", "Subject", sort="subject"),
        Column("stage", "Stage", sort="hs_pipeline_stage"),
        Column("priority", "Priority", sort="hs_ticket_priority"),
        Column("created", "Created", sort="createdate"),
    ),
    title_property="subject",
    # What a ticket's page and the API show of it.
    read_properties=(
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_priority",
        "hs_ticket_category",
        "hubspot_owner_id",
        "createdate",
        "hs_lastmodifieddate",
    ),
    related=("contacts",),
    scopes=("tickets",),
    optional=False,
    enabled_by="tickets_enabled",
    example={"subject": "Cannot log in", "hs_pipeline_stage": "81234568"},
    verbs=("create", "update"),  # closed by moving their stage, never archived from the panel
)
