"""A contact's or a ticket's chat threads on its admin page, and the notice when HubSpot cannot
show them (the `conversations.read` scope missing, an outage): the page itself still renders."""

from __future__ import annotations

from django.contrib import messages
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import errors
from ..services import conversations

CONTACT_PERMISSION = "hubspot_integration.manage_contacts"
REPLY_MAX_LENGTH = 10_000


def thread_context(request, *, contact_id: str = "", ticket_id: str = "") -> dict:
    """`threads` (newest first, each with its messages and, for an open thread the user may
    answer, its reply and status URLs) and `threads_unavailable` when they cannot be read."""
    try:
        found = conversations.threads(contact_id=contact_id, ticket_id=ticket_id)
    except errors.HubSpotError as err:
        messages.warning(
            request,
            _("The chat conversations cannot be shown right now: %(error)s") % {"error": err},
        )
        return {"threads": [], "threads_unavailable": True, "show_threads": True}
    may_reply = request.user.has_perm(CONTACT_PERMISSION)
    rows = []
    for thread in found:
        owner = contact_id or thread.contact_id
        urls = {}
        if may_reply and owner:
            args = [owner, thread.id]
            urls = {
                "reply_url": reverse(
                    "admin:hubspot_integration_hubspotcontact_thread_reply", args=args
                ),
                "status_url": reverse(
                    "admin:hubspot_integration_hubspotcontact_thread_status", args=args
                ),
            }
        rows.append({"thread": thread, **urls})
    return {
        "threads": rows,
        "threads_unavailable": False,
        "show_threads": True,
        "reply_max_length": REPLY_MAX_LENGTH,
    }
