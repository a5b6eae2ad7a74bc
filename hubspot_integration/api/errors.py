"""One error envelope for every API answer with a 4xx/5xx status:
`{"success": false, "message": str, "details": ...}`, DRF's own errors included."""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .. import errors as panel_errors

logger = logging.getLogger(__name__)


def envelope(message: str, details=None, *, code: int) -> Response:
    return Response({"success": False, "message": message, "details": details or {}}, status=code)


def _message_for(exc: exceptions.APIException, data) -> str:
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(data, dict):
            fields = [k for k in data if k != "non_field_errors"]
            if fields:
                # The field names are the API's JSON keys: named as sent, in any language.
                return _("Invalid input: %(fields)s.") % {"fields": ", ".join(fields)}
        return _("Invalid input.")
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])
    return str(exc.detail) if hasattr(exc, "detail") else _("Request failed.")


def unexpected(context, *, code: int = 500) -> Response:
    """An error that is no fault of the caller's nor HubSpot's: logged with its traceback (the
    caller of this is in an `except`), answered without it."""
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return envelope(_("The server hit an unexpected error; it has been logged."), code=code)


def panel_error_response(exc: panel_errors.PanelError, context) -> Response:
    """The status is the error class's own (`status_code`): a bad request is the caller's, an
    outage HubSpot's. The panel's own 5xx (an undecryptable secret) is logged, and its message,
    written for whoever runs the panel, is not the caller's to read."""
    if exc.status_code >= 500 and not isinstance(exc, panel_errors.HubSpotError):
        return unexpected(context, code=exc.status_code)
    response = envelope(str(exc), exc.as_dict(), code=exc.status_code)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(int(retry_after) + 1)
    return response


def exception_handler(exc, context):
    # First: a PanelError may also be a Django exception (Http404, PermissionDenied,
    # SuspiciousOperation), which the branches below would answer without its own status.
    if isinstance(exc, panel_errors.PanelError):
        return panel_error_response(exc, context)

    if isinstance(exc, RequestDataTooBig):
        return envelope(
            _("The request body is too large."), code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, SuspiciousOperation):  # what Django itself answers with 400
        return envelope(_("The request could not be understood."), code=status.HTTP_400_BAD_REQUEST)

    response = drf_exception_handler(exc, context)
    if response is None:
        return unexpected(context)
    data = response.data
    details = data if isinstance(exc, exceptions.ValidationError) else {}
    if isinstance(exc, exceptions.Throttled) and exc.wait:
        details = {"retryAfter": int(exc.wait)}
    response.data = {"success": False, "message": _message_for(exc, data), "details": details}
    return response
