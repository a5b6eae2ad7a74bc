"""`/api/admin/settings/hubspot/contacts` and `.../contacts/<id>`: the shared CRM endpoints; a
create for an email that has a contact answers with that contact instead of a duplicate."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response

from ..api.outcomes import django_to_drf
from ..crm.api import ObjectListView, detail_view, list_view, shape, urls_for, validated, written
from . import OBJECT_TYPE
from .service import service


class UniqueEmailListView(ObjectListView):
    offers_existing = True  # a create may answer 200 with the contact that has the email

    def post(self, request):
        data = validated(self.input_serializer, request)
        try:
            result = service.create_unique(data, user=request.user)
        except DjangoValidationError as err:
            raise django_to_drf(err) from None
        if result.existing is not None:
            return Response(
                {
                    "success": True,
                    "contact": shape(result.existing),
                    "created": False,
                    "message": "A contact with this email already exists.",
                },
                status=status.HTTP_200_OK,
            )
        return written(result.outcome, "contact")


ContactListView = list_view(OBJECT_TYPE, service, __name__, base=UniqueEmailListView)
ContactDetailView = detail_view(OBJECT_TYPE, service, __name__)

urlpatterns = urls_for(OBJECT_TYPE, ContactListView, ContactDetailView)
