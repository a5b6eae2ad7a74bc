#!/usr/bin/env python3
"""What the chat widget costs the customer home page: render time with it on and off, in one run.

    .venv/bin/python bench/widget_overhead.py [--n 2000] [--rounds 20] [--no-instructions] [--no-csp]

Renders `/` through Django's test Client (the whole middleware stack, no network) for an
anonymous visitor and for a logged-in customer (whose page carries a visitor-identification
token), and prints per warm page the SQL queries and the HubSpot calls (target: no more with the
widget than without, and no HubSpot call at all once the identification token is cached), then
the ratio on/off (target at most 1.05) measured two ways:

- time: rounds alternate widget off and on so drift hits both equally, each round starting from
  a full garbage collection; the ratio of the median rounds, with how much the rounds vary
  beside it (on a shared VM a sub-millisecond page swings by several per cent between rounds).
- instructions (when valgrind is installed): the same pages run once more under callgrind, which
  counts the CPU instructions spent rendering each variant, not seconds: the same figure on a
  loaded or an idle machine. Only the render loops are counted (they run inside a ctypes
  callback, which is where collection is switched on), not start-up or the settings switches.

Runs on a temporary SQLite database with the local-memory cache, against the fake HubSpot, with
the Content-Security-Policy header on as in production (chat adds HubSpot's hosts to it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 1.05
VISITORS = ("anonymous", "customer")
# The C function ctypes runs a Python callback through: callgrind collects only inside it.
CALLBACK_SYMBOL = "closure_fcn"


class Bench:
    """A temporary panel with the fake HubSpot behind it, and the two visitors."""

    def __init__(self) -> None:
        from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN, FakeHubSpot

        self.fake = FakeHubSpot().start()
        tmp = Path(tempfile.mkdtemp())
        os.environ.update(
            DJANGO_SETTINGS_MODULE="skypanel.settings",
            DATABASE_URL=f"sqlite:///{tmp / 'widget.sqlite3'}",
            CACHE_URL="locmemcache://bench-widget",
            TASK_BACKEND="dummy",
            HUBSPOT_API_BASE_URL=self.fake.url,
            HUBSPOT_FORMS_BASE_URL=self.fake.url,
            LOG_LEVEL="ERROR",
        )
        # The Content-Security-Policy header is on as in production (DEBUG=false), where chat
        # adds the HubSpot hosts to it; --no-csp measures the laptop profile.
        os.environ.setdefault("CSP_ENABLED", "true")
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import setup_test_environment

        from hubspot_integration.models import HubSpotSettings

        setup_test_environment()
        settings.ALLOWED_HOSTS = ["testserver"]
        call_command("migrate", verbosity=0)
        customer = get_user_model().objects.create_user(
            "customer", email="customer@example.com", password="x" * 20, first_name="Cus"
        )
        # Confirmed, so the chat identifies them (an unverified customer's page is anonymous).
        from hubspot_integration.services.email_verification import mark_verified

        mark_verified(customer)
        s = HubSpotSettings.load()
        s.enabled, s.portal_id, s.access_token = True, str(FAKE_PORTAL_ID), FAKE_TOKEN
        s.data_hosting_region = "na1"
        s.save()
        self.script_marker = f"hs-scripts.com/{FAKE_PORTAL_ID}.js"
        self.visitors = {"anonymous": Client(), "customer": Client()}
        self.visitors["customer"].force_login(customer)

    def set_widget(self, on: bool) -> None:
        from hubspot_integration.models import HubSpotSettings

        s = HubSpotSettings.load()
        s.chat_enabled = on
        s.save()  # write-through: the next render reads the cache, not the database
        for client in self.visitors.values():
            client.get("/")  # warm: settings, identification token, memoised markup

    def render(self, name: str, n: int) -> None:
        client = self.visitors[name]
        for _ in range(n):
            response = client.get("/")
            if response.status_code != 200:
                raise SystemExit(f"GET / answered {response.status_code}")

    def warm_costs(self, name: str, on: bool) -> tuple[int, int]:
        """SQL queries and HubSpot calls of one warm page."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.set_widget(on)
        client = self.visitors[name]
        calls_before = self.fake.count()
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/")
        has_widget = self.script_marker in response.content.decode()
        if has_widget != on:
            raise SystemExit("the widget script should be on the page exactly when chat is on")
        return len(queries), self.fake.count() - calls_before

    def stop(self) -> None:
        self.fake.stop()


