"""The REST endpoints of an object type: `<prefix>/<name>` (list, search, create) and
`<prefix>/<name>/<id>` (read with related records, change, archive), behind the type's permission.

A type's package makes its views with `list_view`/`detail_view` (or subclasses of the classes
here where it answers differently: contacts offer the existing contact instead of a duplicate)
and lists them in `urlpatterns`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.outcomes import django_to_drf, outcome_response
from ..api.permissions import requires
from .service import CrmService
from .types import ObjectType

PREFIX = "admin/settings/hubspot"  # where the panel's HubSpot endpoints have always lived

PAGING_PARAMS = [
    OpenApiParameter("limit", int, description="1-100, default 20"),
    OpenApiParameter("after", str, description="cursor from paging.next"),
    OpenApiParameter("q", str, description="search text"),
    OpenApiParameter(
        "total",
        bool,
        description="true: the answer carries `total`, the number of records the list or search "
        "holds (costs one more HubSpot search on a plain list)",
    ),
]
TRUE_VALUES = {"1", "true", "yes", "on"}
SERIALIZER_FIELDS = {"email": serializers.EmailField, "url": serializers.URLField}


class CrmObjectSerializer(serializers.Serializer):
    """A record as every answer shows it."""

    id = serializers.CharField()
    properties = serializers.DictField(child=serializers.CharField(allow_null=True))


def limit_of(request) -> int:
    try:
        return max(1, min(int(request.query_params.get("limit", 20)), 100))
    except ValueError:
        return 20


def shape(record: dict) -> dict:
    return {"id": record["id"], "properties": record.get("properties", {})}


def listed(request, key: str, lister, **filters) -> Response:
    """One page of a list or search, in the shape every list answer of the API has."""
    # The total is asked for, not given by default: on a plain list it costs another search.
    with_total = request.query_params.get("total", "").lower() in TRUE_VALUES
    page = lister(
        limit=limit_of(request),
        after=request.query_params.get("after") or None,
        query=request.query_params.get("q", ""),
        with_total=with_total,
        **filters,
    )
    answer = {
        "success": True,
        key: [shape(record) for record in page.results],
        "paging": {"next": page.next_after},
    }
    if with_total:
        answer["total"] = page.total
    return Response(answer)


def validated(serializer_class, request, *, partial=False):
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def written(outcome, key: str, *, changed: bool = False) -> Response:
    """The answer to a create (`changed=False`) or change: the record as HubSpot holds it, or
    queued, or refused."""
    response = outcome_response(
        outcome, key, created_status=status.HTTP_200_OK if changed else status.HTTP_201_CREATED
    )
    if outcome.done:
        response.data[key] = shape(response.data[key])
        if changed:
            response.data.pop("created", None)
    return response


def serializer_for(object_type: ObjectType, *, partial: bool = False):
    """The request body of a create (`partial=False`) or change, from the declared properties."""
    fields = {}
    for prop in object_type.properties:
        field_class = SERIALIZER_FIELDS.get(prop.kind, serializers.CharField)
        kwargs = {"max_length": prop.max_length, "required": prop.required and not partial}
        if not prop.required or partial:
            kwargs["allow_blank"] = True
        fields[prop.name] = field_class(**kwargs)
    name = object_type.singular.title().replace("_", "")
    suffix = "PatchSerializer" if partial else "InputSerializer"
    return type(f"{name}{suffix}", (serializers.Serializer,), fields)


class ObjectListView(APIView):
    object_type: ObjectType
    service: CrmService
    input_serializer: type

    def get(self, request):
        return listed(request, self.object_type.name, self.service.list)

    def post(self, request):
        data = validated(self.input_serializer, request)
        try:
            outcome = self.service.create(data, user=request.user)
        except DjangoValidationError as err:
            raise django_to_drf(err) from None
        return written(outcome, self.object_type.singular)


class ObjectDetailView(APIView):
    object_type: ObjectType
    service: CrmService
    patch_serializer: type

    def object_id(self) -> str:
        return self.kwargs[f"{self.object_type.singular}_id"]  # "contact_id": the documented name

    def get(self, request, **kwargs):
        record = self.service.get(self.object_id())
        shaped = shape(record)
        found, problems = self.service.related(record)
        for type_name, records in found.items():
            shaped[type_name] = [shape(r) for r in records]
        answer = {"success": True, self.object_type.singular: shaped}
        if problems:  # the record, and what could be read of its links
            answer["unavailable"] = problems
        return Response(answer)

    def patch(self, request, **kwargs):
        data = validated(self.patch_serializer, request, partial=True)
        try:
            outcome = self.service.update(self.object_id(), data, user=request.user)
        except DjangoValidationError as err:
            raise django_to_drf(err) from None
        return written(outcome, self.object_type.singular, changed=True)

    def delete(self, request, **kwargs):
        outcome = self.service.archive(self.object_id(), user=request.user)
        if outcome.done:
            return Response({"success": True, "archived": True})
        return outcome_response(outcome, self.object_type.singular)


def list_view(object_type: ObjectType, service: CrmService, module: str, base=ObjectListView):
    """The list endpoint's view class for a type (`module`: where it is said to live, for the
    schema and tracebacks), documented in the schema."""
    label = object_type.label_plural
    attrs = {
        "__module__": module,
        "object_type": object_type,
        "service": service,
        "input_serializer": serializer_for(object_type),
        "permission_classes": [requires(object_type.permission)],
    }
    view = type(f"{object_type.singular.title()}ListView", (base,), attrs)
    return extend_schema_view(
        get=extend_schema(parameters=PAGING_PARAMS, summary=f"List or search HubSpot {label}"),
        post=extend_schema(
            request=attrs["input_serializer"], summary=f"Create a HubSpot {object_type.label}"
        ),
    )(view)


def detail_view(object_type: ObjectType, service: CrmService, module: str, base=ObjectDetailView):
    label = object_type.label
    attrs = {
        "__module__": module,
        "object_type": object_type,
        "service": service,
        "patch_serializer": serializer_for(object_type, partial=True),
        "permission_classes": [requires(object_type.permission)],
    }
    related = ", ".join(object_type.related)
    docs = {
        "get": extend_schema(
            summary=f"Read a HubSpot {label}" + (f" with its {related}" if related else "")
        ),
        "patch": extend_schema(request=attrs["patch_serializer"], summary=f"Change a {label}"),
    }
    if "archive" in object_type.verbs:
        docs["delete"] = extend_schema(summary=f"Archive a {label}")
    else:
        attrs["http_method_names"] = ["get", "patch", "head", "options"]
    view = type(f"{object_type.singular.title()}DetailView", (base,), attrs)
    return extend_schema_view(**docs)(view)


def urls_for(object_type: ObjectType, list_class, detail_class) -> list:
    """`<prefix>/<name>` named `<name>`, `<prefix>/<name>/<id>` named `<singular>`."""
    return [
        path(f"{PREFIX}/{object_type.name}", list_class.as_view(), name=object_type.name),
        path(
            f"{PREFIX}/{object_type.name}/<str:{object_type.singular}_id>",
            detail_class.as_view(),
            name=object_type.singular,
        ),
    ]
