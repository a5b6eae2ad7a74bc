"""Import generated contacts through the fake HubSpot: batch upserts beside HubSpot's imports API.

    .venv/bin/python bench/import_contacts.py [--rows 10000] [--compare 1000] [--batch-size 100]
                                              [--batch-rows N]

(`--rows 4000 --batch-size 10` makes 400 calls: enough to make the panel's limiter hold calls back.)

Runs the real service (`services.imports.run_import`) against the fake HubSpot with the real SDK,
on a throw-away SQLite database, twice in the same run: the batch path (the settings' imports API
threshold at 0: upserts of 100 through the outbox) and the imports API path (threshold below the
file: one streamed upload, then status polls and the errors list, waited for as the command
does). For each it prints HubSpot calls, 429s, wall time against the window's ceiling and the peak
memory of the import (tracemalloc), for two file sizes, to show memory stays flat.

`--batch-rows N` runs the batch path on N rows only (a million rows take the batch path over 18
minutes of rate window) and prints its calls and time scaled to `--rows`, marked "scaled".
The fake imports a tenth of a big file per status poll (`polls_to_done`), so its poll count is
the fake's pace; HubSpot's own is its import time over the panel's growing poll interval.
"""

from __future__ import annotations

import argparse
import os
import resource
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
IMPORTS = "/crm/imports/2026-09"
WINDOW_MAX, WINDOW_SECONDS = 100, 10.0
FAKE_ROWS_PER_POLL = 100_000  # what the fake imports per poll (about 5 s of its work)


