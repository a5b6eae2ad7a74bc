"""The legacy reporting endpoints the dashboard reads: analytics totals, the forms breakdown and
form submissions (v1). Figures are deterministic so tests can compute what the panel must show.

- `GET /analytics/v2/reports/totals/total?start=YYYYMMDD&end=YYYYMMDD` (scope
  `business-intelligence`): `{"totals": {"rawViews", "visits", "contacts", ...}}`; page views and
  visits are `pageviews_per_day` / `visits_per_day` times the days asked, contacts are the contacts
  created in the window.
- `GET /analytics/v2/reports/forms/total?start&end` (same scope): one breakdown per form with
  `formViews` (`form_views[form_id]`, default 0) and the `submissions` made in the window.
- `GET /form-integrations/v1/submissions/forms/{guid}?limit&after` (scope `forms`): every submission,
  newest first, 50 a page at most.
"""

from __future__ import annotations

import datetime as dt

from .common import ApiError, invalid, iso, now_ms, parse_ms

ANALYTICS_SCOPE = "business-intelligence"
_DAY_MS = 86_400_000


class Analytics:
    def __init__(self, state):
        self.state = state
        self.reset()

    def reset(self):
        self.pageviews_per_day = 120
        self.visits_per_day = 45
        self.form_views: dict[str, int] = {}

    # --- test controls ---------------------------------------------------------------------------
    def add_submissions(self, form_id, n, *, days=30, end_ms=None):
        """n submissions of a form spread over the last `days` days (no contacts are created)."""
        end = end_ms if end_ms is not None else now_ms()
        step = days * _DAY_MS // max(n, 1)
        with self.state.lock:
            for i in range(n):
                self.state.form_submissions.append(
                    {
                        "portalId": 0,
                        "formGuid": form_id,
                        "body": {"fields": [{"name": "email", "value": f"sub{i}@example.com"}]},
                        "submittedAt": iso(end - step * i),
                    }
                )

    # --- HTTP handlers ---------------------------------------------------------------------------
    def totals(self, query):
        start, end = _window(query)
        days = (end - start) // _DAY_MS
        with self.state.lock:
            contacts = sum(
                1
                for r in self.state.records["contacts"].values()
                if not r.archived_at and start <= r.created < end
            )
        totals = {
            "rawViews": self.pageviews_per_day * days,
            "visits": self.visits_per_day * days,
            "visitors": int(self.visits_per_day * days * 0.8),
            "contacts": contacts,
            "leads": contacts,
        }
        return 200, {"totals": totals}

    def forms(self, query):
        start, end = _window(query)
        with self.state.lock:
            forms = [f for f in self.state.forms if not f["archived"]]
            counts = {f["id"]: 0 for f in forms}
            for sub in self.state.form_submissions:
                at = parse_ms(sub["submittedAt"])
                if sub["formGuid"] in counts and at is not None and start <= at < end:
                    counts[sub["formGuid"]] += 1
        breakdowns = [
            {
                "breakdown": f["id"],
                "meta": f["name"],
                "formViews": self.form_views.get(f["id"], 0),
                "submissions": counts[f["id"]],
            }
            for f in forms
        ]
        return 200, {"breakdowns": breakdowns, "total": len(breakdowns), "offset": 0}

    def submissions(self, form_id, query):
        limit = _int(query, "limit", 20, 50)
        after = _int(query, "after", 0, 10**9)
        with self.state.lock:
            if not any(f["id"] == form_id and not f["archived"] for f in self.state.forms):
                raise ApiError(404, f"Form {form_id} not found", "OBJECT_NOT_FOUND")
            rows = [
                {
                    "submittedAt": parse_ms(s["submittedAt"]),
                    "values": list((s.get("body") or {}).get("fields") or []),
                    "pageUrl": ((s.get("body") or {}).get("context") or {}).get("pageUri", ""),
                }
                for s in self.state.form_submissions
                if s["formGuid"] == form_id
            ]
        rows.sort(key=lambda r: r["submittedAt"] or 0, reverse=True)
        out = {"results": rows[after : after + limit]}
        if len(rows) > after + limit:
            out["paging"] = {"next": {"after": str(after + limit)}}
        return 200, out


def _day(text, name):
    try:
        return int(dt.datetime.strptime(text, "%Y%m%d").replace(tzinfo=dt.UTC).timestamp() * 1000)
    except (TypeError, ValueError):
        raise invalid(f"{name} must be a date as YYYYMMDD") from None


def _window(query):
    """[start of the start day, end of the end day) in epoch ms, both days in UTC."""
    start = _day((query.get("start") or [None])[0], "start")
    end = _day((query.get("end") or [None])[0], "end") + _DAY_MS
    if end <= start:
        raise invalid("end must not be before start")
    return start, end


def _int(query, name, default, high):
    raw = (query.get(name) or [None])[0]
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer") from None
    if not 0 <= value <= high:
        raise invalid(f"{name} must be between 0 and {high}")
    return value
