"""The home page and the contact page."""

import logging

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import errors
from ..services import consent, contact_messages
from . import abuse
from .forms import ContactForm

logger = logging.getLogger(__name__)


def home(request):
    return render(request, "home.html")


@require_http_methods(["GET", "POST"])
def contact(request):
    available = contact_messages.contact_form_available()
    initial = {}
    if request.user.is_authenticated:
        initial = {"email": request.user.email, "name": request.user.get_full_name()}
    asked = consent.form_consent()
    form = ContactForm(initial=initial, consent=asked)
    if request.method == "POST" and available:
        form = ContactForm(request.POST, consent=asked)
        refusal = abuse.refusal(request, "contact")
        if refusal:
            messages.error(request, refusal)
            return render(request, "contact.html", {"form": form, "available": True}, status=429)
        if form.is_valid():
            context = contact_messages.submission_context(request, page_name="Contact")
            try:
                contact_messages.submit_contact_message(
                    form.cleaned_data, context=context, user=request.user
                )
            except errors.HubSpotError as err:
                logger.warning("Contact message not accepted: %s", err)
                messages.error(request, _("Sorry, the contact form cannot be sent right now."))
                return render(request, "contact.html", {"form": form, "available": True})
            # Queued or delivered: either way HubSpot gets it; the visitor need not wait.
            messages.success(request, _("Thank you: your message was received."))
            return redirect("contact")
    return render(request, "contact.html", {"form": form, "available": available})
