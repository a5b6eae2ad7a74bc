"""The two groups the panel ships with and the permissions each holds.

One list here serves the data migration and the post-migrate sync, so a permission added in a later
release reaches existing groups on the next `migrate`.
"""

from .crm import registry

STAFF_GROUP = "HubSpot staff"
ADMIN_GROUP = "HubSpot admins"

STAFF_PERMISSIONS = [
    # Every object type's pages (manage_contacts, manage_tickets, manage_companies, ...).
    *(declared.permission for declared in registry.object_types()),
    "hubspot_integration.import_contacts",
    "hubspot_integration.view_crm_dashboard",
    "hubspot_integration.view_outboxoperation",
    "hubspot_integration.view_contactimport",
    "hubspot_integration.add_contactimport",
    "hubspot_integration.view_customerticket",
]

ADMIN_PERMISSIONS = STAFF_PERMISSIONS + [
    "hubspot_integration.view_hubspotsettings",
    "hubspot_integration.change_hubspotsettings",
    "hubspot_integration.test_connection",
    "hubspot_integration.view_settingsauditentry",
    "hubspot_integration.change_outboxoperation",
    "hubspot_integration.view_webhookevent",
    # Erases a person in HubSpot and here, past any undo: an admin's call, not every staff member's.
    "hubspot_integration.gdpr_delete_contacts",
]

GROUPS = {STAFF_GROUP: STAFF_PERMISSIONS, ADMIN_GROUP: ADMIN_PERMISSIONS}


def sync_groups(apps=None) -> None:
    """Create the groups and give each exactly the permissions listed above (adds, never removes
    permissions an operator granted by hand)."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.add(*wanted)
