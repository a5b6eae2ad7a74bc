#!/usr/bin/env python3
"""A login burst against the rate window: chat identification with and without the renders' share.

    .venv/bin/python bench/identify_burst.py [--customers 2000] [--seconds 60] [--threads 16]

The fake HubSpot runs in a child process enforcing HubSpot's Free/Starter window (100 calls in
any rolling 10 s; over it, 429) as bench/import_contacts.py starts it. The panel's pages run in
this process on a throw-away SQLite database, rendered through Django's test Client (the whole
middleware and template stack, without a socket) by `--threads` clients, as
bench/widget_overhead.py does; the import runs in another process, as a worker's would, and the
two share the rate limiter through Redis (`--cache-url`; only this run's keys are touched). The
machine's load moves the latencies: compare the two columns of one run.

In each run:

- a contact import (`services.imports.run_import`, batches of 100) starts with the period and is
  stopped when it ends; its progress is the contacts HubSpot holds at the end of the period;
- `--customers` different logged-in customers with a verified email each open `/` once, spread
  evenly over `--seconds` (2,000 in 60 s: 33 first pages a second), and once more 5 to 15 s later
  (their second page; a customer identified on the first page is identified on the second from
  the cached token).

Three runs, in this order: the import alone (no customer), today's behaviour (budget off:
`HUBSPOT_CHAT_IDENTIFICATION_SHARE=1`, a render may wait `HUBSPOT_CHAT_RENDER_MAX_WAIT` for room)
and the budget on (the default 30%). Printed side by side: 429s HubSpot sent (target 0), the share
of customers identified on their first page and by their second, identifications deferred, the
import's rows in the period beside the import alone, and page latency (p50, p99, max; the time
Django took to answer, in this process).
"""

from __future__ import annotations

import argparse
import heapq
import logging
import multiprocessing
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import import_contacts  # noqa: E402
from scripts.stack import FakeProcess  # noqa: E402

TOKEN_PATH = "/visitor-identification/2026-09/tokens/create"
SECOND_PAGE_AFTER = (5.0, 15.0)  # seconds between a customer's first and second page


def control(fake, command):
    """The bench's commands to the fake in its child process."""
    if command == "figures":
        statuses = [r.status for r in fake.requests]
        return {
            "calls": len(statuses),
            "429s": statuses.count(429),
            "tokens": fake.count("POST", TOKEN_PATH),
            "contacts": len(fake.objects("contacts")),
        }
    return import_contacts.control(fake, command)  # "reset": a fresh fake, the window enforced


def make_customers(n: int) -> list:
    """`n` customers with a confirmed address (bulk: no signals, so no contact sync is queued)."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from hubspot_integration.models import CustomerEmail

    User.objects.bulk_create(
        User(username=f"burst{i:05d}", email=f"burst{i:05d}@example.com", first_name=f"B{i}")
        for i in range(n)
    )
    users = list(User.objects.filter(username__startswith="burst").order_by("username"))
    now = timezone.now()
    CustomerEmail.objects.bulk_create(
        CustomerEmail(user=u, email=u.email, verified_at=now) for u in users
    )
    return users


def session_cookies(users) -> list[str]:
    """A session cookie per customer (signed cookies: logged in without a session row each)."""
    from django.conf import settings
    from django.test import Client

    client, found = Client(), []
    for user in users:
        client.force_login(user)
        found.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
        client.cookies.clear()
    return found


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def warm_up(cookie: str) -> None:
    """A few pages first, so no run pays for loading the templates and URLs (each run starts with
    an empty cache and limiter again)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    for _ in range(3):
        client.get("/", HTTP_X_FORWARDED_PROTO="https")
        Client().get("/", HTTP_X_FORWARDED_PROTO="https")


def clear_cache() -> None:
    """Empty this bench's cache keys only: the Redis database may be shared with others."""
    from django.core.cache import cache

    client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client is None:
        cache.clear()
        return
    redis = client(write=True)
    for key in redis.scan_iter(f"{cache.key_prefix}:*", count=1000):
        redis.delete(key)


