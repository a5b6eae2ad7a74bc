"""The CRM dashboard and the reporting API: figures read from HubSpot, cached per portal.

Counts come from the search API's `total` (one result asked for), so they stay exact and cheap for
accounts with many thousands of records. Deal values need every deal's amount: the deals are listed
page by page (100 each, no 10,000-result ceiling as search has) and summed once, then shared by the
summary and the pipeline chart. Each function raises `HubSpotError`; `dashboard()` turns each card's
error into a message on that card so the other cards still show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..credentials import get_client
from . import pipelines, report_cache, support_reports
from .report_cache import Fetched

ANALYTICS_SCOPE = "business-intelligence"
RECENT_FIELDS = ["firstname", "lastname", "email", "company", "createdate"]
DEFAULT_DAYS = 30
MAX_DAYS = 365
DEFAULT_RECENT = 10
MAX_RECENT = 100


def _client():
    # Searches are limited to a few per second: a cold dashboard waits for its turn, not fails.
    return get_client(max_wait=5.0)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _amount(raw) -> Decimal:
    try:
        return Decimal(str(raw or "0").replace(",", ""))
    except InvalidOperation:
        return Decimal(0)


def _total(object_type: str, filter_groups: list | None = None) -> int:
    page = _client().search_objects(object_type, filter_groups=filter_groups, limit=1)
    return int(page.get("total") or 0)


# --- shared pieces (cached on their own so two cards do not fetch them twice) --------------------
def _pipelines(object_type: str) -> list[dict]:
    # The same cached pipelines the ticket pages read; the dashboard's own client waits its turn.
    return pipelines.read(object_type, client=_client())


def _deal_stats() -> Fetched:
    def fetch():
        by_stage: dict[str, list] = {}
        count, total = 0, Decimal(0)
        after = None
        client = _client()
        while True:
            page = client.list_objects(
                "deals", limit=100, after=after, properties=["amount", "dealstage", "pipeline"]
            )
            for deal in page["results"]:
                props = deal.get("properties") or {}
                amount = _amount(props.get("amount"))
                key = f"{props.get('pipeline') or ''}/{props.get('dealstage') or ''}"
                slot = by_stage.setdefault(key, [0, Decimal(0)])
                slot[0] += 1
                slot[1] += amount
                count += 1
                total += amount
            after = page.get("next_after")
            if not after:
                break
        return {"count": count, "total": total, "by_stage": by_stage}

    return report_cache.cached("deal-stats", fetch, keep_last_good=False)


# --- the figures ---------------------------------------------------------------------------------
def summary() -> Fetched:
    """Numbers of contacts, companies and deals; the value of all deals and of the open ones."""

    def fetch():
        stats = _deal_stats().data
        closed = {
            f"{p['id']}/{st['id']}"
            for p in _pipelines("deals")
            for st in p["stages"]
            if pipelines.stage_state(st) == "closed"
        }
        open_value = sum(
            (v for k, (_, v) in stats["by_stage"].items() if k not in closed), Decimal(0)
        )
        open_count = sum(n for k, (n, _) in stats["by_stage"].items() if k not in closed)
        return {
            "contacts_count": _total("contacts"),
            "companies_count": _total("companies"),
            "deals_count": _total("deals"),
            "total_deal_value": _number(stats["total"]),
            "open_deals_count": open_count,
            "open_deal_value": _number(open_value),
        }

    return report_cache.cached("summary", fetch)


def deal_pipeline() -> Fetched:
    """Deals per stage, every pipeline and stage in HubSpot's order, with HubSpot's labels."""

    def fetch():
        stats = _deal_stats().data["by_stage"]
        stages = []
        for p in _pipelines("deals"):
            for st in p["stages"]:
                n, value = stats.get(f"{p['id']}/{st['id']}", (0, Decimal(0)))
                stages.append(
                    {
                        "pipeline": p["id"],
                        "pipeline_label": p.get("label", p["id"]),
                        "stage": st["id"],
                        "label": st.get("label", st["id"]),
                        "deal_count": n,
                        "total_value": _number(value),
                    }
                )
        return {"stages": stages}

    return report_cache.cached("deal-pipeline", fetch)


def recent_contacts(limit: int = DEFAULT_RECENT) -> Fetched:
    limit = max(1, min(int(limit), MAX_RECENT))

    def fetch():
        page = _client().search_objects(
            "contacts",
            sorts=[{"propertyName": "createdate", "direction": "DESCENDING"}],
            properties=RECENT_FIELDS,
            limit=limit,
        )
        return [
            {"id": c["id"], **{f: (c.get("properties") or {}).get(f) or "" for f in RECENT_FIELDS}}
            for c in page["results"]
        ]

    return report_cache.cached(f"recent-contacts:{limit}", fetch)


def tickets_by_status() -> Fetched:
    """Open and closed tickets, by the `ticketState` HubSpot gives each pipeline stage."""

    def fetch():
        states: dict[str, list[str]] = {"open": [], "closed": []}
        for p in _pipelines("tickets"):
            for st in p["stages"]:
                states.setdefault(pipelines.stage_state(st), []).append(st["id"])
        counts = {}
        for state, stage_ids in states.items():
            flt = [{"propertyName": "hs_pipeline_stage", "operator": "IN", "values": stage_ids}]
            counts[state] = _total("tickets", [{"filters": flt}]) if stage_ids else 0
        return counts

    return report_cache.cached("tickets-by-status", fetch)


def _period(days: int) -> tuple[str, str]:
    end = timezone.now().astimezone(dt.UTC).date()
    start = end - dt.timedelta(days=days - 1)
    return start.strftime("%Y%m%d"), end.strftime("%Y%m%d")


def clamp_days(days) -> int:
    try:
        return max(1, min(int(days), MAX_DAYS))
    except (TypeError, ValueError):
        return DEFAULT_DAYS


def analytics(days: int = DEFAULT_DAYS) -> Fetched:
    """Page views, sessions and new contacts over the last `days` days (legacy analytics API)."""
    days = clamp_days(days)

    def fetch():
        start, end = _period(days)
        totals = _client().analytics_report("totals", start, end).get("totals") or {}
        return {
            "page_views": int(totals.get("rawViews", totals.get("pageviews")) or 0),
            "sessions": int(totals.get("visits") or 0),
            "new_contacts": int(totals.get("contacts") or 0),
            "days": days,
        }

    return report_cache.cached(f"analytics:{days}", fetch)


def forms(days: int = DEFAULT_DAYS) -> Fetched:
    """Each form with its submissions and, where HubSpot gives its views, the conversion rate.

    Views and submissions come from the analytics forms report for the period; without the
    analytics scope, submissions are counted from the forms API (all time) and the rate is None.
    """
    days = clamp_days(days)

    def fetch():
        client = _client()
        all_forms, after = [], None
        while True:
            page = client.forms(limit=100, after=after)
            all_forms.extend(page["results"])
            after = page.get("next_after")
            if not after:
                break
        try:
            start, end = _period(days)
            report = client.analytics_report("forms", start, end)
            rows = {b.get("breakdown"): b for b in report.get("breakdowns") or []}
            note = ""
        except (errors.ForbiddenError, errors.NotFound, errors.ValidationFailed) as err:
            rows = None
            note = _scope_note(err, gettext_lazy("views and conversion rates"))
        result = []
        for f in all_forms:
            if rows is None:
                submissions, rate = _count_submissions(client, f["id"]), None
            else:
                row = rows.get(f["id"]) or {}
                submissions = int(row.get("submissions") or 0)
                views = int(row.get("formViews") or 0)
                rate = round(submissions / views, 4) if views else None
            result.append(
                {
                    "form_id": f["id"],
                    "form_name": f.get("name", ""),
                    "submissions": submissions,
                    "conversion_rate": rate,
                }
            )
        return {"forms": result, "note": note, "days": days if rows is not None else None}

    return report_cache.cached(f"forms:{days}", fetch)


def _count_submissions(client, form_id: str) -> int:
    count, after = 0, None
    while True:
        page = client.form_submissions(form_id, limit=50, after=after)
        count += len(page["results"])
        after = page.get("next_after")
        if not after:
            return count


def _scope_note(err: errors.HubSpotError, what: str) -> str:
    if isinstance(err, errors.ForbiddenError):
        scopes = ", ".join(err.missing_scopes or [ANALYTICS_SCOPE])
        return _(
            "HubSpot gives %(what)s only with the scope %(scopes)s: add it to the private app."
        ) % {
            "what": what,
            "scopes": scopes,
        }
    return _("HubSpot does not give %(what)s for this account (%(error)s).") % {
        "what": what,
        "error": err.message,
    }


def refresh() -> None:
    report_cache.invalidate()
    # "Refresh" asks HubSpot again for everything on the dashboard, its pipelines included.
    for object_type in ("deals", "tickets"):
        pipelines.forget(object_type)


# --- the dashboard: every card, each surviving the others' errors --------------------------------
@dataclass
class Card:
    name: str
    data: Any = None
    fetched_at: dt.datetime | None = None
    from_cache: bool = False
    error: str = ""
    missing_scopes: list[str] = field(default_factory=list)
    # The figures are the last good ones: HubSpot could not be asked again (`error` says why).
    stale: bool = False

    @property
    def ok(self) -> bool:
        """Fresh figures, nothing went wrong."""
        return not self.error

    @property
    def has_figures(self) -> bool:
        """Figures to show: fresh ones, or the last good ones marked with their age."""
        return self.ok or self.stale

    @property
    def refresh_failed(self) -> bool:
        """HubSpot could not give this card's figures now (not a missing scope: that is how the
        account is set up, shown on the card, and no refresh changes it)."""
        return bool(self.error) and not self.missing_scopes


def describe(err: errors.HubSpotError, card: str) -> tuple[str, list[str]]:
    """Plain words for a card that could not be filled, naming a missing scope where there is one."""
    if isinstance(err, errors.ForbiddenError):
        scopes = err.missing_scopes or ([ANALYTICS_SCOPE] if card == "analytics" else [])
        if scopes:
            return (
                _(
                    "Needs the HubSpot scope %(scopes)s: add it to the private app "
                    "(Settings > Integrations > Private apps)."
                )
                % {"scopes": ", ".join(scopes)},
                scopes,
            )
    return str(err), []


def card(name: str, loader, *args) -> Card:
    try:
        got = loader(*args)
    except errors.HubSpotError as err:
        message, scopes = describe(err, name)
        return Card(name, error=message, missing_scopes=scopes)
    if got.stale:
        message, scopes = describe(got.error, name)
        return Card(
            name, got.data, got.fetched_at, True, message, missing_scopes=scopes, stale=True
        )
    return Card(name, got.data, got.fetched_at, got.from_cache)


def dashboard(*, days: int = DEFAULT_DAYS, recent: int = DEFAULT_RECENT) -> dict[str, Card]:
    return {
        "summary": card("summary", summary),
        "pipeline": card("pipeline", deal_pipeline),
        "tickets": card("tickets", tickets_by_status),
        "recent_contacts": card("recent_contacts", recent_contacts, recent),
        "forms": card("forms", forms, days),
        "analytics": card("analytics", analytics, days),
        "support": card("support", support_reports.summary, days),
    }
