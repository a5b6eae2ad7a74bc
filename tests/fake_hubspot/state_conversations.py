"""The conversations inbox: threads (each may be tied to a ticket and a contact) and their messages.

Shapes follow HubSpot's conversations API (2026-09): a thread is `{id, createdAt, status,
originalChannelId, originalChannelAccountId, latestMessageTimestamp, spam, inboxId,
associatedContactId, archived}` (`closedAt` once closed); a message is `{type: "MESSAGE", id,
conversationsThreadId, createdAt, updatedAt, createdBy, client, senders, recipients, text,
richText, attachments, truncationStatus, status, direction, channelId, channelAccountId,
archived}`, and an agent's internal note is `{type: "COMMENT", ...}` with no recipients, status or
direction. Pages are `{results, paging.next.after}`. Sending (`POST .../messages`, scope
`conversations.write`) takes HubSpot's body `{type, text, richText, senderActorId ("A-<userId>"
of an owner), channelId, channelAccountId}` and stores an OUTGOING message from that agent; a
closed thread refuses it with a 400. `PATCH .../threads/{id}` sets `status` OPEN or CLOSED. The ticket a thread belongs to is not in
the answer (HubSpot keeps it as an association); it is only a filter, `associatedTicketId`.
"""

from __future__ import annotations

import copy
import html
import zlib

from .common import ApiError, _int, _obj, _page, invalid, iso, now_ms, q1

CHANNEL_ID = "1000"  # HubSpot's channel ID for live chat
CHANNEL_ACCOUNT_ID = "4000001"
INBOX_ID = "5000001"
STATUSES = ("OPEN", "CLOSED")
MESSAGE_TYPES = ("MESSAGE", "COMMENT")
DIRECTIONS = ("INCOMING", "OUTGOING")


