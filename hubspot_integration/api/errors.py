"""One error envelope for every API answer with a 4xx/5xx status:
`{"success": false, "message": str, "details": ...}`, DRF's own errors included."""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .. import errors as hubspot_errors

logger = logging.getLogger(__name__)

# HubSpot's failures as the API's caller should see them: a bad request is theirs, an outage ours.
HUBSPOT_STATUS = {
    "not_configured": status.HTTP_409_CONFLICT,
    "undecryptable": status.HTTP_409_CONFLICT,  # an admin must restore the key or re-enter it
    "tickets_disabled": status.HTTP_403_FORBIDDEN,
    "auth": status.HTTP_502_BAD_GATEWAY,
    "reconnect": status.HTTP_409_CONFLICT,  # an admin must reconnect; not HubSpot failing
    "forbidden": status.HTTP_502_BAD_GATEWAY,
    "not_found": status.HTTP_404_NOT_FOUND,
    "conflict": status.HTTP_409_CONFLICT,
    "validation": status.HTTP_400_BAD_REQUEST,
    "rate_limited": status.HTTP_503_SERVICE_UNAVAILABLE,
    "unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}


def envelope(message: str, details=None, *, code: int) -> Response:
    return Response({"success": False, "message": message, "details": details or {}}, status=code)


def _message_for(exc: exceptions.APIException, data) -> str:
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(data, dict):
            fields = [k for k in data if k != "non_field_errors"]
            if fields:
                return "Invalid input: " + ", ".join(fields) + "."
        return "Invalid input."
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])
    return str(exc.detail) if hasattr(exc, "detail") else "Request failed."


def exception_handler(exc, context):
    if isinstance(exc, hubspot_errors.HubSpotError):
        code = HUBSPOT_STATUS.get(exc.kind, status.HTTP_502_BAD_GATEWAY)
        response = envelope(str(exc), exc.as_dict(), code=code)
        if exc.retry_after:
            response["Retry-After"] = str(int(exc.retry_after) + 1)
        return response

    if isinstance(exc, RequestDataTooBig):
        return envelope(
            "The request body is too large.", code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, SuspiciousOperation):  # what Django itself answers with 400
        return envelope("The request could not be understood.", code=status.HTTP_400_BAD_REQUEST)

    response = drf_exception_handler(exc, context)
    if response is None:
        # An unexpected error: log it with its traceback, answer without one.
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        return envelope("The server hit an unexpected error; it has been logged.", code=500)
    data = response.data
    details = data if isinstance(exc, exceptions.ValidationError) else {}
    if isinstance(exc, exceptions.Throttled) and exc.wait:
        details = {"retryAfter": int(exc.wait)}
    response.data = {"success": False, "message": _message_for(exc, data), "details": details}
    return response