def time_rounds(bench: Bench, name: str, rounds: int, per_round: int) -> dict[bool, list[float]]:
    """Seconds per page of each round, for widget off and on, rounds interleaved."""
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for on in (False, True):
            bench.set_widget(on)
            gc.collect()  # each round starts from the same collector state
            t0 = time.perf_counter()
            bench.render(name, per_round)
            times[on].append((time.perf_counter() - t0) / per_round)
    return times


def child_under_callgrind(n: int) -> int:
    """Runs inside valgrind: each render loop in its own ctypes callback, so its own dump."""
    import ctypes

    bench = Bench()
    order = []
    callback_type = ctypes.CFUNCTYPE(None)
    for name in VISITORS:
        for on in (False, True):
            bench.set_widget(on)
            gc.collect()
            callback_type(lambda name=name: bench.render(name, n))()
            order.append([name, on])
    bench.stop()
    print(json.dumps(order))
    return 0


def count_instructions(n: int) -> dict[tuple[str, bool], float] | str:
    """Instructions per page for each visitor and variant, or why they could not be counted."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return "valgrind is not installed (apt-get install valgrind)"
    out_dir = Path(tempfile.mkdtemp(prefix="widget-callgrind-"))
    command = [
        valgrind,
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--toggle-collect={CALLBACK_SYMBOL}",
        f"--dump-after={CALLBACK_SYMBOL}",
        f"--callgrind-out-file={out_dir / 'cg.out'}",
        sys.executable,
        __file__,
        "--child-callgrind",
        "--n",
        str(n),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return f"the callgrind run failed: {done.stderr.strip().splitlines()[-1:]}"
    order = json.loads(done.stdout.strip().splitlines()[-1])
    totals = []
    for part in range(1, len(order) + 1):
        text = (out_dir / f"cg.out.{part}").read_text()
        totals.append(
            int(next(line for line in text.splitlines() if line.startswith("totals:")).split()[1])
        )
    shutil.rmtree(out_dir, ignore_errors=True)
    if not all(totals):
        return f"callgrind counted nothing inside {CALLBACK_SYMBOL} (is _ctypes stripped?)"
    return {(name, on): total / n for (name, on), total in zip(order, totals, strict=True)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="timed pages per variant and visitor")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--instructions-n", type=int, default=200, help="pages per variant under callgrind"
    )
    parser.add_argument("--no-instructions", action="store_true", help="skip the callgrind run")
    parser.add_argument("--no-csp", action="store_true", help="without the CSP header")
    parser.add_argument("--child-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_callgrind:
        return child_under_callgrind(args.n)

    if args.no_csp:
        os.environ["CSP_ENABLED"] = "false"  # the callgrind child inherits it
    bench = Bench()
    per_round = max(args.n // args.rounds, 1)
    from django.conf import settings

    csp = "with" if settings.CSP_ENABLED else "without"
    print(f"bench/widget_overhead.py: GET / through Django's test Client, {csp} the CSP header")
    print(f"  time: {args.rounds} rounds x {per_round} pages per variant and visitor, interleaved")
    results = {}
    for name in VISITORS:
        costs = {on: bench.warm_costs(name, on) for on in (False, True)}
        times = time_rounds(bench, name, args.rounds, per_round)
        med = {on: statistics.median(times[on]) for on in (False, True)}
        # Half the interquartile range of the off rounds, as a share of their median: the noise.
        q1, _, q3 = statistics.quantiles(times[False], n=4)
        results[name] = (costs, med, (q3 - q1) / 2 / med[False])
    bench.stop()

    counted = None
    if not args.no_instructions:
        print(
            f"  instructions: {args.instructions_n} pages per variant and visitor under callgrind"
        )
        counted = count_instructions(args.instructions_n)
        if isinstance(counted, str):
            print(f"  instructions not counted: {counted}")
            counted = None

    for name, (costs, med, spread) in results.items():
        print(f"  {name}:")
        for on in (False, True):
            label = "widget on: " if on else "widget off:"
            (sql, calls), line = costs[on], f"    {label} {med[on] * 1000:7.3f} ms/page (median)"
            if counted:
                line += f"   {counted[(name, on)] / 1e6:6.3f} M instructions/page"
            print(f"{line}   SQL {sql}   HubSpot calls {calls}")
        print(
            f"    ratio on/off, time:         {med[True] / med[False]:.3f}  (target <= {TARGET}; "
            f"rounds vary by +/-{spread:.1%})"
        )
        if counted:
            ratio = counted[(name, True)] / counted[(name, False)]
            print(f"    ratio on/off, instructions: {ratio:.3f}  (target <= {TARGET})")
        extra_sql = costs[True][0] - costs[False][0]
        print(f"    beyond the page's own: SQL {extra_sql:+d}, HubSpot calls {costs[True][1]:+d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
