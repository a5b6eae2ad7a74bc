"""Tickets and pipelines for staff, same permissions as the admin pages."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ..crm.api import PAGING_PARAMS, listed, shape, validated, written
from ..services import tickets
from .crm_serializers import TicketInputSerializer, TicketPatchSerializer
from .outcomes import django_to_drf
from .params import wants_refresh
from .permissions import CanManageTickets


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
