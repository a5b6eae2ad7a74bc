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
