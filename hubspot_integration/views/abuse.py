"""Abuse protection for the public forms: a cache-based rate limit, a honeypot, a size cap.

The counters live in the shared cache (Redis in production), so every web process counts against
the same numbers; the limits are `HUBSPOT_THROTTLE_LIMIT` per `HUBSPOT_THROTTLE_WINDOW_SECONDS`
(the app settings object, conf.py). CSRF is Django's middleware; this adds what it does not cover.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from ..client_address import client_address
from ..conf import app_settings

HONEYPOT_FIELD = "website"

# Lazy: shown in the language of the request that is refused.
RATE_LIMITED_MESSAGE = _(
    "You have sent several requests in a short time. Please wait a few minutes and try again; "
    "what you typed is still in the form."
)
HONEYPOT_MESSAGE = _(
    "Your request was not sent because it looked automated (a hidden field was filled in). "
    "If you are a person, clear your browser's autofill for this page and try again."
)
TOO_LARGE_MESSAGE = _("Your request is too large to send. Please shorten it and try again.")


def _hit(key: str) -> bool:
    """Count one submission; True when this one is over the limit."""
    limit = app_settings.THROTTLE_LIMIT
    window = app_settings.THROTTLE_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count > limit


def throttle_key(request, scope: str) -> str:
    """Whose submissions are counted together: a logged-in customer's account (colleagues behind
    one office address do not share a budget), else the anonymous visitor's client address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"hubspot:abuse:{scope}:user:{user.pk}"
    ip = client_address(request) or "unknown"
    return f"hubspot:abuse:{scope}:ip:{hashlib.sha256(ip.encode()).hexdigest()[:24]}"


def rate_limited(request, scope: str) -> bool:
    return _hit(throttle_key(request, scope))


def too_large(request) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > app_settings.PUBLIC_MAX_BODY_BYTES
    except ValueError:
        return True


def honeypot_filled(data) -> bool:
    return bool(str(data.get(HONEYPOT_FIELD, "")).strip())


def refusal(request, scope: str) -> str:
    """The message to show when this submission is refused, or "" to accept it."""
    if too_large(request):
        return TOO_LARGE_MESSAGE
    if honeypot_filled(request.POST):
        return HONEYPOT_MESSAGE
    if rate_limited(request, scope):
        return RATE_LIMITED_MESSAGE
    return ""
