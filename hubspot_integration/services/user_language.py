"""A customer's language: the choice on their account page (`CustomerProfile.language`), kept in
the shared cache because every signed-in page reads it (hubspot_integration/language.py), and the
language an email to them is written in."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from ..conf import app_settings
from ..models import CustomerProfile


def language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def _language_key(user_pk) -> str:
    return f"hubspot:user-language:v1:{user_pk}"


def language_of(user) -> str:
    """The language `user` chose on the account page, or "" (as their browser says).

    Read on every signed-in page, so it is kept in the shared cache (replaced when it is saved);
    a code no longer in settings.LANGUAGES counts as no choice."""
    if user is None or not getattr(user, "pk", None):
        return ""
    key = _language_key(user.pk)
    chosen = cache.get(key)
    if chosen is None:
        found = CustomerProfile.objects.filter(user_id=user.pk).values_list("language", flat=True)
        chosen = next(iter(found), "") or ""
        cache.set(key, chosen, app_settings.USER_LANGUAGE_TTL)
    return chosen if chosen in language_codes() else ""


def set_language(user, code: str) -> str:
    """Keep `user`'s language choice ("" = as the browser says); the code kept."""
    code = code if code in language_codes() else ""
    CustomerProfile.objects.update_or_create(user=user, defaults={"language": code})
    cache.set(_language_key(user.pk), code, app_settings.USER_LANGUAGE_TTL)
    return code


def language_for(user, fallback: str = "") -> str:
    """The language an email to `user` is written in: their choice, else `fallback` (the page's
    language, when they are the one at the keyboard), else the site's default."""
    return language_of(user) or fallback or settings.LANGUAGE_CODE
