"""Who is acting, for validation that depends on it.

A model's `clean()` cannot see the request, yet some settings are open to a superuser only (a
tracking-script host outside HubSpot). The middleware makes the request's user visible for the
length of the request: the admin's form and the API's serializer validate through `full_clean()`
and so judge the value for the person saving it. `acting_as()` names the actor explicitly (the
settings service does, with the user it is given) and wins over the request.

DRF authenticates inside the view and sets the user on the Django request it wraps, so a
token-authenticated API call is seen here as that user by the time its data is validated.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

_request: ContextVar = ContextVar("hubspot_current_request", default=None)
# A one-element tuple, so that an explicit "nobody" (None) differs from "not set".
_explicit: ContextVar = ContextVar("hubspot_explicit_actor", default=None)


def current_actor():
    """The user acting now: the one named by `acting_as()`, else the request's, else None."""
    explicit = _explicit.get()
    if explicit is not None:
        return explicit[0]
    request = _request.get()
    return getattr(request, "user", None) if request is not None else None


def is_superuser(actor) -> bool:
    return bool(
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and getattr(actor, "is_active", False)
        and getattr(actor, "is_superuser", False)
    )


@contextmanager
def acting_as(user):
    token = _explicit.set((user,))
    try:
        yield
    finally:
        _explicit.reset(token)


class CurrentRequestMiddleware:
    """Remembers the request being served (after authentication) for `current_actor()`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
