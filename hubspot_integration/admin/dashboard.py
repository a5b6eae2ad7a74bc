"""The CRM dashboard: the CrmDashboard changelist is the page, with a Refresh button.

Every card is filled by `services.reports`, which caches it per portal; a card whose HubSpot call
fails shows why, and the others still show their figures.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from ..crm import registry
from ..models import CrmDashboard
from ..services import money, reports
from . import support_charts
from .pages import admin_page, when

PERMISSION = "hubspot_integration.view_crm_dashboard"
PERIODS = (7, 30, 90)
CHART_WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 190


def recent_rows(request, card) -> list[dict]:
    """The recent contacts with their creation dates as dates, each linked to its page."""
    return [
        {
            **c,
            "name": " ".join(filter(None, [c.get("firstname"), c.get("lastname")])),
            "created": when(c.get("createdate")),
            "url": registry.change_url("contacts", c["id"], request.user),
        }
        for c in (card.data or [])
    ]


def chart(stages: list[dict]) -> list[dict]:
    """One horizontal bar chart per pipeline: bar lengths scaled to the pipeline's largest stage,
    positions computed here so the SVG needs no script (and no CDN)."""
    pipelines: dict[str, dict] = {}
    for st in stages:
        p = pipelines.setdefault(
            st["pipeline"], {"id": st["pipeline"], "label": st["pipeline_label"], "bars": []}
        )
        p["bars"].append(st)
    span = CHART_WIDTH - LABEL_WIDTH - 150
    for p in pipelines.values():
        top = max((b["deal_count"] for b in p["bars"]), default=0) or 1
        for i, b in enumerate(p["bars"]):
            b["y"] = i * (BAR_HEIGHT + 6)
            b["text_y"] = b["y"] + BAR_HEIGHT - 6
            b["width"] = max(1, round(span * b["deal_count"] / top)) if b["deal_count"] else 0
            b["value_x"] = LABEL_WIDTH + b["width"] + 6
        p["height"] = len(p["bars"]) * (BAR_HEIGHT + 6)
        p["bar_x"] = LABEL_WIDTH
        p["width"] = CHART_WIDTH
    return list(pipelines.values())


@admin.register(CrmDashboard)
class CrmDashboardAdmin(admin.ModelAdmin):
    def _allowed(self, request) -> bool:
        return request.user.is_active and request.user.has_perm(PERMISSION)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            admin_page(self, "refresh/", self.refresh_view, "refresh"),
            admin_page(self, "", self.changelist_view, "changelist"),
        ]

    def _days(self, request) -> int:
        # `period` as the support API names it; `days` as the dashboard's links always have.
        chosen = request.GET.get("period", request.GET.get("days", reports.DEFAULT_DAYS))
        days = reports.clamp_days(chosen)
        return days if days in PERIODS else reports.DEFAULT_DAYS

    def changelist_view(self, request, extra_context=None):
        if not self._allowed(request):
            raise PermissionDenied
        days = self._days(request)
        cards = reports.dashboard(days=days, recent=reports.DEFAULT_RECENT)
        pipeline = cards["pipeline"]
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": _("CRM dashboard"),
            "cards": cards,
            "charts": chart(pipeline.data["stages"]) if pipeline.has_figures else [],
            "currency": money.currency(),
            "recent": recent_rows(request, cards["recent_contacts"]),
            "support": support_charts.charts(
                cards["support"].data if cards["support"].has_figures else None
            ),
            "days": days,
            "periods": PERIODS,
            "refresh_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_refresh"),
            "cache_seconds": reports.report_cache.ttl(),
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, "admin/hubspot_integration/dashboard/dashboard.html", context
        )

    def refresh_view(self, request):
        if not self._allowed(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        days = self._days(request)
        reports.refresh()
        # Read HubSpot now, so the message tells the truth; the page below is served from it.
        cards = reports.dashboard(days=days, recent=reports.DEFAULT_RECENT)
        failed = [c for c in cards.values() if c.refresh_failed]
        if not failed:
            messages.success(request, _("The dashboard was refreshed from HubSpot."))
        else:
            kept = (
                " " + _("The cards show the last figures HubSpot gave, with their age.")
                if any(c.stale for c in failed)
                else ""
            )
            messages.warning(
                request,
                _("The refresh failed for %(failed)s of %(cards)s cards: %(error)s")
                % {"failed": len(failed), "cards": len(cards), "error": failed[0].error}
                + kept,
            )
        opts = self.model._meta
        target = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        return HttpResponseRedirect(f"{target}?days={days}")
