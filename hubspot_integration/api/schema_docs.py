"""OpenAPI documentation of the settings and CRM endpoints, kept beside their views' modules.

drf-spectacular's view extensions decorate the views at schema time only, so the views stay as
their owners wrote them and the schema still states each answer's real envelope, with examples.
Imported by `urls.py`, so the extensions are registered wherever the API is routed.
"""

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers

from .crm_serializers import (
    ContactInputSerializer,
    ContactPatchSerializer,
    CrmObjectSerializer,
    TicketInputSerializer,
    TicketPatchSerializer,
)
from .schema import envelope
from .serializers import SettingsSerializer


def _shape(name: str, **fields) -> serializers.Serializer:
    from drf_spectacular.utils import inline_serializer

    return inline_serializer(name=name, fields={"success": serializers.BooleanField(), **fields})


QUEUED = _shape(
    "QueuedResponse",
    queued=serializers.BooleanField(),
    operation=serializers.IntegerField(),
    message=serializers.CharField(),
)
CONTACT_EXAMPLE = {
    "id": "101",
    "properties": {"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee"},
}
TICKET_EXAMPLE = {
    "id": "301",
    "properties": {"subject": "Cannot log in", "hs_pipeline_stage": "81234568"},
}


def _example(name, value, *, request=False, status=None):
    kwargs = {"request_only": True} if request else {"response_only": True}
    if status:
        kwargs["status_codes"] = [str(status)]
    return OpenApiExample(name, value=value, **kwargs)


def _object_response(name: str, key: str, *, created: bool = False, extra=None):
    fields = {key: CrmObjectSerializer(), **(extra or {})}
    if created:
        fields["created"] = serializers.BooleanField()
        fields["message"] = serializers.CharField(required=False)
    return _shape(name, **fields)


def _list_response(name: str, key: str):
    return _shape(
        name,
        **{key: CrmObjectSerializer(many=True)},
        paging=serializers.DictField(child=serializers.CharField(allow_null=True)),
    )


class _Docs(OpenApiViewExtension):
    decorators: dict = {}

    def view_replacement(self):
        return extend_schema_view(**self.decorators)(self.target_class)


class SettingsConfigDocs(_Docs):
    target_class = "hubspot_integration.api.settings_views.SettingsConfigView"
    decorators = {
        "get": extend_schema(
            responses=envelope("SettingsResponse", SettingsSerializer()),
            examples=[
                _example(
                    "Settings",
                    {
                        "success": True,
                        "data": {
                            "enabled": True,
                            "portalId": "12345678",
                            "hasApiKey": True,
                            "apiKeyMasked": "pat-na1-…5555",
                        },
                    },
                )
            ],
        )
    }


class SettingsUpdateDocs(_Docs):
    target_class = "hubspot_integration.api.settings_views.SettingsUpdateView"
    decorators = {
        "put": extend_schema(
            request=SettingsSerializer,
            responses=envelope(
                "SettingsUpdateResponse", SettingsSerializer(), message=serializers.CharField()
            ),
            examples=[
                _example("Switch chat on", {"chatEnabled": True}, request=True),
                _example(
                    "Saved",
                    {"success": True, "message": "Settings saved.", "data": {"chatEnabled": True}},
                ),
            ],
        )
    }


class TestConnectionDocs(_Docs):
    target_class = "hubspot_integration.api.settings_views.TestConnectionView"
    decorators = {
        "post": extend_schema(
            examples=[
                _example(
                    "Connected",
                    {
                        "success": True,
                        "message": "Connected to HubSpot: every check passed.",
                        "checks": [{"name": "token", "ok": True, "message": "Accepted."}],
                        "account": {"portalId": 12345678, "dataHostingLocation": "na1"},
                    },
                )
            ]
        )
    }


