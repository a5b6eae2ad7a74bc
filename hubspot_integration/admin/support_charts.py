"""The support card's charts: positions computed here, so the SVG needs no script (and no CDN).

Readable without colour: the two series of a day chart differ by fill (solid, hatched) and are
named in a legend; every bar carries its label and value as text, and its exact figure in a title.
"""

from __future__ import annotations

import math

WIDTH = 640
DAY_PLOT_HEIGHT = 150
DAY_TOP = 28  # the legend's row
DAY_AXIS = 22  # the date labels' row
DAY_LEFT = 44
BAR_HEIGHT = 22
LABEL_WIDTH = 190
SERIES = (("opened", "Opened"), ("closed", "Closed"))


def duration(seconds) -> str:
    """Seconds in words a person reads at a glance: "45 s", "12 min", "4 h 15 min", "2 d 3 h"."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


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
        for k, (series, label) in enumerate(SERIES):
            h = round(DAY_PLOT_HEIGHT * d[series] / top, 1)
            bars.append(
                {
                    "series": series,
                    "x": round(x0 + k * bar, 1),
                    "y": round(base - h, 1),
                    "width": round(bar, 1),
                    "height": h,
                    "title": f"{d['date']}: {d[series]} {noun} {label.lower()}",
                    "date": d["date"],
                    "value": d[series],
                }
            )
        if i % every == 0:
            ticks.append({"x": round(DAY_LEFT + i * group + group / 2, 1), "label": d["date"][5:]})
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
                "label": label,
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


def charts(data: dict | None) -> dict:
    """Every chart of the support card, from `support_reports.summary()`'s data."""
    if not data:
        return {}
    t = data["tickets"]
    close = t["time_to_close"]
    times = [
        ("close-median", "Ticket close, median", close["median_seconds"]),
        ("close-p90", "Ticket close, 90th percentile", close["p90_seconds"]),
    ]
    chat = data.get("chat")
    if chat:
        times.append(
            ("reply-median", "Chat first reply, median", chat["first_reply"]["median_seconds"])
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
                (p["priority"], p["label"], p["count"], str(p["count"]))
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
                ("opened", "Threads opened", chat["opened"], str(chat["opened"])),
                ("closed", "Threads closed", chat["closed"], str(chat["closed"])),
            ]
        )
        result["reply_median"] = duration(chat["first_reply"]["median_seconds"])
    return result
