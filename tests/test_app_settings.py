"""The app's settings object: one place for every HUBSPOT_* setting and tunable."""

import ast
from pathlib import Path

import pytest
from django.test import RequestFactory

from hubspot_integration.conf import AppSettings, app_settings
from hubspot_integration.models import HubSpotSettings
from hubspot_integration.ratelimit import RateLimiter
from hubspot_integration.services import email_verification, outbox, report_cache
from hubspot_integration.views import abuse

APP = Path(__file__).resolve().parent.parent / "hubspot_integration"
README = Path(__file__).resolve().parent.parent / "README.md"

NAMES = sorted(name for name, value in vars(AppSettings).items() if isinstance(value, property))


def test_there_are_settings_to_check():
    assert len(NAMES) > 30


@pytest.mark.parametrize("name", NAMES)
def test_each_setting_says_what_it_is(name):
    doc = getattr(AppSettings, name).__doc__
    assert doc and len(doc.split()) >= 5, f"{name} needs a docstring saying what it is and why"


@pytest.mark.parametrize("name", NAMES)
def test_each_setting_has_a_default(name, settings):
    setting = app_settings.setting_name(name)
    if hasattr(settings, setting):
        delattr(settings, setting)
    # Reading it without the Django setting neither raises nor answers None.
    assert getattr(app_settings, name) is not None


@pytest.mark.parametrize("name", NAMES)
def test_the_readme_lists_each_setting(name):
    assert f"`{app_settings.setting_name(name)}`" in README.read_text()


def test_the_limiter_margin_follows_its_setting(settings):
    assert RateLimiter(scope="t-margin", calls_per_10s=100).limit == 90
    settings.HUBSPOT_RATE_LIMIT_MARGIN = 0.5
    assert RateLimiter(scope="t-margin", calls_per_10s=100).limit == 50


def test_the_dashboard_ttl_follows_its_setting(settings):
    s = HubSpotSettings(dashboard_cache_seconds=None)
    assert report_cache.ttl(s) == 300
    settings.HUBSPOT_DASHBOARD_CACHE_SECONDS = 42
    assert report_cache.ttl(s) == 42


def test_the_verification_link_life_keeps_its_old_name(settings):
    settings.EMAIL_VERIFICATION_MAX_AGE = 120
    assert email_verification.max_age() == 120


def test_the_outbox_backoff_cap_follows_its_setting(settings):
    settings.HUBSPOT_OUTBOX_BACKOFF_CAP_SECONDS = 10
    assert all(outbox.backoff_seconds(30) <= 12 for _ in range(50))


def test_the_public_body_limit_follows_its_setting(settings):
    request = RequestFactory().post("/", data="x" * 2000, content_type="text/plain")
    assert not abuse.too_large(request)
    settings.HUBSPOT_PUBLIC_MAX_BODY_BYTES = 1000
    assert abuse.too_large(request)


def _settings_reads(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "settings"
            and node.attr.startswith("HUBSPOT_")
        ):
            found.append((node.lineno, node.attr))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "hasattr"}
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "settings"
            and isinstance(node.args[1], ast.Constant)
            and str(node.args[1].value).startswith("HUBSPOT_")
        ):
            found.append((node.lineno, node.args[1].value))
    return found


def test_the_reader_finds_both_spellings():
    source = 'settings.HUBSPOT_A\ngetattr(settings, "HUBSPOT_B", 1)\nsettings.DEBUG\n'
    assert _settings_reads(ast.parse(source)) == [(1, "HUBSPOT_A"), (2, "HUBSPOT_B")]


def test_only_conf_reads_hubspot_settings():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        if path == APP / "conf.py":
            continue
        for line, name in _settings_reads(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{path.relative_to(APP)}:{line} reads {name}")
    assert offenders == [], "read these through hubspot_integration.conf.app_settings"