class ContactListDocs(_Docs):
    target_class = "hubspot_integration.api.crm_views.ContactListView"
    decorators = {
        "get": extend_schema(
            operation_id="contacts_list",
            responses=_list_response("ContactListResponse", "contacts"),
            examples=[
                _example(
                    "Contacts",
                    {"success": True, "contacts": [CONTACT_EXAMPLE], "paging": {"next": "102"}},
                )
            ],
        ),
        "post": extend_schema(
            request=ContactInputSerializer,
            responses={
                200: _object_response("ContactExistsResponse", "contact", created=True),
                201: _object_response("ContactCreatedResponse", "contact", created=True),
                202: QUEUED,
            },
            examples=[
                _example(
                    "New contact", {"email": "ann@example.com", "firstname": "Ann"}, request=True
                ),
                _example(
                    "Created",
                    {"success": True, "contact": CONTACT_EXAMPLE, "created": True},
                    status=201,
                ),
            ],
        ),
    }


CONTACT_RESPONSE = _object_response("ContactResponse", "contact")


class ContactDetailDocs(_Docs):
    target_class = "hubspot_integration.api.crm_views.ContactDetailView"
    decorators = {
        "get": extend_schema(
            operation_id="contact_retrieve",
            responses=CONTACT_RESPONSE,
            examples=[_example("Contact", {"success": True, "contact": CONTACT_EXAMPLE})],
        ),
        "patch": extend_schema(
            request=ContactPatchSerializer,
            responses={200: CONTACT_RESPONSE, 202: QUEUED},
            examples=[_example("Rename", {"firstname": "Anne"}, request=True)],
        ),
        "delete": extend_schema(
            responses={
                200: _shape("ArchivedResponse", archived=serializers.BooleanField()),
                202: QUEUED,
            },
            examples=[_example("Archived", {"success": True, "archived": True})],
        ),
    }


class TicketListDocs(_Docs):
    target_class = "hubspot_integration.api.crm_views.TicketListView"
    decorators = {
        "get": extend_schema(
            operation_id="tickets_list",
            responses=_list_response("TicketListResponse", "tickets"),
            examples=[
                _example(
                    "Tickets",
                    {"success": True, "tickets": [TICKET_EXAMPLE], "paging": {"next": None}},
                )
            ],
        ),
        "post": extend_schema(
            request=TicketInputSerializer,
            responses={
                201: _object_response("TicketCreatedResponse", "ticket", created=True),
                202: QUEUED,
            },
            examples=[
                _example(
                    "New ticket",
                    {"subject": "Cannot log in", "email": "ann@example.com", "priority": "HIGH"},
                    request=True,
                )
            ],
        ),
    }


class TicketDetailDocs(_Docs):
    target_class = "hubspot_integration.api.crm_views.TicketDetailView"
    decorators = {
        "get": extend_schema(
            operation_id="ticket_retrieve",
            responses=_shape(
                "TicketResponse",
                ticket=serializers.DictField(),
            ),
            examples=[
                _example(
                    "Ticket", {"success": True, "ticket": {**TICKET_EXAMPLE, "contacts": ["101"]}}
                )
            ],
        ),
        "patch": extend_schema(
            request=TicketPatchSerializer,
            responses={200: _object_response("TicketUpdatedResponse", "ticket"), 202: QUEUED},
            examples=[_example("Move", {"stage": "81234571"}, request=True)],
        ),
    }


class PipelinesDocs(_Docs):
    target_class = "hubspot_integration.api.crm_views.PipelinesView"
    decorators = {
        "get": extend_schema(
            responses=_shape(
                "TicketPipelinesResponse",
                pipelines=serializers.ListField(child=serializers.DictField()),
            ),
            examples=[
                _example(
                    "Pipelines",
                    {
                        "success": True,
                        "pipelines": [
                            {"id": "81234567", "label": "Support Pipeline", "stages": []}
                        ],
                    },
                )
            ],
        )
    }


class PublicConfigDocs(_Docs):
    target_class = "hubspot_integration.api.public_views.PublicConfigView"
    decorators = {
        "get": extend_schema(
            auth=[],
            responses={200: OpenApiTypes.OBJECT},
            examples=[
                _example("Config", {"enabled": True, "portalId": "12345678", "chatEnabled": True})
            ],
        )
    }