class ConversationsMixin:
    def _reset_conversations(self):
        self.threads = {}  # id -> {"thread": answer, "ticket": ticket id or None}
        self.thread_messages = {}  # thread id -> [message answer, ...] in creation order

    def _conversation_id(self):
        self._next_conversation_id = getattr(self, "_next_conversation_id", 7_000_000_000) + 1
        return str(self._next_conversation_id)

    # --- seeding (tests and the demo) -------------------------------------------------------------

    def add_thread(
        self, *, ticket_id=None, contact_id=None, status="OPEN", at=None, closed_at=None
    ):
        """A new inbox thread, tied to a ticket (filterable) and a contact; its answer. `at` and
        `closed_at` (ms) seed a thread from the past."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self.lock:
            created = at or now_ms()
            thread = {
                "id": self._conversation_id(),
                "createdAt": iso(created),
                "status": status,
                "originalChannelId": CHANNEL_ID,
                "originalChannelAccountId": CHANNEL_ACCOUNT_ID,
                "latestMessageTimestamp": iso(created),
                "spam": False,
                "inboxId": INBOX_ID,
                "associatedContactId": str(contact_id) if contact_id else "",
                "archived": False,
            }
            if status == "CLOSED":
                thread["closedAt"] = iso(closed_at or created)
            self.threads[thread["id"]] = {
                "thread": thread,
                "ticket": str(ticket_id) if ticket_id else None,
            }
            self.thread_messages[thread["id"]] = []
            return copy.deepcopy(thread)

    def add_message(
        self, thread_id, text, *, type="MESSAGE", direction="INCOMING", sender="Visitor", at=None
    ):
        """A message (or, with type="COMMENT", an agent's internal note) on a thread."""
        if type not in MESSAGE_TYPES or direction not in DIRECTIONS:
            raise ValueError(f"type in {MESSAGE_TYPES}, direction in {DIRECTIONS}")
        with self.lock:
            entry = self.threads[str(thread_id)]
            # Each message after the one before, a millisecond at least, as HubSpot orders them.
            self._last_message_ms = max(at or now_ms(), getattr(self, "_last_message_ms", 0) + 1)
            created = iso(self._last_message_ms)
            visitor = type == "MESSAGE" and direction == "INCOMING"
            actor = ("V-" if visitor else "A-") + str(zlib.crc32(sender.encode()) % 10**6)
            message = {
                "type": type,
                "id": self._conversation_id(),
                "conversationsThreadId": entry["thread"]["id"],
                "createdAt": created,
                "updatedAt": created,
                "createdBy": actor,
                "client": {"clientType": "HUBSPOT" if type == "COMMENT" else "SYSTEM"},
                "senders": [{"actorId": actor, "name": sender, "senderField": "FROM"}],
                "text": text,
                "richText": f"<p>{html.escape(text)}</p>",
                "attachments": [],
                "archived": False,
            }
            if type == "MESSAGE":
                message.update(
                    recipients=[],
                    truncationStatus="NOT_TRUNCATED",
                    status={"statusType": "SENT"},
                    direction=direction,
                    channelId=CHANNEL_ID,
                    channelAccountId=CHANNEL_ACCOUNT_ID,
                )
            self.thread_messages[entry["thread"]["id"]].append(message)
            entry["thread"]["latestMessageTimestamp"] = created
            return copy.deepcopy(message)

    # --- the API ------------------------------------------------------------------------------------

    def threads_list(self, query):
        with self.lock:
            limit = _int(q1(query, "limit"), 20, "limit", 1, 500)
            offset = _int(q1(query, "after"), 0, "after", 0, 10**9)
            ticket = q1(query, "associatedTicketId")
            contact = q1(query, "associatedContactId")
            status = q1(query, "threadStatus")
            rows = [
                entry["thread"]
                for entry in self.threads.values()
                if (ticket is None or entry["ticket"] == ticket)
                and (contact is None or entry["thread"]["associatedContactId"] == contact)
                and (status is None or entry["thread"]["status"] == status)
            ]
            return 200, _page(rows, offset, limit)

    def messages_list(self, thread_id, query):
        with self.lock:
            if thread_id not in self.threads:
                raise ApiError(404, f"Thread {thread_id} not found", "OBJECT_NOT_FOUND")
            limit = _int(q1(query, "limit"), 20, "limit", 1, 500)
            offset = _int(q1(query, "after"), 0, "after", 0, 10**9)
            return 200, _page(self.thread_messages[thread_id], offset, limit)

    def _thread_entry(self, thread_id):
        entry = self.threads.get(str(thread_id))
        if entry is None:
            raise ApiError(404, f"Thread {thread_id} not found", "OBJECT_NOT_FOUND")
        return entry

    def thread_get(self, thread_id):
        with self.lock:
            return 200, copy.deepcopy(self._thread_entry(thread_id)["thread"])

    def thread_update(self, thread_id, body):
        body = _obj(body)
        status = body.get("status")
        if status not in STATUSES:
            raise invalid(f"status must be one of {', '.join(STATUSES)}")
        with self.lock:
            thread = self._thread_entry(thread_id)["thread"]
            thread["status"] = status
            if status == "CLOSED":
                thread["closedAt"] = iso(now_ms())
            else:
                thread.pop("closedAt", None)
            return 200, copy.deepcopy(thread)

    def message_send(self, thread_id, body):
        body = _obj(body)
        kind = body.get("type")
        text = body.get("text")
        actor = str(body.get("senderActorId") or "")
        if kind not in MESSAGE_TYPES:
            raise invalid(f"type must be one of {', '.join(MESSAGE_TYPES)}")
        if not isinstance(text, str) or not text.strip():
            raise invalid("text is required")
        if not actor.startswith("A-") or not actor[2:].isdigit():
            raise invalid("senderActorId must be an agent actor, A-<userId>")
        with self.lock:
            entry = self._thread_entry(thread_id)
            thread = entry["thread"]
            if kind == "MESSAGE":
                for name in ("channelId", "channelAccountId"):
                    if not body.get(name):
                        raise invalid(f"{name} is required to send a message")
                if thread["status"] == "CLOSED":
                    raise invalid(f"Thread {thread_id} is closed: reopen it to send a message")
            owner = next((o for o in self.owners if str(o["userId"]) == actor[2:]), None)
            if owner is None:
                raise invalid(f"No agent with actor ID {actor}")
            sender = f"{owner['firstName']} {owner['lastName']}".strip()
        message = self.add_message(thread_id, text, type=kind, direction="OUTGOING", sender=sender)
        with self.lock:
            stored = self.thread_messages[thread["id"]][-1]
            stored["createdBy"] = actor
            stored["senders"][0]["actorId"] = actor
            stored["client"] = {"clientType": "INTEGRATION"}
            if body.get("richText"):
                stored["richText"] = str(body["richText"])
            message = copy.deepcopy(stored)
        return 201, message
