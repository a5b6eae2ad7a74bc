"""The "no permission" page of the admin, in the admin's own look (the project's `handler403`).

Every admin page that refuses someone raises PermissionDenied: the HubSpot pages, the settings page
and the admin's own changelists alike. Under the admin's URL the refusal is rendered with the admin's
templates (its header, its navigation, a way back to the index); anywhere else Django's own 403 view
answers as before.
"""

from __future__ import annotations

from django.contrib import admin
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views import defaults


def _under_admin(request, site) -> bool:
    try:
        return request.path.startswith(reverse(f"{site.name}:index"))
    except NoReverseMatch:
        return False


def permission_denied(request, exception=None, *, site=admin.site):
    if not _under_admin(request, site):
        return defaults.permission_denied(request, exception)
    context = {**site.each_context(request), "title": _("Permission denied")}
    return render(request, "admin/403.html", context, status=403)
