#!/usr/bin/env python3
"""1,000 ticket submissions while the fake HubSpot fails by schedule; nothing lost, nothing doubled.

    .venv/bin/python bench/faults.py                   # the full run (a 60-second outage)
    .venv/bin/python bench/faults.py --down-seconds 10 # a shorter outage, for a quick look
    .venv/bin/python bench/faults.py --queued 1000     # 1,000 queued in a full outage: the drain

Every scenario runs twice in the same process, side by side: the per-write path (the setting
HUBSPOT_OUTBOX_BATCHING off: one call, or two, per queued ticket) and the batched path (on: the
worker sends the due tickets through HubSpot's batch endpoints). Between the two the fake HubSpot,
the outbox and the cache start afresh.

Submissions go through `tickets.service.create_ticket` (the path the API and the support page
take): outbox row first, then an attempt. Meanwhile the fake HubSpot, in this process on
127.0.0.1, misbehaves in phases by submission number:

      0-149  healthy
    150-299  20 % of calls answer 503
    300-449  15 % of calls drop the connection AFTER storing (the client never hears it worked)
    450-599  a burst of 15 x 429 every 25 submissions
    600      HubSpot goes down (every call 503) for --down-seconds (default 60) while
             submissions continue; then it comes back
    after    healthy

`--queued N` instead submits N tickets with HubSpot down from the start (each attempt fails and
leaves its row queued), waits until every row is due, brings HubSpot back and starts the workers:
the figures are the drain alone (the issue's target: 1,000 in at most 25 calls within 10 s).

Two "worker" threads run `process_due()` throughout, like the RQ workers and the sweep. When the
last submission is in, the outbox is drained. Printed for each path: tickets in HubSpot (target
exactly 1,000), lost (0), duplicated (0; counted by the `skypanel_request_key` property), outbox
states, HubSpot calls (all, and those after HubSpot came back) and 429s, and how long the backlog
took to drain after HubSpot came back. Bounded by --timeout.

Database: DATABASE_URL if set (PostgreSQL recommended), else a fresh PostgreSQL database
`skypanel_bench_faults` on 127.0.0.1 if one answers, else a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOTAL = 1000


def _database_url() -> tuple[str, callable]:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], lambda: None
    try:
        import psycopg

        admin = "postgresql://postgres@127.0.0.1:5432/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=2) as conn:
            conn.execute('DROP DATABASE IF EXISTS "skypanel_bench_faults" WITH (FORCE)')
            conn.execute('CREATE DATABASE "skypanel_bench_faults"')

        def drop():
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute('DROP DATABASE IF EXISTS "skypanel_bench_faults" WITH (FORCE)')

        return "postgres://postgres@127.0.0.1:5432/skypanel_bench_faults", drop
    except Exception:
        path = Path(tempfile.mkdtemp()) / "faults.sqlite3"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--down-seconds", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this long")
    parser.add_argument("--submitters", type=int, default=4, help="threads submitting tickets")
    parser.add_argument(
        "--backoff-cap", type=float, default=0, help="cap the outbox backoff (s); 0 keeps its own"
    )
    parser.add_argument(
        "--queued",
        type=int,
        default=0,
        help="queue this many tickets in a full outage, then measure the drain alone",
    )
    parser.add_argument(
        "--paths",
        default="per write,batched",
        help='the paths to run, comma-separated: "per write", "batched" (default both)',
    )
    args = parser.parse_args()

    from tests.fake_hubspot import FakeHubSpot

    fake = FakeHubSpot().start()
    database_url, drop_database = _database_url()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="skypanel.settings",
        DATABASE_URL=database_url,
        CACHE_URL="locmemcache://bench-faults",
        TASK_BACKEND="dummy",  # the worker threads below play the queue's part
        HUBSPOT_API_BASE_URL=fake.url,
        HUBSPOT_FORMS_BASE_URL=fake.url,
        HUBSPOT_READ_TIMEOUT="5",
        LOG_LEVEL="ERROR",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if args.backoff_cap:
        settings.HUBSPOT_OUTBOX_BACKOFF_CAP_SECONDS = args.backoff_cap

    figures = {}
    wanted = {p.strip() for p in args.paths.split(",")}
    for label, batching in (("per write", False), ("batched", True)):
        if label not in wanted:
            continue
        settings.HUBSPOT_OUTBOX_BATCHING = batching
        figures[label] = run(fake, args)
    _report(args, figures)
    fake.stop()
    connection.close()
    drop_database()
    return 0 if all(f["ok"] for f in figures.values()) else 1


def _fresh(fake) -> None:
    """A fresh account, outbox and cache: each path starts from the same place."""
    from django.core.cache import cache

    from hubspot_integration.credentials import reset_clients
    from hubspot_integration.models import HubSpotSettings, OutboxOperation
    from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN

    fake.reset()
    cache.clear()
    reset_clients()
    OutboxOperation.objects.all().delete()
    s = HubSpotSettings.load()
    s.enabled, s.portal_id, s.access_token, s.tickets_enabled = (
        True,
        str(FAKE_PORTAL_ID),
        FAKE_TOKEN,
        True,
    )
    s.rate_limit_per_10s = 200  # the API limit increase pack: 180 calls / 10 s with our margin
    s.save()
    # HubSpot's own window, enforced by the fake: the limiter must keep us under it.
    fake.rate_limit(200, 10.0)


def run(fake, args) -> dict:
    from django.db import close_old_connections, connection

    from hubspot_integration.credentials import get_client
    from hubspot_integration.crm import request_key
    from hubspot_integration.models import OutboxOperation
    from hubspot_integration.services import outbox
    from hubspot_integration.tickets import service as tickets

    _fresh(fake)
    # Warm, as a running panel would be: its pipelines and priorities are cached, and its first
    # ticket ever made the request-key property.
    tickets.pipelines(refresh=True)
    tickets.priority_options(refresh=True)
    request_key.ensure_property(get_client(), "tickets", tickets.service.property_group)
    total = args.queued or TOTAL
    queued_only = bool(args.queued)
    started = time.monotonic()
    deadline = started + args.timeout
    stop_workers = threading.Event()
    counters = Counter()
    lock = threading.Lock()

    def worker():
        while not stop_workers.is_set():
            try:
                done = outbox.process_due(limit=50)
            except Exception as err:  # keep draining; count it
                with lock:
                    counters["worker_errors"] += 1
                print(f"worker: {type(err).__name__}: {err}", file=sys.stderr)
                done = 0
            finally:
                close_old_connections()
            if not done:
                time.sleep(0.2)
        connection.close()

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(2)]
    phase_log: list[str] = []
    if queued_only:
        fake.faults.down()  # the whole submission happens in the outage; workers wait for it
        phase_log.append(f"{0.0:6.1f}s  HubSpot down; {total} submissions")
    else:
        for w in workers:
            w.start()

    next_index = iter(range(total))
    index_lock = threading.Lock()
    down_until = {"t": None}
    back_up = {"t": None, "calls": 0}  # when HubSpot came back, and the calls made by then

    def apply_phase(i: int) -> None:
        f = fake.faults
        if queued_only:
            return
        if i == 150:
            f.fail_rate(0.2, status=503, seed=1)
            phase_log.append(f"{time.monotonic() - started:6.1f}s  #150 20% 503")
        elif i == 300:
            f.fail_rate(0)
            f.drop_rate(0.15, after_store=True, seed=2)
            phase_log.append(f"{time.monotonic() - started:6.1f}s  #300 15% drops after storing")
        elif i == 450:
            f.drop_rate(0)
            phase_log.append(f"{time.monotonic() - started:6.1f}s  #450 429 bursts")
        if 450 <= i < 600 and i % 25 == 0:
            f.burst_429(15, retry_after=1)
        if i == 600:
            f.down()
            down_until["t"] = time.monotonic() + args.down_seconds
            phase_log.append(f"{time.monotonic() - started:6.1f}s  #600 HubSpot down")

    def submitter():
        while True:
            with index_lock:
                i = next(next_index, None)
                if i is None:
                    return
                apply_phase(i)
            if time.monotonic() > deadline:
                return
            try:
                outcome = tickets.create_ticket(
                    {
                        "subject": f"Fault bench ticket {i}",
                        "content": "Submitted while HubSpot misbehaves",
                        "email": f"customer{i % 200}@example.com",
                        "priority": ("LOW", "MEDIUM", "HIGH")[i % 3],
                    }
                )
                with lock:
                    counters[outcome.status] += 1
            except Exception as err:
                with lock:
                    counters["submit_errors"] += 1
                print(f"submit {i}: {type(err).__name__}: {err}", file=sys.stderr)
            finally:
                close_old_connections()
            # The outage lasts a wall-clock minute whatever the submission rate.
            if down_until["t"] and time.monotonic() >= down_until["t"]:
                with index_lock:
                    if down_until["t"]:
                        fake.faults.up()
                        back_up.update(t=time.monotonic(), calls=fake.count())
                        down_until["t"] = None
                        phase_log.append(f"{time.monotonic() - started:6.1f}s  HubSpot back up")

    submitters = [threading.Thread(target=submitter) for _ in range(args.submitters)]
    for t in submitters:
        t.start()
    for t in submitters:
        t.join()
    submitted_at = time.monotonic()
    if queued_only:
        # Every row's first retry is due within its backoff (2 s, jitter 20 %); then HubSpot
        # comes back and the workers find the whole backlog due at once.
        time.sleep(app_settings_backoff() * 1.3)
        fake.faults.up()
        phase_log.append(f"{time.monotonic() - started:6.1f}s  HubSpot back up; workers start")
        calls_before_up = fake.count()
        up_at = time.monotonic()
        for w in workers:
            w.start()
    else:
        # If submissions finished before the minute was over, the outage still runs its course.
        while down_until["t"] and time.monotonic() < down_until["t"]:
            time.sleep(0.2)
        if down_until["t"]:
            fake.faults.up()
            down_until["t"] = None
            phase_log.append(
                f"{time.monotonic() - started:6.1f}s  HubSpot back up (after submissions)"
            )
        up_at = back_up["t"] or time.monotonic()
        calls_before_up = back_up["calls"] if back_up["t"] else fake.count()

    Status = OutboxOperation.Status
    while time.monotonic() < deadline:
        open_rows = OutboxOperation.objects.filter(
            status__in=[Status.PENDING, Status.RUNNING]
        ).count()
        if not open_rows:
            break
        time.sleep(0.1)
    drained_at = time.monotonic()
    stop_workers.set()
    for w in workers:
        w.join(timeout=30)

    # --- the figures ------------------------------------------------------------------------------
    ours = {
        op.idempotency_key
        for op in OutboxOperation.objects.filter(kind=OutboxOperation.Kind.CREATE_TICKET)
    }
    keys = Counter(
        t["properties"].get(tickets.REQUEST_KEY_PROPERTY)
        for t in fake.objects("tickets")
        if t["properties"].get(tickets.REQUEST_KEY_PROPERTY)
    )
    in_hubspot = sum(1 for k in keys if k in ours)
    duplicated = sum(n - 1 for k, n in keys.items() if k in ours)
    lost = len(ours - set(keys))
    states = Counter(OutboxOperation.objects.values_list("status", flat=True))
    calls = fake.count()
    rate_limited = sum(1 for r in fake.requests if r.status == 429)
    return {
        "database": connection.vendor,
        "phases": phase_log,
        "submitted": sum(counters[k] for k in ("done", "queued", "failed")),
        "counters": counters,
        "in_hubspot": in_hubspot,
        "lost": lost,
        "duplicated": duplicated,
        "states": dict(states),
        "calls": calls,
        "calls_after_up": calls - calls_before_up,
        "batch_sizes": [
            len((r.body or {}).get("inputs") or [])
            for r in fake.requests[calls_before_up:]
            if r.path.endswith("/tickets/batch/upsert")
        ],
        "paths_after_up": Counter(
            f"{r.method} {r.path} {r.status}" for r in fake.requests[calls_before_up:]
        ),
        "rate_limited": rate_limited,
        "submitting": submitted_at - started,
        "drain": drained_at - up_at,
        "total_time": drained_at - started,
        "total": total,
        "ok": in_hubspot == total and lost == 0 and duplicated == 0,
    }


def app_settings_backoff() -> float:
    from hubspot_integration.conf import app_settings

    return app_settings.OUTBOX_BACKOFF_BASE_SECONDS


def _report(args, figures: dict) -> None:
    from hubspot_integration.conf import app_settings

    first = next(iter(figures.values()))
    total = first["total"]
    print()
    if args.queued:
        print(
            f"bench/faults.py --queued {total}: {total:,} tickets queued in a full outage, then "
            "the drain"
        )
    else:
        print(
            f"bench/faults.py: {total:,} ticket submissions against a failing HubSpot "
            f"({args.down_seconds:.0f} s outage)"
        )
    print(f"  database: {first['database']}; HubSpot limit 200 / 10 s (the panel keeps to 180)")
    print(
        f"  outbox backoff: {app_settings.OUTBOX_BACKOFF_BASE_SECONDS:.0f} s doubling, cap "
        f"{app_settings.OUTBOX_BACKOFF_CAP_SECONDS:.0f} s, jitter 20 %; batches of "
        f"{app_settings.OUTBOX_BATCH_SIZE}, up to {app_settings.OUTBOX_BATCH_CLAIM} rows a drain"
    )
    for label, f in figures.items():
        print(f"  schedule ({label}):")
        for line in f["phases"]:
            print(f"    {line}")
    labels = list(figures)
    rows = [
        ("tickets in HubSpot", lambda f: f"{f['in_hubspot']} (target {f['total']})"),
        ("lost", lambda f: f["lost"]),
        ("doubled", lambda f: f["duplicated"]),
        ("HubSpot calls, all", lambda f: f["calls"]),
        ("calls after HubSpot came back", lambda f: f["calls_after_up"]),
        ("answered 429", lambda f: f["rate_limited"]),
        ("drain after HubSpot came back", lambda f: f"{f['drain']:.1f} s"),
        ("submitting took", lambda f: f"{f['submitting']:.1f} s"),
        (
            "submissions",
            lambda f: (
                f"{f['submitted']} (at once {f['counters']['done']}, queued "
                f"{f['counters']['queued']}, refused {f['counters']['failed']}, errors "
                f"{f['counters']['submit_errors']})"
            ),
        ),
        ("outbox rows", lambda f: f["states"]),
        ("total", lambda f: f"{f['total_time']:.1f} s"),
        ("result", lambda f: "OK" if f["ok"] else "FAILED"),
    ]
    print(f"  {'':32}" + "".join(f"{label:>50}" for label in labels))
    for name, value in rows:
        print(f"  {name + ':':32}" + "".join(f"{str(value(figures[k])):>50}" for k in labels))
    for label, f in figures.items():
        print(f"  calls after HubSpot came back ({label}), by endpoint and status:")
        print("    ticket upsert sizes:", f["batch_sizes"])
        for path, n in f["paths_after_up"].most_common(8):
            print(f"    {n:6}  {path}")
    if args.queued and "batched" in figures:
        batched = figures["batched"]
        met = batched["calls_after_up"] <= 25 and batched["drain"] <= 10.0
        print(
            "  target (batched): at most 25 calls and 10 s after HubSpot came back: "
            + ("met" if met else "NOT met")
        )


if __name__ == "__main__":
    sys.exit(main())
