"""Customers' email addresses: proved by a signed link before the chat or support trusts them.

Sign-up never tells who has an account: a new address gets a verification link, an address that
already has an account gets an email to that account's owner, and the visitor sees the same
"check your inbox" either way. One account per address is the database's rule (a unique index on
`lower(email)`, migration 0004), so concurrent sign-ups cannot make two.

A link carries the user's ID and a digest of their current state (address and verification),
signed with a timestamp (`django.core.signing`): it expires after EMAIL_VERIFICATION_MAX_AGE
seconds, and it stops working once used or once the address changes, because the state it names
is gone.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from ..conf import app_settings
from ..models import CustomerEmail, CustomerProfile
from . import user_language

logger = logging.getLogger(__name__)

SALT = "hubspot_integration.email-verification"


def normalize(email: str) -> str:
    return str(email or "").strip().lower()


def max_age() -> int:
    return app_settings.EMAIL_VERIFICATION_MAX_AGE


# --- the verified state --------------------------------------------------------------------------
def state_key(user_pk) -> str:
    return f"hubspot:verified-email:v1:{user_pk}"


def verified_email(user) -> str:
    """The account's email if its owner proved it is theirs, else "" (unknown, or changed since)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    email = normalize(getattr(user, "email", ""))
    if not email:
        return ""
    memo = getattr(user, "_hubspot_verified_email", None)
    if memo is not None and memo[0] == email:
        return memo[1]
    stored = cache.get(state_key(user.pk))
    if stored is None:
        stored = (
            CustomerEmail.objects.filter(user_id=user.pk).values_list("email", flat=True).first()
            or ""
        )
        cache.set(state_key(user.pk), stored, app_settings.EMAIL_VERIFICATION_STATE_TTL)
    result = email if normalize(stored) == email else ""
    user._hubspot_verified_email = (email, result)
    return result


def is_verified(user) -> bool:
    return bool(verified_email(user))


def mark_verified(user) -> None:
    email = normalize(user.email)
    try:
        with transaction.atomic():
            CustomerEmail.objects.update_or_create(
                user=user, defaults={"email": email, "verified_at": timezone.now()}
            )
    except IntegrityError:  # the same link opened twice at once: the other request stored it
        pass
    user._hubspot_verified_email = (email, email)


# --- links ---------------------------------------------------------------------------------------
def _state(user, new_email: str = "") -> str:
    record = CustomerEmail.objects.filter(user_id=user.pk).first()
    verified = f"{normalize(record.email)}|{record.verified_at.isoformat()}" if record else ""
    raw = f"{user.pk}|{normalize(user.email)}|{verified}"
    if new_email:
        # A change's link names the new address; asking for another address voids it.
        raw += f"|{normalize(new_email)}|{pending_email(user)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def make_token(user, new_email: str = "") -> str:
    data = {"u": user.pk, "s": _state(user, new_email)}
    if new_email:
        data["e"] = normalize(new_email)
    return signing.dumps(data, salt=SALT)


def pending_email(user) -> str:
    found = CustomerProfile.objects.filter(user_id=user.pk).values_list("pending_email", flat=True)
    return normalize(found.first() or "")


def confirm(token: str):
    """Open a verification link: ("verified" | "changed" | "already" | "expired" | "invalid",
    user or None). "changed": the link confirmed a new address asked for on the account page."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age())
    except signing.SignatureExpired:
        return "expired", None
    except signing.BadSignature:
        return "invalid", None
    user = get_user_model().objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None:
        return "invalid", None
    new_email = normalize(data.get("e") or "")
    if new_email:
        return _confirm_change(user, new_email, data.get("s"))
    if is_verified(user):
        return "already", user
    if data.get("s") != _state(user):
        return "invalid", None  # the address changed since the link was sent
    mark_verified(user)
    return "verified", user


def _confirm_change(user, new_email: str, state):
    if new_email == normalize(user.email) and is_verified(user):
        return "already", user
    if pending_email(user) != new_email or state != _state(user, new_email):
        return "invalid", None  # another address was asked for since, or this one confirmed
    try:
        with transaction.atomic():
            user.email = new_email
            user.save(update_fields=["email"])
            CustomerProfile.objects.filter(user_id=user.pk).update(
                pending_email="", pending_email_requested_at=None
            )
            mark_verified(user)
    except IntegrityError:
        # Another account took the address since the link was sent (one account per address).
        return "invalid", None
    return "changed", user


# --- emails --------------------------------------------------------------------------------------
def _send(template: str, context: dict, to: str, language: str) -> bool:
    with translation.override(language):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body = render_to_string(f"{template}.txt", context)
    try:
        send_mail(subject, body, None, [to])
    except (smtplib.SMTPException, OSError) as err:
        # The visitor still gets their answer; a new link can be asked for once signed in.
        logger.warning("Email %s to user %s not sent: %s", template, context["user"].pk, err)
        return False
    return True


def send_verification(request, user, new_email: str = "") -> bool:
    """The link that confirms the account's address, or, with `new_email`, the new address asked
    for on the account page (sent to that address)."""
    token = make_token(user, new_email)
    link = request.build_absolute_uri(reverse("verify-email", args=[token]))
    context = {
        "user": user,
        "email": new_email or user.email,
        "link": link,
        "hours": max(max_age() // 3600, 1),
        "site": request.get_host(),
    }
    # The one asking is the recipient: without a choice on their account, the page's language.
    language = user_language.language_for(user, fallback=translation.get_language())
    return _send("registration/email/verify_email", context, new_email or user.email, language)


def send_signup_attempt_notice(request, user) -> bool:
    digest = hashlib.sha256(normalize(user.email).encode()).hexdigest()[:24]
    if not cache.add(f"hubspot:signup-notice:{digest}", 1, app_settings.SIGNUP_NOTICE_INTERVAL):
        return False  # told recently: a sign-up form is not a way to flood someone's inbox
    context = {
        "user": user,
        "login_url": request.build_absolute_uri(reverse("login")),
        "site": request.get_host(),
    }
    # To the account's owner, not to whoever typed their address: their language, not the page's.
    return _send(
        "registration/email/signup_attempt", context, user.email, user_language.language_for(user)
    )


# --- sign-up ---------------------------------------------------------------------------------------
def account_with(email: str):
    return get_user_model().objects.filter(email__iexact=normalize(email)).first()


def register(request, form):
    """Create the account and send its verification link, or, when the address already has an
    account, tell that account's owner. Returns the new user or None; the caller answers the
    same either way. Raises IntegrityError only when the username was taken meanwhile."""
    email = normalize(form.cleaned_data["email"])
    existing = account_with(email)
    if existing is None:
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:
            # Another sign-up with this address won the race (the unique index on lower(email)).
            existing = account_with(email)
            if existing is None:
                raise
        else:
            send_verification(request, user)
            return user
    # Hash the password anyway, so the answer takes as long as for a new account.
    make_password(form.cleaned_data.get("password1") or "")
    send_signup_attempt_notice(request, existing)
    return None
