"""The three pages of Connect with HubSpot: start (POST), HubSpot's callback, and disconnect (POST).

Each needs the permission to change the HubSpot settings; each ends on the settings page with a
message, whatever happened: a failed round trip is the admin's to read, never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from ..models import HubSpotSettings
from . import flow

CHANGE_PERMISSION = "hubspot_integration.change_hubspotsettings"


def settings_url() -> str:
    return reverse(
        "admin:hubspot_integration_hubspotsettings_change", args=[HubSpotSettings.singleton_pk]
    )


def _require_change_permission(request) -> None:
    if not request.user.has_perm(CHANGE_PERMISSION):
        raise PermissionDenied


def connect(request):
    """The Connect with HubSpot button: a POST, so a link on another site cannot start it."""
    _require_change_permission(request)
    if request.method != "POST":
        return HttpResponseRedirect(settings_url())
    try:
        return HttpResponseRedirect(flow.begin(request))
    except flow.ConnectError as err:
        messages.error(request, str(err))
        return HttpResponseRedirect(settings_url())


def callback(request):
    """Where HubSpot sends the admin's browser back, with `code` and `state` (or `error`)."""
    _require_change_permission(request)
    try:
        result = flow.complete(request)
    except flow.ConnectError as err:
        messages.error(request, str(err))
        return HttpResponseRedirect(settings_url())
    text = _("Connected with HubSpot: portal %(portal)s.") % {
        "portal": result.portal_id or _("unknown")
    }
    if result.previous_portal_id and result.previous_portal_id != result.portal_id:
        changed = _("The portal ID changed from %(old)s to %(new)s.") % {
            "old": result.previous_portal_id,
            "new": result.portal_id,
        }
        text = f"{text} {changed}"
    messages.success(request, text)
    if result.missing:
        messages.warning(
            request,
            _(
                "HubSpot did not grant %(scopes)s: the features that need them will not work "
                "until the app has them."
            )
            % {"scopes": ", ".join(result.missing)},
        )
    if result.note:
        messages.warning(request, result.note)
    if not HubSpotSettings.load().enabled:
        messages.info(request, _("Tick “HubSpot enabled” and save to start using the connection."))
    return HttpResponseRedirect(settings_url())


def disconnect(request):
    _require_change_permission(request)
    if request.method != "POST":
        return HttpResponseRedirect(settings_url())
    result = flow.disconnect(request.user)
    if not result.was_connected:
        messages.info(request, _("There was no OAuth connection to disconnect."))
    elif result.confirmed:
        messages.success(request, _("Disconnected from HubSpot: the OAuth tokens are revoked."))
    else:
        messages.warning(request, _("Disconnected here. %(note)s") % {"note": result.note})
    return HttpResponseRedirect(settings_url())