class Importer:
    """The contact import in its own process (a worker's, as in production): it shares the
    limiter with the pages through the cache, and its CPU does not slow the pages' process."""

    def __init__(self, csv: Path):
        from django import db

        db.connections.close_all()  # never carry an open SQLite handle across the fork
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=self._serve, args=(child, csv), daemon=True)
        self._process.start()

    @staticmethod
    def _serve(conn, csv: Path) -> None:
        from django.conf import settings

        from hubspot_integration.credentials import reset_clients
        from hubspot_integration.services import imports

        while (job := conn.recv()) is not None:
            share, seconds = job
            settings.HUBSPOT_CHAT_IDENTIFICATION_SHARE = share
            reset_clients()
            stop_at = time.monotonic() + seconds

            def progress(_rows, stop_at=stop_at):
                if time.monotonic() >= stop_at:
                    raise imports.Superseded()  # run_import's own way to stop a reader

            imports.run_import(imports.start_import(csv.name), str(csv), progress=progress)
            conn.send("done")

    def start(self, share: float, seconds: float) -> None:
        self._conn.send((share, seconds))

    def wait(self) -> None:
        self._conn.recv()

    def stop(self) -> None:
        if self._process.is_alive():
            self._conn.send(None)
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def run(fake, importer: Importer, args, cookies: list[str], *, share: float | None) -> dict:
    """One period. `share` None: the import alone; else the renders' share in force."""
    from django.conf import settings
    from django.test import Client

    from hubspot_integration.credentials import reset_clients
    from hubspot_integration.templatetags.hubspot import clear_markup_cache

    fake.ask("reset")
    clear_cache()  # the limiter's window and the identification tokens start empty
    reset_clients()
    clear_markup_cache()
    settings.HUBSPOT_CHAT_IDENTIFICATION_SHARE = 1.0 if share is None else share

    pages: list[dict] = []
    lock = threading.Lock()
    local = threading.local()

    def page(i: int, which: int):
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = cookies[i]
        started = time.perf_counter()
        response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
        took = time.perf_counter() - started
        body = response.content.decode()
        with lock:
            pages.append(
                {
                    "customer": i,
                    "which": which,
                    "status": response.status_code,
                    "identified": '"identificationToken"' in body,
                    "seconds": took,
                }
            )

    rng = random.Random(15)
    events = []
    if share is not None:
        for i in range(args.customers):
            first = i * args.seconds / args.customers
            events.append((first, i, 1))
            events.append((first + rng.uniform(*SECOND_PAGE_AFTER), i, 2))
    heapq.heapify(events)

    start = time.monotonic()
    importer.start(settings.HUBSPOT_CHAT_IDENTIFICATION_SHARE, args.seconds)
    lagging = 0.0
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        while events:
            due, i, which = heapq.heappop(events)
            delay = start + due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                lagging = max(lagging, -delay)
            pool.submit(page, i, which)
        remaining = start + args.seconds - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        at_end = fake.ask("figures")  # the import's progress at the end of the period
    importer.wait()
    at_last = fake.ask("figures")
    by_customer: dict[int, dict[int, bool]] = {}
    for p in pages:
        by_customer.setdefault(p["customer"], {})[p["which"]] = p["identified"]
    n = max(len(by_customer), 1)
    latencies = [p["seconds"] * 1000 for p in pages]
    return {
        "pages": len(pages),
        "non_200": sum(1 for p in pages if p["status"] != 200),
        "429s": at_last["429s"],
        "tokens": at_last["tokens"],
        "first": sum(1 for c in by_customer.values() if c.get(1)) / n,
        "second_page": sum(1 for c in by_customer.values() if c.get(2)) / n,
        "rows": at_end["contacts"],
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies, default=float("nan")),
        "lag": lagging,
        "deferred": deferred_total(),
    }


