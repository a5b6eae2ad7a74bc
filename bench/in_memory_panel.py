"""The start shared by the benches that run the panel in this process: in-memory SQLite and cache
(nothing of yours is touched), Django set up, and the panel connected to a fresh fake HubSpot.

    from in_memory_panel import connected_fake   # bench/ is on sys.path when a bench runs
    with connected_fake() as fake: ...
"""

import os
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skypanel.settings")
os.environ["DATABASE_URL"] = "sqlite://:memory:"
os.environ["CACHE_URL"] = "locmemcache://bench"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN, FakeHubSpot  # noqa: E402


@contextmanager
def connected_fake():
    """A running fake HubSpot, the schema migrated, and the settings pointing at the fake."""
    with FakeHubSpot() as fake:
        settings.HUBSPOT_API_BASE_URL = settings.HUBSPOT_FORMS_BASE_URL = fake.url
        call_command("migrate", verbosity=0)
        from hubspot_integration.models import HubSpotSettings

        s = HubSpotSettings.load()
        s.enabled, s.portal_id, s.access_token = True, str(FAKE_PORTAL_ID), FAKE_TOKEN
        s.save()
        yield fake
