"""The account page (`/accounts/profile/`): name, address, ticket emails, language, "my data",
deleting the account; and the cookie banner's answer of a signed-in customer."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import language
from ..services import consent, email_verification, gdpr, profiles, user_language
from . import abuse
from .forms import EMAIL_ERRORS

DELETED_FLAG = "hubspot-account-deleted"


class NameForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False, label=gettext_lazy("First name"))
    last_name = forms.CharField(max_length=150, required=False, label=gettext_lazy("Last name"))


class EmailForm(forms.Form):
    email = forms.EmailField(
        max_length=254, label=gettext_lazy("New email address"), error_messages=EMAIL_ERRORS
    )


class NotificationsForm(forms.Form):
    ticket_emails = forms.BooleanField(
        required=False, label=gettext_lazy("Email me when one of my tickets changes")
    )


def language_choices():
    # Each language by its own name (settings.LANGUAGES), so a reader finds theirs in any language.
    return [("", gettext_lazy("As my browser says")), *settings.LANGUAGES]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        choices=language_choices,
        required=False,
        label=gettext_lazy("Language"),
        help_text=gettext_lazy("The language of these pages and of the emails we send you."),
    )


class DeleteForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput, label=gettext_lazy("Your password"), max_length=4096
    )


def _context(request, **forms_given) -> dict:
    user = request.user
    profile = profiles.profile_of(user)
    return {
        "name_form": forms_given.get("name_form")
        or NameForm(initial={"first_name": user.first_name, "last_name": user.last_name}),
        "email_form": forms_given.get("email_form") or EmailForm(),
        "notifications_form": forms_given.get("notifications_form")
        or NotificationsForm(initial={"ticket_emails": profile.ticket_emails}),
        "language_form": forms_given.get("language_form")
        or LanguageForm(initial={"language": user_language.language_of(user)}),
        "profile": profile,
        "verified": email_verification.is_verified(user),
    }


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    if request.method == "GET":
        return render(request, "registration/profile.html", _context(request))
    action = request.POST.get("action", "")
    user = request.user
    if action == "name":
        form = NameForm(request.POST)
        if form.is_valid():
            profiles.change_name(
                user, form.cleaned_data["first_name"], form.cleaned_data["last_name"]
            )
            messages.success(request, _("Your name is saved."))
            return redirect("profile")
        return render(request, "registration/profile.html", _context(request, name_form=form))
    if action == "email":
        form = EmailForm(request.POST)
        if form.is_valid():
            if abuse.rate_limited(request, "verify-email"):
                messages.error(request, abuse.RATE_LIMITED_MESSAGE)
                return render(
                    request, "registration/profile.html", _context(request, email_form=form)
                )
            new = form.cleaned_data["email"]
            result = profiles.request_email_change(request, user, new)
            if result == "same":
                messages.info(
                    request, _("%(email)s is already your address.") % {"email": user.email}
                )
            elif result == "sent":
                messages.success(
                    request,
                    _(
                        "We sent a link to %(new)s. Until you open it, your account keeps "
                        "using %(current)s."
                    )
                    % {"new": email_verification.normalize(new), "current": user.email},
                )
            else:
                messages.error(
                    request, _("Sorry, the email cannot be sent right now. Try again later.")
                )
            return redirect("profile")
        return render(request, "registration/profile.html", _context(request, email_form=form))
    if action == "notifications":
        form = NotificationsForm(request.POST)
        form.is_valid()  # a lone checkbox: absent means off, nothing can be invalid
        profiles.set_ticket_emails(user, form.cleaned_data.get("ticket_emails", False))
        messages.success(request, _("Your email settings are saved."))
        return redirect("profile")
    if action == "language":
        form = LanguageForm(request.POST)
        if form.is_valid():
            return _save_language(request, form.cleaned_data["language"])
        return render(request, "registration/profile.html", _context(request, language_form=form))
    messages.error(request, _("Choose what to change."))
    return render(request, "registration/profile.html", _context(request))


def _save_language(request, code: str):
    """Keep the choice and answer in it at once: the message below is already in the new
    language, and so is every page after (language.py)."""
    code = user_language.set_language(request.user, code)
    if not (code and language.apply(request, request.user)):
        # As the browser says: what LocaleMiddleware would choose without the account's choice.
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()
    messages.success(request, _("Your language is saved."))
    response = redirect("profile")
    if code:
        # Kept in the cookie too, so the site stays in this language after signing out.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    else:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
        )
    return response


@login_required
@require_GET
def my_data(request):
    data = profiles.my_data(request.user)
    stamp = timezone.now().strftime("%Y%m%d")
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="skypanel-my-data-{stamp}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request):
    form = DeleteForm(request.POST or None)
    if request.method == "POST":
        if abuse.rate_limited(request, "delete-account"):
            messages.error(request, abuse.RATE_LIMITED_MESSAGE)
        elif form.is_valid():
            if request.user.check_password(form.cleaned_data["password"]):
                gdpr.erase(request.user.email, user=request.user, source="account")
                logout(request)
                request.session[DELETED_FLAG] = True
                return redirect("account-deleted")
            form.add_error("password", _("That is not your password. Nothing was deleted."))
    return render(request, "registration/delete_account.html", {"form": form})


@require_GET
def account_deleted(request):
    if not request.session.pop(DELETED_FLAG, False):
        return redirect("home")
    return render(request, "registration/account_deleted.html")


@require_POST
def record_consent(request):
    """The cookie banner's answer: kept for a signed-in customer, ignored for anyone else."""
    choice = request.POST.get("choice", "")
    if choice not in consent.CHOICES:
        return JsonResponse({"error": "choice must be accept or decline"}, status=400)
    if not request.user.is_authenticated:
        return JsonResponse({"recorded": False})
    if abuse.rate_limited(request, "consent"):
        return JsonResponse({"error": "too many answers; try again later"}, status=429)
    consent.record_banner_choice(request.user, choice)
    return JsonResponse({"recorded": True})
