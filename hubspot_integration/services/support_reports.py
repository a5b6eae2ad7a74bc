"""Support analytics: tickets and chat threads over a period, exact for any number of tickets.

Counts are exact whatever the account's size: open tickets by stage and priority are search
totals; tickets opened per day come from one search total a day or from reading the period's
tickets (whichever needs fewer calls: a page holds 200, so a quiet period is read, a busy one
counted); every ticket closed in the period is read (its own `createdate` and `closed_date`, past
the search's 10,000-result cap by creation-date windows), which gives the closed per day and the
times to close. Chat threads are listed page by page; each thread opened in the period has its
messages read up to the first reply. Days are UTC days; the period ends today.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter

from django.utils import timezone
from django.utils.translation import gettext as _

from .. import errors
from ..credentials import get_client
from ..crm import listing
from ..tickets.service import Priority
from . import pipelines, report_cache
from .report_cache import Fetched

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
CHAT_SCOPE = "conversations.read"
THREAD_PAGE = 100
MESSAGE_PAGE = 50
_DAY_MS = 86_400_000


def _client():
    # As the dashboard's other cards: a search waits its turn in the search budget, not fails.
    return get_client(max_wait=5.0)


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date().isoformat()


def period_start(days: int) -> dt.datetime:
    today = timezone.now().astimezone(dt.UTC).date()
    first = today - dt.timedelta(days=days - 1)
    return dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC)


def _days_of(start: dt.datetime, days: int) -> list[str]:
    return [(start.date() + dt.timedelta(days=i)).isoformat() for i in range(days)]


def durations(values_ms: list[int]) -> dict:
    """Count, median (the middle one, or the mean of the two middle ones) and the 90th
    percentile (nearest rank: the smallest value at least 90 % of them do not exceed), in
    seconds; None when there are none."""
    ordered = sorted(values_ms)
    if not ordered:
        return {"count": 0, "median_seconds": None, "p90_seconds": None}
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return {
        "count": len(ordered),
        "median_seconds": _seconds(statistics.median(ordered)),
        "p90_seconds": _seconds(p90),
    }


def _seconds(ms) -> int | float:
    value = round(ms / 1000, 3)
    return int(value) if value == int(value) else value


def _total(client, filters: list[dict]) -> int:
    page = client.search_objects("tickets", filter_groups=[{"filters": filters}], limit=1)
    return int(page.get("total") or 0)


def _since(prop: str, start_ms: int, end_ms: int | None = None) -> list[dict]:
    flt = [{"propertyName": prop, "operator": "GTE", "value": str(start_ms)}]
    if end_ms is not None:
        flt.append({"propertyName": prop, "operator": "LT", "value": str(end_ms)})
    return flt


def _opened_per_day(client, start_ms: int, days: list[str]) -> Counter:
    total = _total(client, _since("createdate", start_ms))
    opened: Counter = Counter()
    if not total:
        return opened
    if math.ceil(total / listing.SEARCH_PAGE_MAX) <= len(days):
        for t in listing.iter_all(
            client,
            "tickets",
            filters=_since("createdate", start_ms),
            properties=["createdate"],
            page_size=listing.SEARCH_PAGE_MAX,
        ):
            if (created := listing.created_ms(t)) is not None:
                opened[_day(created)] += 1
        return opened
    for i, day in enumerate(days):
        low = start_ms + i * _DAY_MS
        opened[day] = _total(client, _since("createdate", low, low + _DAY_MS))
    return opened


def _closed(client, start_ms: int) -> tuple[Counter, list[int]]:
    per_day: Counter = Counter()
    times: list[int] = []
    for t in listing.iter_all(
        client,
        "tickets",
        filters=_since("closed_date", start_ms),
        properties=["createdate", "closed_date"],
        page_size=listing.SEARCH_PAGE_MAX,
    ):
        closed = listing.epoch_ms((t.get("properties") or {}).get("closed_date"))
        if closed is None:
            continue
        per_day[_day(closed)] += 1
        created = listing.created_ms(t)
        if created is not None and closed >= created:
            times.append(closed - created)
    return per_day, times


def _open_counts(client) -> tuple[list[dict], list[dict]]:
    by_stage, open_ids = [], []
    for p in pipelines.read("tickets", client=client):
        for st in p["stages"]:
            if pipelines.stage_state(st) == "closed":
                continue
            open_ids.append(st["id"])
            flt = [
                {"propertyName": "hs_pipeline", "operator": "EQ", "value": p["id"]},
                {"propertyName": "hs_pipeline_stage", "operator": "EQ", "value": st["id"]},
            ]
            by_stage.append(
                {
                    "pipeline": p["id"],
                    "pipeline_label": p.get("label", p["id"]),
                    "stage": st["id"],
                    "label": st.get("label", st["id"]),
                    "count": _total(client, flt),
                }
            )
    by_priority = []
    if open_ids:
        is_open = {"propertyName": "hs_pipeline_stage", "operator": "IN", "values": open_ids}
        for priority in Priority:
            flt = [
                is_open,
                {"propertyName": "hs_ticket_priority", "operator": "EQ", "value": priority.value},
            ]
            by_priority.append(
                {"priority": priority.value, "label": priority.label, "count": _total(client, flt)}
            )
    # No priority, or one of the account's own: what the stages hold beyond the known ones.
    rest = sum(s["count"] for s in by_stage) - sum(p["count"] for p in by_priority)
    by_priority.append({"priority": "", "label": _("No or other priority"), "count": max(rest, 0)})
    return by_stage, by_priority


def _tickets(client, start: dt.datetime, days: list[str]) -> dict:
    start_ms = round(start.timestamp() * 1000)
    opened = _opened_per_day(client, start_ms, days)
    closed, times = _closed(client, start_ms)
    by_stage, by_priority = _open_counts(client)
    return {
        "per_day": [{"date": d, "opened": opened[d], "closed": closed[d]} for d in days],
        "opened": sum(opened[d] for d in days),
        "closed": sum(closed[d] for d in days),
        "time_to_close": durations(times),
        "open_by_stage": by_stage,
        "open_by_priority": by_priority,
    }


def _first_reply_ms(client, thread: dict, created: int) -> int | None:
    after = None
    while True:
        page = client.thread_messages(thread["id"], limit=MESSAGE_PAGE, after=after)
        for m in page["results"]:
            if m.get("type") == "MESSAGE" and m.get("direction") == "OUTGOING":
                at = listing.epoch_ms(m.get("createdAt"))
                return at - created if at is not None else None
        after = page.get("next_after")
        if not after:
            return None


def _chat(client, start: dt.datetime, days: list[str]) -> dict:
    start_ms = round(start.timestamp() * 1000)
    opened: Counter = Counter()
    closed: Counter = Counter()
    replies: list[int] = []
    unanswered = 0
    after = None
    while True:
        page = client.threads(limit=THREAD_PAGE, after=after)
        for thread in page["results"]:
            created = listing.epoch_ms(thread.get("createdAt"))
            ended = (
                listing.epoch_ms(thread.get("closedAt"))
                if thread.get("status") == "CLOSED"
                else None
            )
            if ended is not None and ended >= start_ms:
                closed[_day(ended)] += 1
            if created is None or created < start_ms:
                continue
            opened[_day(created)] += 1
            reply = _first_reply_ms(client, thread, created)
            if reply is None:
                unanswered += 1
            else:
                replies.append(reply)
        after = page.get("next_after")
        if not after:
            break
    first_reply = durations(replies)
    del first_reply["p90_seconds"]
    return {
        "per_day": [{"date": d, "opened": opened[d], "closed": closed[d]} for d in days],
        "opened": sum(opened[d] for d in days),
        "closed": sum(closed[d] for d in days),
        "first_reply": {**first_reply, "unanswered": unanswered},
    }


def clamp_period(value) -> int:
    try:
        period = int(value)
    except (TypeError, ValueError):
        return DEFAULT_PERIOD
    return period if period in PERIODS else DEFAULT_PERIOD


def summary(period: int = DEFAULT_PERIOD) -> Fetched:
    """The support figures of the last `period` days (7, 30 or 90). Without the scope
    `conversations.read`, `chat` is None and `chat_note` says so; the tickets' figures show."""
    period = clamp_period(period)

    def fetch():
        client = _client()
        start = period_start(period)
        days = _days_of(start, period)
        try:
            chat, note = _chat(client, start, days), ""
        except errors.ForbiddenError as err:
            scopes = ", ".join(err.missing_scopes or [CHAT_SCOPE])
            chat = None
            note = _(
                "Chat figures need the HubSpot scope %(scopes)s: add it to the private app."
            ) % {"scopes": scopes}
        return {
            "period": period,
            "start": days[0],
            "end": days[-1],
            "tickets": _tickets(client, start, days),
            "chat": chat,
            "chat_note": note,
        }

    return report_cache.cached(f"support:{period}", fetch)
