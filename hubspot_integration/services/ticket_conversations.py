"""The conversation HubSpot's inbox holds for a customer's ticket, as the customer may see it.

Read live for the ticket's own page (one customer's data: never cached), through the
conversations API (scope `conversations.read`). Only messages (`type` MESSAGE) are shown, as plain
text: agents' internal notes (COMMENT) and system events (assignments, status changes) are the
support team's, never the customer's; `richText` is HubSpot's HTML and is not trusted on the page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.utils.dateparse import parse_datetime

from .. import errors
from ..conf import app_settings
from ..credentials import get_client
from ..models import CustomerTicket

logger = logging.getLogger(__name__)

THREADS_PAGE = 20  # a ticket has one or two threads; more pages than this are not read
MESSAGES_PAGE = 100


@dataclass(frozen=True)
class Message:
    text: str
    sender: str
    from_customer: bool
    at: datetime | None


def conversation(ticket: CustomerTicket) -> list[Message] | None:
    """The ticket's messages, oldest first: [] when HubSpot holds none (or the ticket is not
    filed yet), None when they cannot be read now (the scope is missing, HubSpot is down)."""
    if not ticket.hubspot_id or ticket.status == CustomerTicket.Status.DELETED:
        return []
    try:
        client = get_client()
        found = []
        threads = client.threads(ticket_id=ticket.hubspot_id, limit=THREADS_PAGE)["results"]
        for thread in threads:
            if isinstance(thread, dict):
                found += _messages(client, str(thread.get("id") or ""), len(found))
    except errors.HubSpotError as err:
        logger.warning("The conversation of ticket %s cannot be read: %s", ticket.pk, err)
        return None
    return sorted(found, key=lambda m: m.at.timestamp() if m.at else float("inf"))


def _messages(client, thread_id: str, already: int) -> list[Message]:
    out: list[Message] = []
    after = None
    cap = app_settings.TICKET_CONVERSATION_MAX_MESSAGES
    while thread_id and already + len(out) < cap:
        page = client.thread_messages(thread_id, limit=MESSAGES_PAGE, after=after)
        for item in page["results"]:
            if isinstance(item, dict) and item.get("type") == "MESSAGE" and item.get("text"):
                out.append(_shaped(item))
        after = page["next_after"]
        if not after:
            break
    return out[: max(cap - already, 0)]


def _shaped(item: dict) -> Message:
    from_customer = item.get("direction") == "INCOMING"
    senders = item.get("senders")
    first = senders[0] if isinstance(senders, list) and senders else None
    name = str(first.get("name") or "") if isinstance(first, dict) else ""
    try:
        at = parse_datetime(str(item.get("createdAt") or ""))
    except ValueError:
        at = None
    return Message(
        text=str(item["text"]),
        sender="You" if from_customer else (name or "Support"),
        from_customer=from_customer,
        at=at,
    )
