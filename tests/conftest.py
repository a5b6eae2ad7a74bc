"""Shared fixtures: the fake HubSpot, configured settings, and one user of each kind."""

import subprocess
from pathlib import Path

import pytest
from django.utils import translation

from hubspot_integration.credentials import reset_clients
from hubspot_integration.models import HubSpotSettings
from hubspot_integration.roles import ADMIN_GROUP, STAFF_GROUP
from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN, FakeHubSpot
from tests.helpers import make_user, unknown_calls


def pytest_configure(config):
    # WhiteNoise warns on every request when STATIC_ROOT does not exist yet (before collectstatic).
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    # `make test` compiles the translations first; a bare `pytest` after editing a .po must not
    # test yesterday's catalogue. Only the controlling process compiles (xdist workers wait on it).
    if not hasattr(config, "workerinput"):
        _compile_stale_catalogues(settings.LOCALE_PATHS)


def _compile_stale_catalogues(locale_paths):
    for po in (p for root in locale_paths for p in Path(root).glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)


@pytest.fixture(autouse=True)
def _isolation(settings, tmp_path):
    """Each test gets its own cache, media directory and a fresh client pool."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{tmp_path.name}",
        }
    }
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.HUBSPOT_TIMEOUT = (2.0, 5.0)
    # The users fixture hashes five passwords per test; PBKDF2 makes that seconds, MD5 milliseconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.cache import cache

    from hubspot_integration.templatetags.hubspot import clear_markup_cache

    cache.clear()
    clear_markup_cache()  # per-process memo: a test must not see another test's markup
    reset_clients()
    # A German request leaves German active in this thread; the next test starts in English.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    reset_clients()
    translation.deactivate()


@pytest.fixture(scope="session")
def _fake_server():
    server = FakeHubSpot()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_hubspot(_fake_server, settings, request):
    """The fake HubSpot, reset for this test, with the panel pointed at it.

    When the test ends, every request the fake saw must be one of the panel's operations on its
    current path (`client.OPERATIONS`): a numbered path outside the named legacy ones fails the
    test that sent it. Tests that call the fake by hand are marked `raw_fake_calls`.
    """
    _fake_server.reset()
    settings.HUBSPOT_API_BASE_URL = _fake_server.url
    settings.HUBSPOT_FORMS_BASE_URL = _fake_server.url
    yield _fake_server
    try:
        if not request.node.get_closest_marker("raw_fake_calls"):
            unknown = unknown_calls(_fake_server.requests, settings.HUBSPOT_API_VERSION)
            assert not unknown, f"calls outside client.OPERATIONS: {unknown}"
    finally:
        _fake_server.reset()


@pytest.fixture
def hubspot_settings(db, fake_hubspot):
    """Settings that work against the fake HubSpot."""
    s = HubSpotSettings.load()
    s.enabled = True
    s.portal_id = str(FAKE_PORTAL_ID)
    s.access_token = FAKE_TOKEN
    s.save()
    return s


@pytest.fixture
def tickets_on(hubspot_settings):
    """Working settings with the tickets feature switched on."""
    hubspot_settings.tickets_enabled = True
    hubspot_settings.save()
    return hubspot_settings


@pytest.fixture
def superuser(db, django_user_model):
    return make_user(django_user_model, "root", superuser=True)


@pytest.fixture
def hubspot_admin(db, django_user_model):
    return make_user(django_user_model, "ada", staff=True, group=ADMIN_GROUP)


@pytest.fixture
def hubspot_staff(db, django_user_model):
    return make_user(django_user_model, "sam", staff=True, group=STAFF_GROUP)


@pytest.fixture
def plain_staff(db, django_user_model):
    """Can log into the admin but holds no HubSpot permission."""
    return make_user(django_user_model, "pat", staff=True)


@pytest.fixture
def customer(db, django_user_model):
    return make_user(django_user_model, "cus")


@pytest.fixture
def verified_customer(customer):
    """`customer` with the email address confirmed: the chat identifies only such customers, and
    only their support requests are filed on their HubSpot contact."""
    from hubspot_integration.services.email_verification import mark_verified

    mark_verified(customer)
    return customer


@pytest.fixture
def users(superuser, hubspot_admin, hubspot_staff, plain_staff, customer):
    return {
        "superuser": superuser,
        "admin": hubspot_admin,
        "staff": hubspot_staff,
        "plain_staff": plain_staff,
        "customer": customer,
    }


@pytest.fixture
def wsgi_openapi(db):
    """The panel's OpenAPI schema loaded by schemathesis, served by the real WSGI app."""
    import schemathesis
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    # A bare WSGI app closes "old" connections at each request's end, which on PostgreSQL closes
    # the test's own transaction; Django's test client disconnects this the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
