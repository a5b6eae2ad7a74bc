"""The support page (a request becomes a HubSpot ticket) and "My tickets"."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import errors
from ..form_errors import add_service_errors
from ..models import HubSpotSettings
from ..services import email_verification, support_requests, ticket_conversations
from ..tickets.service import Priority
from . import abuse
from .forms import SupportRequestForm

logger = logging.getLogger(__name__)


@require_http_methods(["GET", "POST"])
def support_request(request):
    s = HubSpotSettings.load()
    available = bool(s.enabled and s.tickets_enabled)
    account = request.user if request.user.is_authenticated else None
    form = SupportRequestForm(account=account)
    status = 200
    if request.method == "POST" and available:
        form = SupportRequestForm(request.POST, account=account)
        refusal = abuse.refusal(request, "support")
        if refusal:
            messages.error(request, refusal)
            status = 429
        elif form.is_valid():
            try:
                ticket, outcome = support_requests.submit_support_request(
                    form.cleaned_data, user=request.user
                )
            except ValidationError as err:
                add_service_errors(form, err)
            except errors.HubSpotError as err:
                logger.warning("Support request refused: %s", err)
                messages.error(request, _("Sorry, support requests cannot be sent right now."))
            else:
                if outcome.status == "failed":
                    # Kept in the outbox for staff to retry; the customer's text is not lost.
                    logger.warning(
                        "Support request %s failed at HubSpot: %s", ticket.pk, outcome.error
                    )
                request.session["support_received"] = ticket.pk
                return redirect("support-received")
    context = {
        "form": form,
        "available": available,
        "email_verified": email_verification.is_verified(request.user),
    }
    return render(request, "support/request.html", context, status=status)


def support_received(request):
    ticket_pk = request.session.pop("support_received", None)
    if ticket_pk is None:
        return redirect("support")
    return render(request, "support/received.html", {"ticket_pk": ticket_pk})


@login_required
def my_tickets(request):
    return render(
        request, "support/tickets.html", {"tickets": support_requests.tickets_of(request.user)}
    )


@login_required
def my_ticket(request, pk: int):
    # Only the owner's: anyone else's ticket (staff included) is a 404, as if it did not exist.
    ticket = support_requests.ticket_of(request.user, pk)
    if ticket is None:
        raise Http404(_("No such ticket."))
    context = {
        "ticket": ticket,
        "content": support_requests.content_of(ticket),
        "priority": Priority(ticket.priority).label if ticket.priority in Priority.values else "",
        "conversation": ticket_conversations.conversation(ticket),
    }
    return render(request, "support/ticket.html", context)
