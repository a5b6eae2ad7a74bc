"""The conversation HubSpot's inbox holds for a customer's ticket, as the customer may see it.

Read live for the ticket's own page (one customer's data: never cached), through the
conversations API (scope `conversations.read`). Only messages (`type` MESSAGE) are shown, as plain
text: agents' internal notes (COMMENT) and system events (assignments, status changes) are the
support team's, never the customer's; `richText` is HubSpot's HTML and is not trusted on the page.
"""

from __future__ import annotations

import logging

from .. import errors
from ..conf import app_settings
from ..credentials import get_client
from ..models import CustomerTicket
from .conversations import Message, read_messages

logger = logging.getLogger(__name__)

THREADS_PAGE = 20  # a ticket has one or two threads; more pages than this are not read


def conversation(ticket: CustomerTicket) -> list[Message] | None:
    """The ticket's messages, oldest first: [] when HubSpot holds none (or the ticket is not
    filed yet), None when they cannot be read now (the scope is missing, HubSpot is down)."""
    if not ticket.hubspot_id or ticket.status == CustomerTicket.Status.DELETED:
        return []
    cap = app_settings.TICKET_CONVERSATION_MAX_MESSAGES
    try:
        client = get_client()
        found: list[Message] = []
        threads = client.threads(ticket_id=ticket.hubspot_id, limit=THREADS_PAGE)["results"]
        for thread in threads:
            if isinstance(thread, dict) and len(found) < cap:
                found += read_messages(client, str(thread.get("id") or ""), cap=cap - len(found))
    except errors.HubSpotError as err:
        logger.warning("The conversation of ticket %s cannot be read: %s", ticket.pk, err)
        return None
    return sorted(found, key=lambda m: m.at.timestamp() if m.at else float("inf"))
