"""Contacts, tickets and pipelines for staff, same permissions as the admin pages."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..services import contacts, tickets
from .crm_serializers import (
    ContactInputSerializer,
    ContactPatchSerializer,
    TicketInputSerializer,
    TicketPatchSerializer,
)
from .outcomes import django_to_drf, outcome_response
from .params import wants_refresh
from .permissions import CanManageContacts, CanManageTickets

PAGING_PARAMS = [
    OpenApiParameter("limit", int, description="1-100, default 20"),
    OpenApiParameter("after", str, description="cursor from paging.next"),
    OpenApiParameter("q", str, description="search text"),
]


def _limit(request) -> int:
    try:
        return max(1, min(int(request.query_params.get("limit", 20)), 100))
    except ValueError:
        return 20


def _shape(obj: dict) -> dict:
    return {"id": obj["id"], "properties": obj.get("properties", {})}


def _listed(request, key: str, lister, **filters) -> Response:
    """One page of a list or search, in the shape every list answer of the API has."""
    page = lister(
        limit=_limit(request),
        after=request.query_params.get("after") or None,
        query=request.query_params.get("q", ""),
        **filters,
    )
    return Response(
        {
            "success": True,
            key: [_shape(obj) for obj in page.results],
            "paging": {"next": page.next_after},
        }
    )


def _validated(serializer_class, request, *, partial=False):
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ContactListView(APIView):
    permission_classes = [CanManageContacts]

    @extend_schema(parameters=PAGING_PARAMS, summary="List or search HubSpot contacts")
    def get(self, request):
        return _listed(request, "contacts", contacts.list_contacts)

    @extend_schema(request=ContactInputSerializer, summary="Create a contact (no duplicates)")
    def post(self, request):
        data = _validated(ContactInputSerializer, request)
        try:
            result = contacts.create_contact(data, user=request.user)
        except DjangoValidationError as err:
            raise django_to_drf(err) from None
        if result.existing is not None:
            return Response(
                {
                    "success": True,
                    "contact": _shape(result.existing),
                    "created": False,
                    "message": "A contact with this email already exists.",
                },
                status=status.HTTP_200_OK,
            )
        response = outcome_response(result.outcome, "contact")
        if result.outcome.done:
            response.data["contact"] = _shape(response.data["contact"])
        return response


class ContactDetailView(APIView):
    permission_classes = [CanManageContacts]

    def get(self, request, contact_id):
        return Response({"success": True, "contact": _shape(contacts.get_contact(contact_id))})

    @extend_schema(request=ContactPatchSerializer)
    def patch(self, request, contact_id):
        data = _validated(ContactPatchSerializer, request, partial=True)
        try:
            outcome = contacts.update_contact(contact_id, data, user=request.user)
        except DjangoValidationError as err:
            raise django_to_drf(err) from None
        response = outcome_response(outcome, "contact", created_status=status.HTTP_200_OK)
        if outcome.done:
            response.data["contact"] = _shape(response.data["contact"])
            response.data.pop("created", None)
        return response

    def delete(self, request, contact_id):
        outcome = contacts.archive_contact(contact_id, user=request.user)
        if outcome.done:
            return Response({"success": True, "archived": True})
        return outcome_response(outcome, "contact")


class TicketListView(APIView):
    permission_classes = [CanManageTickets]

    @extend_schema(
        parameters=PAGING_PARAMS
        + [OpenApiParameter("stage", str), OpenApiParameter("priority", str)],
        summary="List or search HubSpot tickets",
    )
    def get(self, request):
        return _listed(
            request,
            "tickets",
            tickets.list_tickets,
            stage=request.query_params.get("stage", ""),
            priority=request.query_params.get("priority", ""),
        )

    @extend_schema(request=TicketInputSerializer, summary="Create a ticket for a requester")
    def post(self, request):
        tickets.ensure_enabled()
        data = _validated(TicketInputSerializer, request)
        try:
            outcome = tickets.create_ticket(data, user=request.user)
        except DjangoValidationError as err:
            raise django_to_drf(err) from None
        response = outcome_response(outcome, "ticket")
        if outcome.done:
            response.data["ticket"] = _shape(response.data["ticket"])
        return response


class TicketDetailView(APIView):
    permission_classes = [CanManageTickets]

    def get(self, request, ticket_id):
        ticket = tickets.get_ticket(ticket_id)
        shaped = _shape(ticket)
        contact_links = ((ticket.get("associations") or {}).get("contacts") or {}).get("results")
        shaped["contacts"] = [c.get("id") for c in contact_links or []]
        return Response({"success": True, "ticket": shaped})

    @extend_schema(request=TicketPatchSerializer)
    def patch(self, request, ticket_id):
        tickets.ensure_enabled()
        data = _validated(TicketPatchSerializer, request, partial=True)
        try:
            outcome = tickets.update_ticket(ticket_id, data, user=request.user)
        except DjangoValidationError as err:
            raise django_to_drf(err) from None
        response = outcome_response(outcome, "ticket", created_status=status.HTTP_200_OK)
        if outcome.done:
            response.data["ticket"] = _shape(response.data["ticket"])
            response.data.pop("created", None)
        return response


class PipelinesView(APIView):
    permission_classes = [CanManageTickets]

    @extend_schema(parameters=[OpenApiParameter("refresh", bool)])
    def get(self, request):
        tickets.ensure_enabled()
        refresh = wants_refresh(request)
        return Response({"success": True, "pipelines": tickets.pipelines(refresh=refresh)})
