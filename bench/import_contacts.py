"""Import generated contacts through the fake HubSpot under a 100-calls-per-10-s window.

    .venv/bin/python bench/import_contacts.py [--rows 10000] [--compare 1000] [--batch-size 100]

(`--rows 4000 --batch-size 10` makes 400 calls: enough to make the panel's limiter hold calls back.)

Runs the real service (`services.imports.run_import`) against the fake HubSpot with the real SDK,
on a throw-away SQLite database, and prints: HubSpot calls (batch upserts, and all calls), 429s,
wall time against the window's ceiling, and the peak memory of the import (tracemalloc) for two
file sizes, to show that streaming keeps memory flat.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.stack import FakeProcess  # noqa: E402
from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN  # noqa: E402

UPSERT = "/crm/objects/2026-09/contacts/batch/upsert"
WINDOW_MAX, WINDOW_SECONDS = 100, 10.0


def control(fake, command):
    """The bench's commands to the fake in its child process (`FakeProcess.ask`)."""
    if command == "reset":
        fake.reset()
        fake.rate_limit(max_per_window=WINDOW_MAX, window_seconds=WINDOW_SECONDS)
        return None
    if command == "figures":
        statuses = [r.status for r in fake.requests]
        return {
            "batch_calls": fake.count("POST", UPSERT),
            "all_calls": len(statuses),
            "429s": statuses.count(429),
            "contacts": len(fake.objects("contacts")),
        }
    raise ValueError(f"unknown command {command!r}")


def setup_django(workdir: Path, fake_url: str, cache_url: str = "locmemcache://bench") -> None:
    # Settings read the environment once, at django.setup(): everything is set before it.
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["CACHE_URL"] = cache_url  # one process: the limiter's counts live here
    os.environ["TASK_BACKEND"] = "dummy"  # a queued batch stays in the outbox and is reported
    os.environ["HUBSPOT_API_BASE_URL"] = fake_url
    os.environ["HUBSPOT_FORMS_BASE_URL"] = fake_url
    os.environ["DEBUG"] = "true"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skypanel.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False  # no SQL log growing in memory during the run
    settings.MEDIA_ROOT = str(workdir / "media")
    call_command("migrate", verbosity=0)

    from hubspot_integration.models import HubSpotSettings

    s = HubSpotSettings.load()
    s.enabled, s.portal_id, s.access_token = True, str(FAKE_PORTAL_ID), FAKE_TOKEN
    s.rate_limit_per_10s = WINDOW_MAX
    s.save()


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("email,firstname,lastname,company,phone\n")
        for i in range(rows):
            f.write(
                f"contact{i:07d}@example.com,First{i},Last{i},Company {i % 97},+1 555 {i:07d}\n"
            )


def run(fake: FakeProcess, workdir: Path, rows: int, batch_size: int) -> dict:
    from django.core.cache import cache

    from hubspot_integration.conf import app_settings
    from hubspot_integration.credentials import get_client, reset_clients
    from hubspot_integration.services import imports

    fake.ask("reset")
    cache.clear()  # the panel's limiter starts with an empty window, as the fake does
    reset_clients()
    # The client the import's batches use: its limiter's sleeps are the time it held calls back.
    limiter = get_client(max_wait=app_settings.IMPORT_BATCH_MAX_WAIT).limiter
    held = [0.0]

    def counting_sleep(seconds, _sleep=time.sleep):
        held[0] += seconds
        _sleep(seconds)

    limiter._sleep = counting_sleep
    path = workdir / f"contacts-{rows}.csv"
    write_csv(path, rows)
    contact_import = imports.start_import(path.name)

    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.monotonic()
    result = imports.run_import(contact_import, str(path), batch_size=batch_size)
    wall = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    return {
        "rows": rows,
        "file_kb": path.stat().st_size / 1024,
        "wall": wall,
        "held": held[0],
        "peak_kb": peak / 1024,
        "result": result,
        **fake.ask("figures"),
    }


def ceilings(calls: int, per_window: float) -> float:
    """Least wall time `calls` need under `per_window` calls per rolling 10 s (calls are free)."""
    return max(calls - 1, 0) // int(per_window) * WINDOW_SECONDS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--compare", type=int, default=1_000, help="a smaller file, for memory")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()

    fake = FakeProcess(seed=False, control=control)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            setup_django(workdir, fake.url)
            from hubspot_integration.conf import app_settings

            run(fake, workdir, 10, args.batch_size)  # warm-up: imports, connection pool
            small = run(fake, workdir, args.compare, args.batch_size)
            big = run(fake, workdir, args.rows, args.batch_size)
    finally:
        fake.stop()

    panel_limit = int(WINDOW_MAX * app_settings.RATE_LIMIT_MARGIN)
    minimum_calls = -(-args.rows // args.batch_size)
    print()
    print(
        f"Import of generated contacts through the fake HubSpot ({WINDOW_MAX} calls / 10 s window)"
    )
    print(
        f"the panel's limiter allows {panel_limit} calls / 10 s ({app_settings.RATE_LIMIT_MARGIN:.0%} margin)"
    )
    print()
    header = f"{'':44}{str(small['rows']) + ' rows':>14}{str(big['rows']) + ' rows':>14}"
    print(header)
    print("-" * len(header))

    def line(label, key, fmt="{:,}"):
        print(f"{label:44}{fmt.format(small[key]):>14}{fmt.format(big[key]):>14}")

    line("CSV file size (KiB)", "file_kb", "{:,.0f}")
    line("HubSpot calls: batch upserts", "batch_calls")
    line("HubSpot calls: all (upserts + anything else)", "all_calls")
    line("429 answers received (target 0)", "429s")
    line("contacts in HubSpot afterwards", "contacts")
    for name in ("created", "updated", "rejected", "failed", "queued"):
        print(
            f"{'summary: ' + name:44}{getattr(small['result'], name):>14,}"
            f"{getattr(big['result'], name):>14,}"
        )
    line("wall time (s)", "wall", "{:.2f}")
    line("  of which the panel's limiter held calls (s)", "held", "{:.2f}")
    for run_ in (small, big):
        run_["fake_min"] = ceilings(run_["all_calls"], WINDOW_MAX)
        run_["panel_min"] = ceilings(run_["all_calls"], panel_limit)
    line(f"least possible at {WINDOW_MAX}/10 s, the fake's ceiling (s)", "fake_min", "{:.0f}")
    line(f"least possible at {panel_limit}/10 s, the panel's budget (s)", "panel_min", "{:.0f}")
    line("peak traced memory during the import (KiB)", "peak_kb", "{:,.0f}")
    print()
    growth = big["peak_kb"] / small["peak_kb"] if small["peak_kb"] else float("nan")
    print(
        f"Target calls for {args.rows:,} rows: {minimum_calls} (batches of {args.batch_size}). "
        f"Memory: {big['rows'] // small['rows']}x the rows, {growth:.2f}x the peak."
    )
    ok = (
        big["batch_calls"] == minimum_calls
        and big["429s"] == 0
        and big["result"].complete
        and growth < 1.5
    )
    print("OK" if ok else "NOT OK: see the figures above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
