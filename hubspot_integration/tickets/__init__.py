"""HubSpot tickets: support requests in HubSpot's pipelines, filed on the requester's contact."""

from django.utils.translation import gettext_lazy as _

from ..crm.types import Column, ObjectType, Property

OBJECT_TYPE = ObjectType(
    name="tickets",
    singular="ticket",
    verbose_name=_("ticket"),
    verbose_name_plural=_("tickets"),
    properties=(
        Property("subject", _("Subject"), required=True),
        Property("content", _("Description"), max_length=10000, kind="textarea"),
    ),
    columns=(
        Column("subject", _("Subject"), sort="subject"),
        Column("stage", _("Stage"), sort="hs_pipeline_stage"),
        Column("priority", _("Priority"), sort="hs_ticket_priority"),
        Column("created", _("Created"), sort="createdate"),
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
