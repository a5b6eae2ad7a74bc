"""What the HubSpot admin pages share: one permission, admin-looking pages, cursor paging, and
telling the user the truth about a write.

These pages show HubSpot's data, not rows: their ModelAdmins sit on models without a table
(`models.AdminPage`) only to get an entry in the admin index and a URL namespace, and replace
every view.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..form_errors import add_service_errors
from ..services.outbox import Outcome

QUEUED_MESSAGE = gettext_lazy("Queued: will be sent to HubSpot when it is reachable.")


def admin_page(model_admin, route: str, view, name: str):
    """A URL of `model_admin`'s own: behind `admin_view` (login, staff, CSRF) and named
    `admin:<app>_<model>_<name>` like the admin's built-in pages."""
    opts = model_admin.model._meta
    return path(
        route,
        model_admin.admin_site.admin_view(view),
        name=f"{opts.app_label}_{opts.model_name}_{name}",
    )


class OnePermissionMixin:
    """Every page of the ModelAdmin needs one permission (`permission`), superusers included."""

    permission = ""  # "hubspot_integration.<codename>"

    def _allowed(self, request) -> bool:
        return request.user.is_active and request.user.has_perm(self.permission)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request)

    def check_permission(self, request) -> None:
        # admin_view already sent non-staff to the login page; staff without the permission stop here.
        if not self._allowed(request):
            raise PermissionDenied


class HubSpotPageAdmin(OnePermissionMixin, admin.ModelAdmin):
    """A ModelAdmin whose every page needs one HubSpot permission and talks to HubSpot."""

    page_size = 20

    def url(self, name: str, *args) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args)

    def render(self, request, template: str | list[str], context: dict, *, status: int = 200):
        opts = self.model._meta
        full = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "app_label": opts.app_label,
            "changelist_url": self.url("changelist"),
            **context,
        }
        names = [template] if isinstance(template, str) else template  # first found wins
        return TemplateResponse(
            request, [f"admin/hubspot_integration/{name}" for name in names], full, status=status
        )


# --- cursor paging ---------------------------------------------------------------------------------
class CursorPager:
    """HubSpot pages only forward (`after`). The cursors of the pages already seen travel in the
    query string (`prev`, repeated; "" is the first page), so "Previous" needs no server state."""

    def __init__(self, request, keep: dict):
        self.after = request.GET.get("after") or ""
        self.trail = request.GET.getlist("prev")
        self.keep = {k: v for k, v in keep.items() if v}

    @property
    def number(self) -> int:
        return len(self.trail) + 1

    def _link(self, after: str, trail: list[str]) -> str:
        params = list(self.keep.items())
        if after:
            params.append(("after", after))
        params.extend(("prev", cursor) for cursor in trail)
        return "?" + urlencode(params)

    def next_url(self, next_after: str | None) -> str:
        return self._link(next_after, [*self.trail, self.after]) if next_after else ""

    def previous_url(self) -> str:
        if not self.trail:
            return ""
        return self._link(self.trail[-1], self.trail[:-1])


# --- showing values and outcomes -------------------------------------------------------------------
def when(value: str | None):
    """HubSpot's ISO timestamps as datetimes, so the templates format them like the admin does."""
    if not value:
        return None
    try:
        return parse_datetime(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def send(request, form, write, *, refused: str):
    """Run a service's write (`write()`); its result, or None once its refusal is on the form
    (bad input, on the field it names) or in a message (`refused`: "HubSpot refused the ticket")."""
    try:
        return write()
    except ValidationError as err:
        add_service_errors(form, err)
    except errors.HubSpotError as err:
        messages.error(request, f"{refused}: {err}")
    return None


def report_outcome(request, outcome: Outcome, *, done: str, link: str = "") -> bool:
    """Tell the user what happened to a write; True when it did not fail."""
    if outcome.done:
        if link:
            messages.success(
                request,
                format_html(
                    _('{} <a href="{}" target="_blank" rel="noopener">Open in HubSpot</a>'),
                    done,
                    link,
                ),
            )
        else:
            messages.success(request, done)
        return True
    if outcome.queued:
        messages.warning(request, QUEUED_MESSAGE)
        return True
    messages.error(request, _("HubSpot refused the change: %(error)s") % {"error": outcome.error})
    return False
