#!/usr/bin/env python3
"""What the chat widget costs the customer home page: render time with it on and off, in one run.

    .venv/bin/python bench/widget_overhead.py [--n 2000]

Renders `/` through Django's test Client (the whole middleware stack, no network) for an
anonymous visitor and for a logged-in customer (whose page carries a visitor-identification
token), alternating widget off and on in rounds so drift hits both equally. Prints the median
time per page, the ratio on/off (target at most 1.05), and per warm page the SQL queries and the
HubSpot calls (target: no more with the widget than without, and no HubSpot call at all once
the identification token is cached).

Runs on a temporary SQLite database with the local-memory cache, against the fake HubSpot.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="pages per variant and visitor")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN, FakeHubSpot

    fake = FakeHubSpot().start()
    tmp = Path(tempfile.mkdtemp())
    os.environ.update(
        DJANGO_SETTINGS_MODULE="skypanel.settings",
        DATABASE_URL=f"sqlite:///{tmp / 'widget.sqlite3'}",
        CACHE_URL="locmemcache://bench-widget",
        TASK_BACKEND="dummy",
        HUBSPOT_API_BASE_URL=fake.url,
        HUBSPOT_FORMS_BASE_URL=fake.url,
        LOG_LEVEL="ERROR",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from hubspot_integration.models import HubSpotSettings

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    customer = get_user_model().objects.create_user(
        "customer", email="customer@example.com", password="x" * 20, first_name="Cus"
    )
    s = HubSpotSettings.load()
    s.enabled, s.portal_id, s.access_token = True, str(FAKE_PORTAL_ID), FAKE_TOKEN
    s.data_hosting_region = "na1"
    s.save()

    visitors = {"anonymous": Client(), "customer": Client()}
    visitors["customer"].force_login(customer)
    probe = visitors["anonymous"].get("/")
    if probe.status_code == 404:
        print("bench/widget_overhead.py: / is 404 (the customer pages are not built yet)")
        return 2

    def set_widget(on: bool) -> None:
        s = HubSpotSettings.load()
        s.chat_enabled = on
        s.save()  # write-through: the next render reads the cache, not the database

    def render(client, n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            response = client.get("/")
            if response.status_code != 200:
                raise SystemExit(f"GET / answered {response.status_code}")
        return (time.perf_counter() - t0) / n

    def warm_costs(client, on: bool) -> tuple[int, int, bool]:
        set_widget(on)
        client.get("/")  # warm: settings cache, identification token
        calls_before = fake.count()
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/")
        has_widget = f"hs-scripts.com/{FAKE_PORTAL_ID}.js" in response.content.decode()
        return len(queries), fake.count() - calls_before, has_widget

    print("bench/widget_overhead.py: GET / through Django's test Client")
    print(f"  {args.rounds} rounds x {args.n // args.rounds} pages per variant and visitor")
    for name, client in visitors.items():
        q_off, h_off, w_off = warm_costs(client, False)
        q_on, h_on, w_on = warm_costs(client, True)
        assert w_on and not w_off, "the widget script should be on the page only when chat is on"
        per_round = max(args.n // args.rounds, 1)
        times = {False: [], True: []}
        for _ in range(args.rounds):
            for on in (False, True):
                set_widget(on)
                client.get("/")
                times[on].append(render(client, per_round))
        off, on = statistics.median(times[False]), statistics.median(times[True])
        print(f"  {name}:")
        print(f"    widget off: {off * 1000:7.3f} ms/page   SQL {q_off}   HubSpot calls {h_off}")
        print(f"    widget on:  {on * 1000:7.3f} ms/page   SQL {q_on}   HubSpot calls {h_on}")
        print(f"    ratio on/off: {on / off:.3f}  (target <= 1.05)")
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
