"""`/api/admin/settings/hubspot/tickets`, `.../tickets/<id>` and `.../pipelines`: the shared CRM
helpers, with the tickets' own filters (stage, priority), requester and pipeline rules."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.outcomes import django_to_drf
from ..api.params import wants_refresh
from ..api.permissions import CanManageTickets
from ..crm.api import PAGING_PARAMS, PREFIX, listed, shape, validated, written
from . import service as tickets
from .service import CATEGORIES, Priority


class CaseInsensitiveChoice(serializers.ChoiceField):
    def to_internal_value(self, data):
        return super().to_internal_value(str(data).upper() if data is not None else data)


class TicketInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=255)
    content = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    email = serializers.EmailField(max_length=254)
    priority = CaseInsensitiveChoice(choices=Priority.values, required=False, default="MEDIUM")
    category = CaseInsensitiveChoice(choices=CATEGORIES, required=False, allow_blank=True)
    pipeline = serializers.CharField(required=False, allow_blank=True, max_length=64)
    stage = serializers.CharField(required=False, allow_blank=True, max_length=64)


class TicketPatchSerializer(serializers.Serializer):
    subject = serializers.CharField(required=False, max_length=255)
    content = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    priority = CaseInsensitiveChoice(choices=Priority.values, required=False)
    pipeline = serializers.CharField(required=False, allow_blank=True, max_length=64)
    stage = serializers.CharField(required=False, allow_blank=True, max_length=64)
    owner = serializers.CharField(required=False, allow_blank=True, max_length=32)


class TicketListView(APIView):
    permission_classes = [CanManageTickets]

    @extend_schema(
        parameters=PAGING_PARAMS
        + [OpenApiParameter("stage", str), OpenApiParameter("priority", str)],
        summary="List or search HubSpot tickets",
    )
    def get(self, request):
        return listed(
            request,
            "tickets",
            tickets.list_tickets,
            stage=request.query_params.get("stage", ""),
            priority=request.query_params.get("priority", ""),
        )

    @extend_schema(request=TicketInputSerializer, summary="Create a ticket for a requester")
    def post(self, request):
        tickets.ensure_enabled()
        data = validated(TicketInputSerializer, request)
        try:
            outcome = tickets.create_ticket(data, user=request.user)
        except DjangoValidationError as err:
            raise django_to_drf(err) from None
        return written(outcome, "ticket")


class TicketDetailView(APIView):
    permission_classes = [CanManageTickets]

    def get(self, request, ticket_id):
        ticket = tickets.get_ticket(ticket_id)
        shaped = shape(ticket)
        contact_links = ((ticket.get("associations") or {}).get("contacts") or {}).get("results")
        shaped["contacts"] = [c.get("id") for c in contact_links or []]
        return Response({"success": True, "ticket": shaped})

    @extend_schema(request=TicketPatchSerializer)
    def patch(self, request, ticket_id):
        tickets.ensure_enabled()
        data = validated(TicketPatchSerializer, request, partial=True)
        try:
            outcome = tickets.update_ticket(ticket_id, data, user=request.user)
        except DjangoValidationError as err:
            raise django_to_drf(err) from None
        return written(outcome, "ticket", changed=True)


class PipelinesView(APIView):
    permission_classes = [CanManageTickets]

    @extend_schema(parameters=[OpenApiParameter("refresh", bool)])
    def get(self, request):
        tickets.ensure_enabled()
        refresh = wants_refresh(request)
        return Response({"success": True, "pipelines": tickets.pipelines(refresh=refresh)})


urlpatterns = [
    path(f"{PREFIX}/tickets", TicketListView.as_view(), name="tickets"),
    path(f"{PREFIX}/tickets/<str:ticket_id>", TicketDetailView.as_view(), name="ticket"),
    path(f"{PREFIX}/pipelines", PipelinesView.as_view(), name="pipelines"),
]
