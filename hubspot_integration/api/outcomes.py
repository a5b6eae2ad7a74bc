"""Turning a service outcome into an API answer: created, queued, or refused with a reason."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.response import Response

from ..services.outbox import Outcome
from .errors import envelope


def django_to_drf(err: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(err, "error_dict"):
        return serializers.ValidationError(err.message_dict)
    return serializers.ValidationError({"non_field_errors": err.messages})


def outcome_response(outcome: Outcome, key: str, *, created_status=status.HTTP_201_CREATED):
    if outcome.done:
        return Response(
            {"success": True, key: outcome.result.get(key), "created": True},
            status=created_status,
        )
    if outcome.queued:
        return Response(
            {
                "success": True,
                "queued": True,
                "operation": outcome.operation.pk,
                "message": _("Queued: it will be sent to HubSpot when HubSpot is reachable."),
            },
            status=status.HTTP_202_ACCEPTED,
        )
    # A change refused for what it is (its data, the object it names) is the caller's to fix;
    # whatever else ended it (the credential, the setup, HubSpot down for good) is not.
    return envelope(
        _("HubSpot refused the change: %(error)s") % {"error": outcome.error},
        {"operation": outcome.operation.pk, "kind": outcome.operation.last_error_kind},
        code=status.HTTP_400_BAD_REQUEST
        if outcome.error_class.caller_fault
        else status.HTTP_502_BAD_GATEWAY,
    )
