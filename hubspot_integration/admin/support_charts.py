"""The support card's charts: positions computed here, so the SVG needs no script (and no CDN).

Readable without colour: the two series of a day chart differ by fill (solid, hatched) and are
named in a legend; every bar carries its label and value as text, and its exact figure in a title.
"""

from __future__ import annotations

import datetime as dt
import math

from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from ..tickets import service as tickets

WIDTH = 640
DAY_PLOT_HEIGHT = 150
DAY_TOP = 28  # the legend's row
DAY_AXIS = 22  # the date labels' row
DAY_LEFT = 44
BAR_HEIGHT = 22
LABEL_WIDTH = 190
SERIES = (("opened", gettext_lazy("Opened")), ("closed", gettext_lazy("Closed")))


def day_title(noun: str, series: str, date: str, count: int) -> str:
    """A day's bar in words, whole sentences so each language orders and inflects them. The
    English stays "1 tickets opened" as it always read; German says "1 Ticket eröffnet"."""
    if noun == "tickets" and series == "opened":
        text = ngettext(
            "%(date)s: %(count)s tickets opened", "%(date)s: %(count)s tickets opened", count
        )
    elif noun == "tickets":
        text = ngettext(
            "%(date)s: %(count)s tickets closed", "%(date)s: %(count)s tickets closed", count
        )
    elif series == "opened":
        text = ngettext(
            "%(date)s: %(count)s threads opened", "%(date)s: %(count)s threads opened", count
        )
    else:
        text = ngettext(
            "%(date)s: %(count)s threads closed", "%(date)s: %(count)s threads closed", count
        )
    return text % {"date": date, "count": count}


def tick(day: str) -> str:
    """A day under the chart, short, as the language writes it: "11-03" in English, "03.11." in
    German (the format is the translation: Django's date-format letters)."""
    try:
        when = dt.date.fromisoformat(day)
    except ValueError:
        return day[5:]
    return dateformat.format(when, pgettext("a chart's day label; Django date format", "m-d"))


def duration(seconds) -> str:
    """Seconds in words a person reads at a glance: "45 s", "12 min", "4 h 15 min", "2 d 3 h"."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": seconds}
    minutes = seconds // 60
    if minutes < 60:
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
        return _("%(hours)s h") % {"hours": hours}
    days, hours = divmod(hours, 24)
    if hours:
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    return _("%(days)s d") % {"days": days}


def day_chart(per_day: list[dict], noun: str) -> dict:
    """Opened and closed per day, side by side, with a date under every few days."""
    n = max(len(per_day), 1)
    span = WIDTH - DAY_LEFT - 6
    group = span / n
    bar = max(1.0, group * 0.4)
    top = max((max(d["opened"], d["closed"]) for d in per_day), default=0) or 1
    every = math.ceil(n / 8)
    bars, ticks = [], []
    base = DAY_TOP + DAY_PLOT_HEIGHT
    for i, d in enumerate(per_day):
        x0 = DAY_LEFT + i * group + (group - 2 * bar) / 2
        for k, (series, _label) in enumerate(SERIES):
            h = round(DAY_PLOT_HEIGHT * d[series] / top, 1)
            bars.append(
                {
                    "series": series,
                    "x": round(x0 + k * bar, 1),
                    "y": round(base - h, 1),
                    "width": round(bar, 1),
                    "height": h,
                    "title": day_title(noun, series, d["date"], d[series]),
                    "date": d["date"],
                    "value": d[series],
                }
            )
        if i % every == 0:
            ticks.append(
                {"x": round(DAY_LEFT + i * group + group / 2, 1), "label": tick(d["date"])}
            )
    return {
        "width": WIDTH,
        "height": base + DAY_AXIS,
        "left": DAY_LEFT,
        "base": base,
        "top_value": top,
        "top_y": DAY_TOP + 4,
        "bars": bars,
        "ticks": ticks,
        "tick_y": base + 16,
        "legend": [
            {
                "series": s,
                "label": str(label),
                "x": DAY_LEFT + i * 110,
                "text_x": DAY_LEFT + i * 110 + 20,
            }
            for i, (s, label) in enumerate(SERIES)
        ],
        "days": per_day,
    }


def bar_chart(rows: list[tuple[str, str, float, str]]) -> dict:
    """Horizontal bars (key, label, value, the value as text), scaled to the largest."""
    span = WIDTH - LABEL_WIDTH - 150
    top = max((r[2] or 0 for r in rows), default=0) or 1
    bars = []
    for i, (key, label, value, text) in enumerate(rows):
        y = i * (BAR_HEIGHT + 6)
        width = max(1, round(span * value / top)) if value else 0
        bars.append(
            {
                "key": key,
                "label": label,
                "text": text,
                "y": y,
                "text_y": y + BAR_HEIGHT - 6,
                "width": width,
                "value_x": LABEL_WIDTH + width + 6,
            }
        )
    return {
        "width": WIDTH,
        "height": len(bars) * (BAR_HEIGHT + 6),
        "bar_x": LABEL_WIDTH,
        "label_x": LABEL_WIDTH - 8,
        "bars": bars,
    }


def priority_label(row: dict) -> str:
    """A priority bar's label in the active language (the report keeps HubSpot's value)."""
    if not row["priority"]:
        return _("No or other priority")
    return tickets.priority_label(row["priority"])


def charts(data: dict | None) -> dict:
    """Every chart of the support card, from `support_reports.summary()`'s data."""
    if not data:
        return {}
    t = data["tickets"]
    close = t["time_to_close"]
    times = [
        ("close-median", _("Ticket close, median"), close["median_seconds"]),
        ("close-p90", _("Ticket close, 90th percentile"), close["p90_seconds"]),
    ]
    chat = data.get("chat")
    if chat:
        times.append(
            ("reply-median", _("Chat first reply, median"), chat["first_reply"]["median_seconds"])
        )
    result = {
        "tickets_per_day": day_chart(t["per_day"], "tickets"),
        "by_stage": bar_chart(
            [
                (s["stage"], f"{s['pipeline_label']}: {s['label']}", s["count"], str(s["count"]))
                for s in t["open_by_stage"]
            ]
        ),
        "by_priority": bar_chart(
            [
                (p["priority"], priority_label(p), p["count"], str(p["count"]))
                for p in t["open_by_priority"]
            ]
        ),
        "times": bar_chart([(k, label, v or 0, duration(v)) for k, label, v in times]),
        "close_median": duration(close["median_seconds"]),
        "close_p90": duration(close["p90_seconds"]),
    }
    if chat:
        result["chat_per_day"] = day_chart(chat["per_day"], "threads")
        result["chat_totals"] = bar_chart(
            [
                ("opened", _("Threads opened"), chat["opened"], str(chat["opened"])),
                ("closed", _("Threads closed"), chat["closed"], str(chat["closed"])),
            ]
        )
        result["reply_median"] = duration(chat["first_reply"]["median_seconds"])
    return result
