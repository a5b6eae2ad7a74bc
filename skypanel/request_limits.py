"""Request bodies are capped before any of them is read, and an over-cap request is told so.

Django checks `DATA_UPLOAD_MAX_MEMORY_SIZE` only when a view reads `request.POST` or `.body`
(Django REST framework reads the stream itself and never checks it), and does not cap file uploads
at all: they stream to a temporary file whatever their size. This middleware looks at the declared
`Content-Length` first: a multipart upload may be up to `MAX_REQUEST_BODY_BYTES` (the contact
import's `HUBSPOT_IMPORT_MAX_UPLOAD_BYTES` and room for the form around it), any other body up to
`DATA_UPLOAD_MAX_MEMORY_SIZE`. Bigger is a 413 with a message (JSON for the API and the webhook),
never a 500. The proxy in front should refuse the same sizes (nginx `client_max_body_size`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.html import escape
from django.utils.translation import gettext as _

JSON_PATHS = ("/api/", "/hubspot/webhooks/")


def wants_json(request) -> bool:
    return request.path.startswith(JSON_PATHS) or "application/json" in request.headers.get(
        "Accept", ""
    )


def body_limit(request) -> int | None:
    if request.content_type == "multipart/form-data":
        return getattr(settings, "MAX_REQUEST_BODY_BYTES", None)
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def refusal(request, status: int, message: str, **details) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(
            {"success": False, "message": message, "details": details}, status=status
        )
    title = _("Request too large") if status == 413 else _("Bad request")
    html = (
        f"<!doctype html><title>{title}</title><h1>{title} ({status})</h1><p>{escape(message)}</p>"
    )
    return HttpResponse(html, status=status)


def too_large(request, limit: int, length: int | None = None) -> HttpResponse:
    if length:
        message = _(
            "The request is too large (%(size)s): this site accepts at most %(limit)s here. "
            "Send a smaller file or less text."
        ) % {"size": filesizeformat(length), "limit": filesizeformat(limit)}
    else:
        message = _(
            "The request is too large: this site accepts at most %(limit)s here. "
            "Send a smaller file or less text."
        ) % {"limit": filesizeformat(limit)}
    return refusal(request, 413, message, limit=limit)


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return refusal(request, 400, _("The Content-Length header is not a number."))
        if length < 0:
            return refusal(request, 400, _("The Content-Length header is negative."))
        limit = body_limit(request)
        if limit is not None and length > limit:
            return too_large(request, limit, length)
        return self.get_response(request)


def bad_request(request, exception=None):
    """handler400: Django's "Bad Request (400)", but saying what was wrong with the body."""
    if isinstance(exception, RequestDataTooBig):
        return too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return refusal(request, 400, _("The request could not be understood."))
