"""OpenAPI documentation of the settings and CRM endpoints, kept beside their views' modules.

drf-spectacular's view extensions decorate the views at schema time only, so the views stay as
their owners wrote them and the schema still states each answer's real envelope, with examples.
Imported by `urls.py`, so the extensions are registered wherever the API is routed.
"""

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers

from ..crm import registry
from ..crm.api import CrmObjectSerializer
from ..tickets.api import TicketInputSerializer, TicketPatchSerializer
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


ARCHIVED = _shape("ArchivedResponse", archived=serializers.BooleanField())


def _object_type_docs(object_type, module) -> None:
    """The docs of an object type's two endpoints (`crm/api.py`), registered as view extensions
    like the hand-written ones: one definition for every type the registry lists."""
    name, singular = object_type.name, object_type.singular
    title = singular.title().replace("_", "")
    example = {"id": "101", "properties": dict(object_type.example)}
    list_class, detail_class = (
        module.urlpatterns[0].callback.cls,
        module.urlpatterns[1].callback.cls,
    )
    created = {
        201: _object_response(f"{title}CreatedResponse", singular, created=True),
        202: QUEUED,
    }
    if getattr(list_class, "offers_existing", False):
        created[200] = _object_response(f"{title}ExistsResponse", singular, created=True)
    list_docs = {
        "get": extend_schema(
            operation_id=f"{name}_list",
            responses=_list_response(f"{title}ListResponse", name),
            examples=[
                _example(title, {"success": True, name: [example], "paging": {"next": "102"}})
            ],
        ),
        "post": extend_schema(
            request=list_class.input_serializer,
            responses=created,
            examples=[
                _example(f"New {object_type.label}", example["properties"], request=True),
                _example(
                    "Created", {"success": True, singular: example, "created": True}, status=201
                ),
            ],
        ),
    }
    related = {type_name: CrmObjectSerializer(many=True) for type_name in object_type.related}
    one = _object_response(f"{title}Response", singular)
    with_related = (
        _shape(
            f"{title}WithRelatedResponse",
            **{
                singular: _shape(
                    f"{title}WithRelated",
                    id=serializers.CharField(),
                    properties=serializers.DictField(),
                    **related,
                )
            },
        )
        if related
        else one
    )
    detail_docs = {
        "get": extend_schema(
            operation_id=f"{singular}_retrieve",
            responses=with_related,
            examples=[
                _example(
                    title,
                    {
                        "success": True,
                        singular: {**example, **{t: [] for t in object_type.related}},
                    },
                )
            ],
        ),
        "patch": extend_schema(
            request=detail_class.patch_serializer,
            responses={200: one, 202: QUEUED},
            examples=[_example("Change", example["properties"], request=True)],
        ),
    }
    if "archive" in object_type.verbs:
        detail_docs["delete"] = extend_schema(
            responses={200: ARCHIVED, 202: QUEUED},
            examples=[_example("Archived", {"success": True, "archived": True})],
        )
    for view_class, docs in ((list_class, list_docs), (detail_class, detail_docs)):
        type(
            f"{view_class.__name__}Docs",
            (_Docs,),
            {
                "target_class": f"{view_class.__module__}.{view_class.__name__}",
                "decorators": docs,
            },
        )


for _module in registry.modules("api"):
    # Views made by `crm.api.list_view` are documented here; the rest (tickets') by hand below.
    if getattr(_module.urlpatterns[0].callback.cls, "object_type", None) is not None:
        _object_type_docs(_module.urlpatterns[0].callback.cls.object_type, _module)


class TicketListDocs(_Docs):
    target_class = "hubspot_integration.tickets.api.TicketListView"
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
    target_class = "hubspot_integration.tickets.api.TicketDetailView"
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
    target_class = "hubspot_integration.tickets.api.PipelinesView"
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