def control(fake, command):
    """The bench's commands to the fake in its child process (`FakeProcess.ask`)."""
    if command == "reset":
        fake.reset()
        fake.rate_limit(max_per_window=WINDOW_MAX, window_seconds=WINDOW_SECONDS)
        return None
    if isinstance(command, tuple) and command[0] == "polls_to_done":
        fake.imports.polls_to_done = command[1]
        return None
    if command == "figures":
        statuses = [r.status for r in fake.requests]
        paths = [(r.method, r.path) for r in fake.requests]
        return {
            "batch_calls": fake.count("POST", UPSERT),
            "upload_calls": paths.count(("POST", IMPORTS)),
            "poll_calls": sum(
                1
                for m, p in paths
                if m == "GET" and p.startswith(IMPORTS + "/") and "/errors" not in p
            ),
            "error_pages": sum(1 for m, p in paths if m == "GET" and p.endswith("/errors")),
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


def run(fake: FakeProcess, workdir: Path, rows: int, batch_size: int, *, api: bool) -> dict:
    from django.core.cache import cache

    from hubspot_integration.conf import app_settings
    from hubspot_integration.credentials import get_client, reset_clients
    from hubspot_integration.models import HubSpotSettings
    from hubspot_integration.services import imports

    fake.ask("reset")
    fake.ask(("polls_to_done", max(1, -(-rows // FAKE_ROWS_PER_POLL))))
    s = HubSpotSettings.load()
    s.import_api_threshold_rows = 1 if api else 0  # 0: batch upserts whatever the size
    s.save()
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
    if not path.exists():
        write_csv(path, rows)
    contact_import = imports.start_import(path.name)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.monotonic()
    result = imports.run_import(
        contact_import, str(path), batch_size=batch_size, wait_for_hubspot=True
    )
    wall = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The process's high-water mark (C buffers too, which tracemalloc does not see): a file read
    # whole would raise it by the file's size.
    rss_rise = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before

    return {
        "path": "imports API" if api else "batch upserts",
        "rows": rows,
        "file_kb": path.stat().st_size / 1024,
        "wall": wall,
        "held": held[0],
        "peak_kb": peak / 1024,
        "rss_rise_kb": rss_rise,
        "result": result,
        **fake.ask("figures"),
    }


def ceilings(calls: int, per_window: float) -> float:
    """Least wall time `calls` need under `per_window` calls per rolling 10 s (calls are free)."""
    return max(calls - 1, 0) // int(per_window) * WINDOW_SECONDS


def scaled(measured: dict, rows: int) -> dict:
    """The batch path's per-row figures (calls, time) carried to `rows`; memory as measured."""
    factor = rows / measured["rows"]
    out = dict(measured)
    for key in ("file_kb", "batch_calls", "all_calls", "429s", "wall", "held", "contacts"):
        out[key] = measured[key] * factor
    out["rows"], out["scaled_from"] = rows, measured["rows"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--compare", type=int, default=1_000, help="a smaller file, for memory")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--batch-rows",
        type=int,
        default=None,
        help="run the batch path on this many rows and scale its calls and time to --rows",
    )
    args = parser.parse_args()
    batch_rows = min(args.batch_rows or args.rows, args.rows)

    fake = FakeProcess(seed=False, control=control)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            setup_django(workdir, fake.url)
            # The command's own waits between polls, shortened: the fake needs no time to think.
            from django.conf import settings

            settings.HUBSPOT_IMPORT_API_POLL_SECONDS = 0.2
            settings.HUBSPOT_IMPORT_API_POLL_MAX_SECONDS = 0.5
            settings.HUBSPOT_TIMEOUT = (3.05, 30.0)  # the fake imports a poll's rows in-request
            from hubspot_integration.conf import app_settings

            run(fake, workdir, 10, args.batch_size, api=False)  # warm-up: imports, pool
            run(fake, workdir, 10, args.batch_size, api=True)
            figures = {
                "batch": (
                    run(fake, workdir, args.compare, args.batch_size, api=False),
                    run(fake, workdir, batch_rows, args.batch_size, api=False),
                ),
                "api": (
                    run(fake, workdir, args.compare, args.batch_size, api=True),
                    run(fake, workdir, args.rows, args.batch_size, api=True),
                ),
            }
    finally:
        fake.stop()

    panel_limit = int(WINDOW_MAX * app_settings.RATE_LIMIT_MARGIN)
    batch_small, batch_measured = figures["batch"]
    api_small, api_big = figures["api"]
    batch_big = batch_measured if batch_rows == args.rows else scaled(batch_measured, args.rows)
    for run_ in (batch_small, batch_big, api_small, api_big):
        run_["fake_min"] = ceilings(run_["all_calls"], WINDOW_MAX)
        run_["panel_min"] = ceilings(run_["all_calls"], panel_limit)

    print()
    print(
        f"Import of {args.rows:,} generated contacts through the fake HubSpot "
        f"({WINDOW_MAX} calls / 10 s window; the panel's limiter allows {panel_limit} / 10 s)"
    )
    if batch_rows != args.rows:
        print(
            f"SCALED: the batch path ran {batch_rows:,} rows; its calls, 429s, contacts and times "
            f"below are those figures x {args.rows / batch_rows:,.0f} (marked *). Its memory is "
            "as measured on the sample (it streams: see the growth line)."
        )
    print()
    cols = [
        f"batch {batch_small['rows']:,}",
        f"batch {args.rows:,}" + ("*" if batch_rows != args.rows else ""),
        f"API {api_small['rows']:,}",
        f"API {api_big['rows']:,}",
    ]
    runs = [batch_small, batch_big, api_small, api_big]
    header = f"{'':46}" + "".join(f"{c:>17}" for c in cols)
    print(header)
    print("-" * len(header))

    def line(label, key, fmt="{:,.0f}"):
        cells = []
        for r in runs:
            value = r.get(key)
            cells.append("-" if value is None else fmt.format(value))
        print(f"{label:46}" + "".join(f"{c:>17}" for c in cells))

    line("CSV file size (KiB)", "file_kb")
    line("HubSpot calls: all", "all_calls")
    line("  batch upserts", "batch_calls")
    line("  imports API: upload", "upload_calls")
    line("  imports API: status polls", "poll_calls")
    line("  imports API: error pages", "error_pages")
    line("429 answers received (target 0)", "429s")
    line("contacts in HubSpot afterwards", "contacts")
    for name in ("created", "updated", "rejected", "failed", "queued"):
        # A scaled column has no summary of its own: the sample's is in the run it came from.
        cells = ["-" if "scaled_from" in r else f"{getattr(r['result'], name):,}" for r in runs]
        print(f"{'summary: ' + name:46}" + "".join(f"{c:>17}" for c in cells))
    line("wall time (s)", "wall", "{:,.1f}")
    line("  of which the panel's limiter held calls (s)", "held", "{:,.1f}")
    line(f"least possible at {WINDOW_MAX}/10 s, the fake's (s)", "fake_min")
    line(f"least possible at {panel_limit}/10 s, the panel's (s)", "panel_min")
    line("peak traced memory during the import (KiB)", "peak_kb")
    line("rise of the process's peak RSS (KiB)", "rss_rise_kb")
    print()
    for label, small, measured in (
        ("batch", batch_small, batch_measured),
        ("API", api_small, api_big),
    ):
        growth = measured["peak_kb"] / small["peak_kb"] if small["peak_kb"] else float("nan")
        print(
            f"Memory, {label} path: {measured['rows'] / small['rows']:,.0f}x the rows, "
            f"{growth:.2f}x the peak."
        )
    api_growth = api_big["peak_kb"] / api_small["peak_kb"] if api_small["peak_kb"] else 9.9
    minimum_calls = -(-args.rows // args.batch_size)
    print(
        f"Targets: imports API under 20 calls (made {api_big['all_calls']}) with flat memory; "
        f"batch path {minimum_calls:,} upserts."
    )
    ok = (
        api_big["all_calls"] < 20
        and api_big["429s"] == 0
        and api_big["result"].complete
        and api_growth < 1.5
        and batch_measured["429s"] == 0
        and batch_measured["result"].complete
    )
    print("OK" if ok else "NOT OK: see the figures above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
