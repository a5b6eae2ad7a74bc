#!/usr/bin/env python3
"""1,000 ticket submissions while the fake HubSpot fails by schedule; nothing lost, nothing doubled.

    .venv/bin/python bench/faults.py                   # the full run (a 60-second outage)
    .venv/bin/python bench/faults.py --down-seconds 10 # a shorter outage, for a quick look

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

Two "worker" threads run `process_due()` throughout, like the RQ workers and the sweep. When the
last submission is in, the outbox is drained. Printed: tickets in HubSpot (target exactly 1,000),
lost (0), duplicated (0; counted by the `skypanel_request_key` property), outbox states, the
number of HubSpot calls and 429s, and how long the backlog took to drain. Bounded by --timeout.

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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--down-seconds", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this long")
    parser.add_argument("--submitters", type=int, default=4, help="threads submitting tickets")
    parser.add_argument(
        "--backoff-cap", type=float, default=0, help="cap the outbox backoff (s); 0 keeps its own"
    )
    args = parser.parse_args()

    from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN, FakeHubSpot

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
    from django.core.management import call_command
    from django.db import close_old_connections, connection

    from hubspot_integration.conf import app_settings
    from hubspot_integration.models import HubSpotSettings, OutboxOperation
    from hubspot_integration.services import outbox
    from hubspot_integration.tickets import service as tickets

    call_command("migrate", verbosity=0)
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
    tickets.pipelines(refresh=True)  # warm, as a running panel would be
    tickets.priority_options(refresh=True)

    if args.backoff_cap:
        from django.conf import settings

        settings.HUBSPOT_OUTBOX_BACKOFF_CAP_SECONDS = args.backoff_cap
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
    for w in workers:
        w.start()

    next_index = iter(range(TOTAL))
    index_lock = threading.Lock()
    phase_log: list[str] = []
    down_until = {"t": None}

    def apply_phase(i: int) -> None:
        f = fake.faults
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
                        down_until["t"] = None
                        phase_log.append(f"{time.monotonic() - started:6.1f}s  HubSpot back up")

    submitters = [threading.Thread(target=submitter) for _ in range(args.submitters)]
    for t in submitters:
        t.start()
    for t in submitters:
        t.join()
    submitted_at = time.monotonic()
    # If submissions finished before the minute was over, the outage still runs its course.
    while down_until["t"] and time.monotonic() < down_until["t"]:
        time.sleep(0.2)
    if down_until["t"]:
        fake.faults.up()
        down_until["t"] = None
        phase_log.append(f"{time.monotonic() - started:6.1f}s  HubSpot back up (after submissions)")
    up_at = time.monotonic()

    Status = OutboxOperation.Status
    while time.monotonic() < deadline:
        open_rows = OutboxOperation.objects.filter(
            status__in=[Status.PENDING, Status.RUNNING]
        ).count()
        if not open_rows:
            break
        time.sleep(0.5)
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
    print()
    print("bench/faults.py: 1,000 ticket submissions against a failing HubSpot")
    print(f"  database:                {connection.vendor}")
    print("  schedule:")
    for line in phase_log:
        print(f"    {line}")
    print(
        f"  submissions:             {sum(counters[k] for k in ('done', 'queued', 'failed'))}"
        f" (done at once {counters['done']}, queued {counters['queued']},"
        f" refused {counters['failed']}, errors {counters['submit_errors']})"
    )
    print(f"  tickets in HubSpot:      {in_hubspot}   (target {TOTAL})")
    print(f"  lost:                    {lost}")
    print(f"  duplicated:              {duplicated}")
    print(f"  outbox rows:             {dict(states)}")
    print(f"  HubSpot calls:           {calls} ({rate_limited} answered 429)")
    print(f"  submitting took:         {submitted_at - started:.1f} s")
    print(f"  outage:                  {args.down_seconds:.0f} s")
    print(
        f"  outbox backoff:          2 s doubling, cap {app_settings.OUTBOX_BACKOFF_CAP_SECONDS:.0f} s, jitter 20 %"
    )
    print(
        f"  backlog drained in:      {drained_at - up_at:.1f} s after HubSpot came back"
        f" ({drained_at - submitted_at:.1f} s after the last submission)"
    )
    print(f"  total:                   {drained_at - started:.1f} s")
    ok = in_hubspot == TOTAL and lost == 0 and duplicated == 0
    print("  result:                  " + ("OK" if ok else "FAILED"))
    fake.stop()
    connection.close()
    drop_database()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
