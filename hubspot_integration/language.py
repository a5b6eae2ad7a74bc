"""The language a signed-in customer chose on the account page, applied to their requests.

`LocaleMiddleware` picks the language of a request from the language cookie (the footer's
switcher, Django's `set_language`) or the browser's Accept-Language. It runs before the session's
user is known, so a choice stored on the account (`CustomerProfile.language`) is applied after
`AuthenticationMiddleware` by `UserLanguageMiddleware`; LocaleMiddleware's response step then
sends the chosen language as Content-Language. "" (as my browser says) leaves LocaleMiddleware's
answer standing. The login request itself gets it from the `user_logged_in` signal.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.utils import translation

from .services import user_language


def apply(request, user) -> str:
    """Activate `user`'s chosen language for this request; the code, or "" (none chosen)."""
    chosen = user_language.language_of(user)
    if chosen:
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen
    return chosen


class UserLanguageMiddleware:
    """Place after AuthenticationMiddleware (and LocaleMiddleware): a visitor who is not signed in
    costs nothing here, so anonymous pages stay free of SQL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            apply(request, user)
        return self.get_response(request)


def on_login(sender, request, user, **kwargs):
    # Only a request LocaleMiddleware has seen: a bare one (a test client's force_login, a
    # script) has no language of its own to replace.
    if request is not None and hasattr(request, "LANGUAGE_CODE"):
        apply(request, user)


user_logged_in.connect(on_login, dispatch_uid="hubspot_integration.language.on_login")
