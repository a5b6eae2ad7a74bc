"""Sign-up and email verification; sign-in and sign-out are Django's own views (public_urls.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..services import email_verification
from . import abuse
from .forms import SignupForm

CHECK_INBOX = "check-inbox"


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm()
    if request.method == "POST":
        form = SignupForm(request.POST)
        refusal = abuse.refusal(request, "signup")
        if refusal:
            messages.error(request, refusal)
        elif form.is_valid():
            try:
                email_verification.register(request, form)
            except IntegrityError:
                form.add_error("username", _("A user with that username already exists."))
            else:
                # The same answer whether the address was new or already had an account.
                request.session[CHECK_INBOX] = True
                return redirect("signup-done")
    return render(request, "registration/signup.html", {"form": form})


@require_GET
def signup_done(request):
    if not request.session.pop(CHECK_INBOX, False):
        return redirect("signup")
    return render(request, "registration/signup_done.html")


@require_GET
def verify_email(request, token):
    outcome, user = email_verification.confirm(token)
    if outcome in ("verified", "changed", "already"):
        if outcome == "verified":
            messages.success(
                request, _("Thank you: %(email)s is confirmed.") % {"email": user.email}
            )
        elif outcome == "changed":
            messages.success(
                request,
                _("Thank you: your account now uses %(email)s.") % {"email": user.email},
            )
        else:
            messages.info(request, _("%(email)s is already confirmed.") % {"email": user.email})
        signed_in_as_them = request.user.is_authenticated and request.user.pk == user.pk
        if not signed_in_as_them:
            return redirect("login")
        return redirect("profile" if outcome == "changed" else "my-tickets")
    return render(
        request,
        "registration/verify_email_failed.html",
        {"expired": outcome == "expired"},
        status=400,
    )


@login_required
@require_POST
def send_verification(request):
    user = request.user
    if email_verification.is_verified(user):
        messages.info(request, _("%(email)s is already confirmed.") % {"email": user.email})
    elif not user.email:
        messages.error(request, _("Your account has no email address to confirm."))
    elif abuse.rate_limited(request, "verify-email"):
        messages.error(request, abuse.RATE_LIMITED_MESSAGE)
    elif email_verification.send_verification(request, user):
        messages.success(request, _("We sent a new link to %(email)s.") % {"email": user.email})
    else:
        messages.error(request, _("Sorry, the email cannot be sent right now. Try again later."))
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "my-tickets"
    return redirect(next_url)