def deferred_total() -> float:
    from prometheus_client import REGISTRY

    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name == "skypanel_hubspot_identification_deferred":
            total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--threads", type=int, default=10, help="clients rendering pages at once (the SDK's pool)"
    )
    parser.add_argument(
        "--cache-url",
        default="redis://127.0.0.1:6379/13",
        help="the cache the pages' process and the importer share (the limiter's counts)",
    )
    parser.add_argument("--share", type=float, default=0.3, help="the renders' share when on")
    args = parser.parse_args()

    fake = FakeProcess(seed=False, control=control)
    importer = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            import_contacts.setup_django(workdir, fake.url, cache_url=args.cache_url)
            from django.conf import settings
            from django.db import connection

            from hubspot_integration.models import HubSpotSettings

            with connection.cursor() as cursor:  # the pages read while the importer writes
                cursor.execute("PRAGMA journal_mode=WAL")
            settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
            settings.ALLOWED_HOSTS = ["testserver"]  # the test Client's host
            # Each run's import is stopped at the end of its period, which imports logs as a
            # warning ("taken over"): expected here.
            logging.getLogger("hubspot_integration.services.imports").setLevel(logging.ERROR)
            s = HubSpotSettings.load()
            s.chat_enabled, s.data_hosting_region = True, "na1"
            s.save()
            cookies = session_cookies(make_customers(args.customers))
            csv = workdir / "burst-import.csv"
            # More rows than the window lets through in the period: the import runs throughout.
            import_contacts.write_csv(csv, int(args.seconds * 10 * 100) + 10_000)
            importer = Importer(csv)
            warm_up(cookies[0])
            print(
                f"{args.customers} customers' first pages in {args.seconds:.0f} s (second pages "
                f"{SECOND_PAGE_AFTER[0]:.0f}-{SECOND_PAGE_AFTER[1]:.0f} s later), a contact "
                f"import running in another process; fake HubSpot: {import_contacts.WINDOW_MAX} "
                f"calls / 10 s; cache {args.cache_url}",
                flush=True,
            )
            alone = run(fake, importer, args, cookies, share=None)
            print(f"  import alone: {alone['rows']:,} rows", flush=True)
            before = deferred_total()
            off = run(fake, importer, args, cookies, share=1.0)
            off["deferred"] -= before
            print("  budget off: done", flush=True)
            before = deferred_total()
            on = run(fake, importer, args, cookies, share=args.share)
            on["deferred"] -= before
            clear_cache()
    finally:
        if importer is not None:
            importer.stop()
        fake.stop()

    print()
    head = f"{'':52}{'budget off (today)':>20}{f'budget on ({args.share:.0%})':>20}"
    print(head)
    print("-" * len(head))

    def line(label, key, fmt):
        print(f"{label:52}{fmt.format(off[key]):>20}{fmt.format(on[key]):>20}")

    line("429 answers from HubSpot (target 0)", "429s", "{:,}")
    line("pages rendered (first + second)", "pages", "{:,}")
    line("pages not answered 200", "non_200", "{:,}")
    line("identification tokens minted", "tokens", "{:,}")
    line("customers identified on their first page", "first", "{:.1%}")
    line("customers identified on their second page", "second_page", "{:.1%}")
    line("identifications deferred (metric)", "deferred", "{:,.0f}")
    for r in (off, on):
        r["of_alone"] = r["rows"] / max(alone["rows"], 1)
    line(f"import rows in HubSpot in the {args.seconds:.0f} s", "rows", "{:,}")
    line(f"  of the import alone ({alone['rows']:,} rows)", "of_alone", "{:.0%}")
    line("page latency p50 (ms)", "p50", "{:.1f}")
    line("page latency p99 (ms)", "p99", "{:.1f}")
    line("page latency max (ms)", "max", "{:.1f}")
    line("most a page started late (s; the clients' backlog)", "lag", "{:.2f}")
    ok = on["429s"] == 0 and on["non_200"] == 0
    print("OK" if ok else "NOT OK: see the figures above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
