#!/usr/bin/env python3
"""Load against gunicorn (2 workers, DEBUG=false, PostgreSQL, Redis) on 127.0.0.1.

    .venv/bin/python bench/load.py [--seconds 15] [--concurrency 8] [--contacts-concurrency 2,4]

Starts the production profile (scripts/stack.py: a fresh database `skypanel_load`, Redis dbs 9
and 10) against a fake HubSpot in this process that answers every call after 50 ms and enforces
HubSpot's own 10-second window (`--tier`: 100 calls for Free/Starter, the default, or 190/200),
with the panel's settings on the same tier.
Then, with wrk (`apt-get install -y wrk`; closed loop, keep-alive connections, the
`X-Forwarded-Proto: https` a TLS proxy adds; `bench/wrk_report.lua` counts the answers by status),
for each endpoint:

- `GET /api/hubspot/config`  the public widget configuration (no HubSpot call)
- `GET /`                    the customer home page with the chat widget on
- `GET /api/admin/settings/hubspot/contacts`  the staff contacts list: one live HubSpot call each

prints requests per second, p50 and p99 latency, and the answers by status (target: all 200).
The contacts list runs twice, with 2 and with 4 clients: both ask HubSpot for more than the plan
allows (one client alone asks about 10 calls a second; the Free tier allows 9 with the panel's
margin), so the limiter has to pace them; each run prints the most HubSpot calls seen in any 10-second window
(sampled every 0.5 s from the fake's log) against the limit, and how many 429s HubSpot sent
(target 0: the shared limiter holds both gunicorn processes under the window). A staff request
the limiter would hold back longer than 2 s is answered 503 with Retry-After (the time the window
has room again): counted apart as "503 Retry-After", not hidden, and not an error; any other
non-200 answer or socket error is.

wrk shares the machine's 2 cores with gunicorn and the fake: the figures are a floor for this
box, not a capacity plan.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.stack import Stack  # noqa: E402
from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN, FakeHubSpot  # noqa: E402

WRK = shutil.which("wrk")
WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")


def run_load(port: int, path: str, *, seconds: float, concurrency: int, headers: dict) -> dict:
    """`wrk` against one path: closed loop, keep-alive, `concurrency` connections on 2 threads."""
    command = [
        WRK,
        f"--threads={min(2, concurrency)}",
        f"--connections={concurrency}",
        f"--duration={max(int(round(seconds)), 1)}s",
        "--timeout=30s",  # the contacts list may wait for the rate limiter: not a wrk error
        f"--script={WRK_SCRIPT}",
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    report = json.loads(line.removeprefix("WRK_JSON "))
    statuses = {int(c) if c.isdigit() else c: n for c, n in report["statuses"].items()}
    statuses.update({f"socket {k}": n for k, n in report["socket_errors"].items() if n})
    return {
        "rps": report["requests"] / (report["duration_us"] / 1e6),
        "p50": report["p50_us"] / 1000,
        "p99": report["p99_us"] / 1000,
        "statuses": statuses,
        "n": report["requests"],
    }


# The panel's answer when the limiter would hold a staff request past its 2 s: a refusal with a
# time to come back (counted by bench/wrk_report.lua), not a failure.
HELD_BACK = "503 Retry-After"


def errors_in(result: dict) -> int:
    return sum(n for code, n in result["statuses"].items() if code not in (200, HELD_BACK))


def print_figures(r: dict) -> None:
    print(
        f"    {r['rps']:8.1f} req/s   p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms"
        f"   answers {r['statuses']}"
    )


class WindowSampler:
    """The most fake-HubSpot calls in any 10 s window, from counts sampled every 0.5 s."""

    def __init__(self, fake: FakeHubSpot, path_prefix: str):
        self.fake, self.prefix = fake, path_prefix
        self.samples: deque = deque()
        self.max_in_window = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            now, count = time.monotonic(), self.fake.count(path_prefix=self.prefix)
            self.samples.append((now, count))
            while self.samples and now - self.samples[0][0] > 10.0:
                self.samples.popleft()
            self.max_in_window = max(self.max_in_window, count - self.samples[0][1])
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--contacts-seconds", type=float, default=25)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--contacts-concurrency",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[2, 4],
        help="clients for the contacts-list runs, comma-separated (one run each)",
    )
    parser.add_argument("--latency", type=float, default=0.05, help="fake HubSpot answer time")
    parser.add_argument(
        "--tier", type=int, default=100, choices=(100, 190, 200), help="HubSpot calls per 10 s"
    )
    args = parser.parse_args()
    if not WRK:
        print("bench/load.py needs wrk: apt-get install -y wrk", file=sys.stderr)
        return 2

    fake = FakeHubSpot().start()
    fake.seed_contacts(500)
    fake.faults.latency(args.latency)
    fake.rate_limit(args.tier, 10.0)  # HubSpot's window for the tier, enforced by the fake
    stack = Stack(name="load", hubspot_url=fake.url, cache_db=9, rq_db=10, rq_workers=0)
    try:
        stack.prepare()
        token = stack.shell(
            "from django.contrib.auth.models import Group, User\n"
            "from rest_framework.authtoken.models import Token\n"
            "from hubspot_integration.models import HubSpotSettings\n"
            "u = User.objects.create_user('loadstaff', password='x' * 20, is_staff=True)\n"
            "u.groups.add(Group.objects.get(name='HubSpot staff'))\n"
            "s = HubSpotSettings.load()\n"
            f"s.enabled, s.portal_id, s.access_token = True, '{FAKE_PORTAL_ID}', '{FAKE_TOKEN}'\n"
            "s.chat_enabled = s.tickets_enabled = True\n"
            "s.data_hosting_region = 'na1'\n"
            f"s.rate_limit_per_10s = {args.tier}\n"
            "s.save()\n"
            "print(Token.objects.create(user=u).key)"
        ).splitlines()[-1]
        stack.start()
        base = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
        print(
            "bench/load.py: gunicorn x2 (DEBUG=false, PostgreSQL, Redis cache), fake HubSpot "
            f"answering in {args.latency * 1000:.0f} ms"
        )
        results = {}
        for path, conc, secs, headers in (
            ("/api/hubspot/config", args.concurrency, args.seconds, base),
            ("/", args.concurrency, args.seconds, base),
        ):
            run_load(stack.port, path, seconds=1, concurrency=2, headers=headers)  # warm
            results[path] = run_load(
                stack.port, path, seconds=secs, concurrency=conc, headers=headers
            )
        contacts = "/api/admin/settings/hubspot/contacts"
        auth = {**base, "Authorization": f"Token {token}"}
        for path, r in results.items():
            print(f"  GET {path}  ({args.concurrency} clients, {r['n']} requests)")
            print_figures(r)
        clean = all(errors_in(r) == 0 for r in results.values())
        for conc in args.contacts_concurrency:
            time.sleep(10)  # the previous run's calls leave HubSpot's 10 s window first
            calls_before = fake.count(path_prefix="/crm/objects/2026-09/contacts")
            limited_before = sum(1 for r in fake.requests if r.status == 429)
            with WindowSampler(fake, "/crm/") as sampler:
                r = run_load(
                    stack.port,
                    contacts,
                    seconds=args.contacts_seconds,
                    concurrency=conc,
                    headers=auth,
                )
            hubspot_calls = fake.count(path_prefix="/crm/objects/2026-09/contacts") - calls_before
            hubspot_429 = sum(1 for r in fake.requests if r.status == 429) - limited_before
            print(f"  GET {contacts}  ({conc} clients, {r['n']} requests)")
            print_figures(r)
            print(
                f"    {hubspot_calls} HubSpot calls in {args.contacts_seconds:.0f} s; most in any "
                f"10 s window {sampler.max_in_window} (HubSpot allows {args.tier}, the limiter "
                f"takes {int(args.tier * 0.9)}); HubSpot 429 answers: {hubspot_429}"
            )
            clean = clean and errors_in(r) == 0 and hubspot_429 == 0
            clean = clean and sampler.max_in_window <= args.tier
        print(
            "  result: "
            + ("OK: no errors, HubSpot's window held" if clean else "NOT CLEAN (see above)")
        )
        return 0 if clean else 1
    finally:
        stack.stop()
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
