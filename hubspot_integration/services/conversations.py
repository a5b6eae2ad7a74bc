"""HubSpot's conversations inbox as the panel reads and answers it.

One reader for every page that shows a conversation: a customer's ticket page (messages only,
`ticket_conversations`), and staff's contact and ticket pages (messages and agents' internal
notes, marked as such). Read live (one person's data: never cached), scope `conversations.read`.

Staff replies and thread status changes are HubSpot writes, so they go through the outbox (kinds
`reply_to_thread`, `set_thread_status`; scope `conversations.write`): a HubSpot outage queues
them. A reply is sent as the staff member's HubSpot user: their Django email names a HubSpot
owner, whose `userId` is the agent actor `A-<userId>` HubSpot's send-message API wants. The
thread is read again when the reply is delivered: its channel is where the customer wrote from,
and a thread closed in the meantime is not written to.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from .. import errors
from ..conf import app_settings
from ..credentials import get_client
from ..models import OutboxOperation
from . import outbox, owners

logger = logging.getLogger(__name__)

Kind = OutboxOperation.Kind
THREADS_PAGE = 20
MESSAGES_PAGE = 100
OPEN, CLOSED = "OPEN", "CLOSED"


@dataclass(frozen=True)
class Message:
    text: str
    sender: str
    from_customer: bool
    at: datetime | None
    internal: bool = False  # an agent's note (COMMENT): staff's eyes only


@dataclass
class Thread:
    id: str
    status: str
    created_at: datetime | None
    latest_at: datetime | None
    contact_id: str = ""
    messages: list[Message] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


class NoHubSpotUser(errors.PanelError):
    """The staff member has no HubSpot user (owner) to send a reply as: nothing is queued."""

    kind = "no_hubspot_user"
    status_code = 409
    default_message = gettext_lazy("No HubSpot user has your email address.")


def _when(value) -> datetime | None:
    try:
        return parse_datetime(str(value or ""))
    except ValueError:
        return None


def _shaped(item: dict, *, staff: bool) -> Message:
    from_customer = item.get("direction") == "INCOMING"
    senders = item.get("senders")
    first = senders[0] if isinstance(senders, list) and senders else None
    name = str(first.get("name") or "") if isinstance(first, dict) else ""
    if staff:
        sender = name or (
            pgettext("chat sender", "Customer")
            if from_customer
            else pgettext("chat sender", "Support")
        )
    else:
        sender = (
            pgettext("chat sender", "You")
            if from_customer
            else (name or pgettext("chat sender", "Support"))
        )
    return Message(
        text=str(item["text"]),
        sender=sender,
        from_customer=from_customer,
        at=_when(item.get("createdAt")),
        internal=item.get("type") == "COMMENT",
    )


def read_messages(client, thread_id: str, *, cap: int, staff: bool = False) -> list[Message]:
    """A thread's messages, oldest first, at most `cap`: agents' internal notes too for staff;
    system events (assignments, status changes) never."""
    kinds = ("MESSAGE", "COMMENT") if staff else ("MESSAGE",)
    out: list[Message] = []
    after = None
    while thread_id and len(out) < cap:
        page = client.thread_messages(thread_id, limit=MESSAGES_PAGE, after=after)
        for item in page["results"]:
            if isinstance(item, dict) and item.get("type") in kinds and item.get("text"):
                out.append(_shaped(item, staff=staff))
        after = page["next_after"]
        if not after:
            break
    return out[: max(cap, 0)]


def threads(*, contact_id: str = "", ticket_id: str = "") -> list[Thread]:
    """The threads of a contact or a ticket, newest first, each with its messages as staff see
    them. Raises a HubSpotError when HubSpot cannot say (scope missing, outage)."""
    client = get_client()
    found: list[Thread] = []
    after = None
    while len(found) < app_settings.CONTACT_THREADS_MAX:
        page = client.threads(
            contact_id=contact_id, ticket_id=ticket_id, limit=THREADS_PAGE, after=after
        )
        for item in page["results"]:
            if isinstance(item, dict) and item.get("id") and not item.get("archived"):
                found.append(
                    Thread(
                        id=str(item["id"]),
                        status=str(item.get("status") or ""),
                        created_at=_when(item.get("createdAt")),
                        latest_at=_when(item.get("latestMessageTimestamp")),
                        contact_id=str(item.get("associatedContactId") or ""),
                    )
                )
        after = page["next_after"]
        if not after:
            break
    found = found[: app_settings.CONTACT_THREADS_MAX]
    found.sort(key=_newest_first)
    cap = app_settings.TICKET_CONVERSATION_MAX_MESSAGES
    for thread in found:
        thread.messages = read_messages(client, thread.id, cap=cap, staff=True)
    return found


def get_thread(thread_id: str) -> dict:
    """One thread as HubSpot answers it (status, channel, contact)."""
    return get_client().thread(thread_id)


def _newest_first(thread: Thread) -> tuple:
    # HubSpot's IDs grow with time: they order threads started in the same millisecond.
    created = thread.created_at.timestamp() if thread.created_at else 0.0
    return (-created, -int(thread.id) if thread.id.isdigit() else 0)


# --- replies and status ----------------------------------------------------------------------------
def actor_for(user) -> str:
    """`A-<userId>` of the HubSpot owner with the user's email; NoHubSpotUser when none has it.
    Raises a HubSpotError when the owners cannot be read."""
    email = (getattr(user, "email", "") or "").strip().lower()
    match = next(
        (o for o in owners.owners() if email and str(o.get("email") or "").lower() == email),
        None,
    )
    if match is None or not match.get("userId"):
        raise NoHubSpotUser(
            _(
                "You cannot reply from the panel: no HubSpot user has your email address "
                "(%(email)s). Ask a HubSpot admin to add you as a user in HubSpot, "
                "or set your email here to the one you use in HubSpot."
            )
            % {"email": email or _("none set")}
        )
    return f"A-{match['userId']}"


def reply(thread_id: str, text: str, *, user) -> outbox.Outcome:
    """Send `text` to the customer's chat as `user`; NoHubSpotUser (nothing queued) when they
    have no HubSpot user. While the owners cannot be read, the actor is found on delivery."""
    try:
        actor = actor_for(user)
    except errors.HubSpotError as err:
        if not err.transient:
            raise
        actor = ""
    payload = {
        "threadId": str(thread_id),
        "text": text,
        "senderActorId": actor,
        "senderEmail": getattr(user, "email", "") or "",
    }
    return outbox.submit(Kind.REPLY_TO_THREAD, payload, user=user)


def set_status(thread_id: str, status: str, *, user) -> outbox.Outcome:
    if status not in (OPEN, CLOSED):
        raise ValueError(f"status must be {OPEN} or {CLOSED}")
    payload = {"threadId": str(thread_id), "status": status}
    return outbox.submit(Kind.SET_THREAD_STATUS, payload, user=user)


def _reply_to_thread(client, payload, operation):
    thread = client.thread(payload["threadId"])
    if thread.get("status") == CLOSED:
        raise errors.ValidationFailed(_("The thread is closed: reopen it to reply."), status=400)
    actor = payload.get("senderActorId") or ""
    if not actor:
        email = payload.get("senderEmail") or ""
        found = [o for o in client.owners(email=email, limit=1) if o.get("userId")] if email else []
        if not found:
            raise errors.ValidationFailed(
                _("No HubSpot user has the email %(email)s.") % {"email": email}, status=400
            )
        actor = f"A-{found[0]['userId']}"
    text = payload["text"]
    body = {
        "type": "MESSAGE",
        "text": text,
        "richText": "<p>" + html.escape(text).replace("\n", "<br>") + "</p>",
        "senderActorId": actor,
        "channelId": str(thread.get("originalChannelId") or ""),
        "channelAccountId": str(thread.get("originalChannelAccountId") or ""),
    }
    answer = client.send_message(payload["threadId"], body)
    return outbox.Result(str(payload["threadId"]), {"messageId": str(answer.get("id") or "")})


def _set_thread_status(client, payload, operation):
    answer = client.update_thread(payload["threadId"], payload["status"])
    return outbox.Result(str(payload["threadId"]), {"status": str(answer.get("status") or "")})


# Installed by AppConfig.ready() (`outbox.register`): kind -> handler.
OUTBOX_HANDLERS = {
    Kind.REPLY_TO_THREAD: _reply_to_thread,
    Kind.SET_THREAD_STATUS: _set_thread_status,
}
