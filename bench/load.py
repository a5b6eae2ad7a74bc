#!/usr/bin/env python3
"""Load against gunicorn (2 workers, DEBUG=false, PostgreSQL, Redis) on 127.0.0.1.

    .venv/bin/python bench/load.py [--seconds 15] [--concurrency 8] [--contacts-concurrency 4]

Starts the production profile (scripts/stack.py: a fresh database `skypanel_load`, Redis dbs 9
and 10) against a fake HubSpot in this process that answers every call after 50 ms and enforces
HubSpot's own 10-second window (`--tier`: 100 calls for Free/Starter, the default, or 190/200),
with the panel's settings on the same tier.
Then, from a closed-loop load generator in this process (threads, keep-alive connections, the
`X-Forwarded-Proto: https` a TLS proxy adds), for each endpoint:

- `GET /api/hubspot/config`  the public widget configuration (no HubSpot call)
- `GET /`                    the customer home page with the chat widget on
- `GET /api/admin/settings/hubspot/contacts`  the staff contacts list: one live HubSpot call each

prints requests per second, p50 and p99 latency, and the status codes (target: all 200). For the
contacts list it also prints the most HubSpot calls seen in any 10-second window (sampled every
0.5 s from the fake's log) against the limit, and how many 429s HubSpot sent (target 0: the shared
limiter holds both gunicorn processes under the window). A request the limiter holds back longer
than 2 s is answered 503 with Retry-After: counted, not hidden.

The load generator shares the machine's 2 cores with gunicorn and the fake: the figures are a
floor for this box, not a capacity plan.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from collections import Counter, deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.stack import Stack  # noqa: E402
from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_TOKEN, FakeHubSpot  # noqa: E402


def run_load(port: int, path: str, *, seconds: float, concurrency: int, headers: dict):
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes = [], Counter()
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                codes[response.status] += 1
            except (OSError, http.client.HTTPException) as err:
                codes[type(err).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return (
            latencies[min(int(len(latencies) * p), len(latencies) - 1)] * 1000 if latencies else 0
        )

    return {
        "rps": len(latencies) / elapsed,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0,
        "statuses": dict(statuses),
        "n": len(latencies),
    }


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
    parser.add_argument("--contacts-concurrency", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.05, help="fake HubSpot answer time")
    parser.add_argument(
        "--tier", type=int, default=100, choices=(100, 190, 200), help="HubSpot calls per 10 s"
    )
    args = parser.parse_args()

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
        calls_before = fake.count(path_prefix="/crm/v3/objects/contacts")
        limited_before = sum(1 for r in fake.requests if r.status == 429)
        with WindowSampler(fake, "/crm/") as sampler:
            results[contacts] = run_load(
                stack.port,
                contacts,
                seconds=args.contacts_seconds,
                concurrency=args.contacts_concurrency,
                headers=auth,
            )
        hubspot_calls = fake.count(path_prefix="/crm/v3/objects/contacts") - calls_before
        hubspot_429 = sum(1 for r in fake.requests if r.status == 429) - limited_before
        for path, r in results.items():
            conc = args.contacts_concurrency if path == contacts else args.concurrency
            print(f"  GET {path}  ({conc} clients, {r['n']} requests)")
            print(
                f"    {r['rps']:8.1f} req/s   p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms"
                f"   statuses {r['statuses']}"
            )
        print(
            f"  contacts list: {hubspot_calls} HubSpot calls in {args.contacts_seconds:.0f} s; "
            f"most in any 10 s window {sampler.max_in_window} (HubSpot allows {args.tier}, "
            f"the limiter takes {int(args.tier * 0.9)}); HubSpot 429 answers: {hubspot_429}"
        )
        errors = sum(
            n for r in results.values() for code, n in r["statuses"].items() if code != 200
        )
        ok = errors == 0 and hubspot_429 == 0 and sampler.max_in_window <= args.tier
        print("  result: " + ("OK" if ok else f"NOT CLEAN ({errors} non-200 answers)"))
        return 0 if ok else 1
    finally:
        stack.stop()
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
