"""API permissions, mirroring the admin: the same Django permissions decide both."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission


class HasPermission(BasePermission):
    """Grants access to authenticated users holding `required` (superusers hold every one)."""

    required: tuple[str, ...] = ()
    message = _("You do not have permission to use this part of the HubSpot API.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(self.required))


def requires(*perms: str) -> type[HasPermission]:
    return type("Requires", (HasPermission,), {"required": perms})


CanViewSettings = requires("hubspot_integration.view_hubspotsettings")
CanChangeSettings = requires("hubspot_integration.change_hubspotsettings")
CanTestConnection = requires("hubspot_integration.test_connection")
CanManageContacts = requires("hubspot_integration.manage_contacts")
CanManageTickets = requires("hubspot_integration.manage_tickets")
CanViewDashboard = requires("hubspot_integration.view_crm_dashboard")
