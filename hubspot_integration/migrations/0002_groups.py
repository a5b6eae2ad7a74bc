"""Create the "HubSpot admins" and "HubSpot staff" groups with their permissions."""

from django.db import migrations


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create this app's now
    # so the groups can hold them on a fresh database.
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("hubspot_integration")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    from hubspot_integration.roles import sync_groups

    sync_groups(apps)


def remove_groups(apps, schema_editor):
    from hubspot_integration.roles import GROUPS

    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("hubspot_integration", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
