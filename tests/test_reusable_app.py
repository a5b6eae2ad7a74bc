"""The app carries its own templates and static files; the project's hold only the demo site."""

from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import get_template

import hubspot_integration

APP = Path(hubspot_integration.__file__).resolve().parent
ROOT = APP.parent


def _files(base: Path) -> list[str]:
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


def test_every_app_template_is_loaded_from_the_app():
    names = _files(APP / "templates")
    assert "admin/hubspot_integration/hubspotsettings/change_form.html" in names
    assert "registration/email/verify_email.txt" in names
    for name in names:
        origin = Path(get_template(name).origin.name).resolve()
        assert origin == APP / "templates" / name, name


def test_the_project_templates_are_the_demo_site_only():
    project = _files(ROOT / "templates")
    assert "base.html" in project
    assert not [n for n in project if n.startswith("admin/")]
    assert not [n for n in project if n.startswith("registration/email/")]


def test_the_app_static_files_are_found_in_the_app():
    for name in _files(APP / "static"):
        found = Path(finders.find(name)).resolve()
        assert found == APP / "static" / name, name
    assert _files(ROOT / "static") == [".gitkeep", "hubspot_integration/site.css"]


def test_the_admin_pages_hang_off_models_of_their_own(db):
    from django.db import connection

    from hubspot_integration.contacts.models import HubSpotContact
    from hubspot_integration.models import CrmDashboard
    from hubspot_integration.tickets.models import HubSpotTicket

    tables = connection.introspection.table_names()
    for model in (HubSpotContact, HubSpotTicket, CrmDashboard):
        assert not model._meta.proxy and not model._meta.managed
        assert model._meta.default_permissions == ()
        assert model._meta.db_table not in tables


def test_the_page_permissions_stay_on_the_settings_model(db):
    from django.contrib.auth.models import Group

    from hubspot_integration.roles import STAFF_GROUP

    staff = Group.objects.get(name=STAFF_GROUP)
    held = {
        (p.content_type.model, p.codename) for p in staff.permissions.select_related("content_type")
    }
    for codename in ("manage_contacts", "import_contacts", "manage_tickets", "view_crm_dashboard"):
        assert ("hubspotsettings", codename) in held
