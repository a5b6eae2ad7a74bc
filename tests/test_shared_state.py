"""State that must be shared by every process of a deployment, proven with real processes.

- the rate limiter, kept in Redis, holds two processes together under the window;
- a settings save is seen by another process at once, from Redis, without SQL;
- two processes racing `process_due()` on PostgreSQL never run one outbox row twice.

Each test starts plain Python subprocesses (not threads) so nothing is shared but Redis and the
database. Redis tests use db 11 with a key prefix of their own; they skip when Redis is down.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import environ
import pytest
from django.db import connection

from hubspot_integration.models import HubSpotSettings, OutboxOperation

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason=f"Redis is not reachable at {REDIS_URL}")


@pytest.fixture
def redis_cache(settings):
    """The test process and its subprocesses share one Redis cache under a fresh key prefix."""
    cache_url = f"{REDIS_URL}?key_prefix=t{uuid.uuid4().hex[:12]}"
    settings.CACHES = {"default": environ.Env.cache_url_config(cache_url)}
    from django.core.cache import cache

    yield cache_url
    # Only this test's keys: django-redis' clear() is FLUSHDB, which would wipe the keys of every
    # other test using this Redis database at the same moment (other xdist workers, other runs).
    cache.delete_pattern("*")


def _env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CACHE_URL", "DEBUG")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="skypanel.settings", TASK_BACKEND="dummy", PYTHONPATH=str(ROOT)
    )
    env.update(extra)
    return env


def _run_python(
    code: str, env: dict, *args: str, timeout: float = 60, stdin=None
) -> subprocess.Popen:
    prelude = "import django\ndjango.setup()\n"
    return subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(code), *args],
        cwd=ROOT,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, timeout: float = 60) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"subprocess failed:\n{out}\n{err}"
    return out.strip()


def _start_together(procs, *, not_after_second: float = 10) -> None:
    """Once every process has printed "ready" (Django's setup can take seconds on a loaded
    machine), send them one start time half a second ahead, early enough in a 10-second bucket."""
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    while time.time() % 10 > not_after_second:
        time.sleep(0.1)
    start_at = time.time() + 0.5
    for proc in procs:
        proc.stdin.write(f"{start_at}\n")
        proc.stdin.flush()


# A database nobody can open: a subprocess that touches SQL fails loudly.
NO_DATABASE = "sqlite:////nonexistent-dir/never.sqlite3"


@needs_redis
def test_rate_limiter_holds_two_processes_under_the_window(redis_cache):
    scope = f"race-{uuid.uuid4().hex[:8]}"
    calls_per_10s = (
        20  # the limiter keeps HUBSPOT_RATE_LIMIT_MARGIN (90 %) of it: 18 calls per window
    )
    code = f"""
        import sys, time
        from hubspot_integration import errors
        from hubspot_integration.ratelimit import RateLimiter
        limiter = RateLimiter(scope={scope!r}, calls_per_10s={calls_per_10s})
        print("ready", flush=True)
        start_at = float(sys.stdin.readline())  # once both processes are up, however slow
        time.sleep(max(start_at - time.time(), 0))
        taken = refused = 0
        while time.time() < start_at + 3:
            try:
                limiter.acquire(max_wait=0)
                taken += 1
            except errors.RateLimited:
                refused += 1
                time.sleep(0.01)
        print(taken, refused)
    """
    env = _env(CACHE_URL=redis_cache, DATABASE_URL=NO_DATABASE)
    procs = [_run_python(code, env, stdin=subprocess.PIPE) for _ in range(2)]
    # Start just after a 10-second bucket turns over, so the 3-second run sits inside one bucket.
    _start_together(procs, not_after_second=6)
    results = [tuple(map(int, _finish(p).split())) for p in procs]
    taken = sum(r[0] for r in results)
    assert taken == int(calls_per_10s * 0.9), results  # exactly the window, shared by both
    assert all(r[1] > 0 for r in results), "both processes were held back"


@needs_redis
@pytest.mark.django_db
def test_settings_save_is_seen_by_another_process_at_once(redis_cache, settings):
    code = """
        from hubspot_integration.models import HubSpotSettings
        s = HubSpotSettings.load()
        print(s.portal_id, s.chat_enabled, s.has_token)
    """
    # No database for the reader: the answer can only come from Redis.
    env = _env(CACHE_URL=redis_cache, DATABASE_URL=NO_DATABASE)
    s = HubSpotSettings.load()
    s.enabled, s.portal_id, s.access_token, s.chat_enabled = (
        True,
        "111",
        "pat-na1-" + "a" * 36,
        True,
    )
    s.save()
    assert _finish(_run_python(code, env)) == "111 True True"
    s.portal_id, s.chat_enabled = "222", False
    s.save()
    assert _finish(_run_python(code, env)) == "222 False True"


@pytest.mark.django_db(transaction=True)
def test_two_processes_racing_process_due_never_run_a_row_twice(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): SQLite has one writer")
    rows = 200
    OutboxOperation.objects.bulk_create(
        OutboxOperation(kind="race_test", payload={"n": i}) for i in range(rows)
    )
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    code = """
        import sys, time
        import hubspot_integration.credentials as credentials
        from hubspot_integration.services import outbox

        credentials.get_client = lambda *a, **k: None  # no HubSpot: the handler is the probe
        log = open(sys.argv[1], "a")

        def handle(client, payload, operation):
            log.write(f"{operation.pk}\\n")
            log.flush()
            time.sleep(0.002)  # widen the window in which a second claim could slip in
            return outbox.Result(str(operation.pk))

        outbox.register("race_test", handle)

        print("ready", flush=True)
        time.sleep(max(float(sys.stdin.readline()) - time.time(), 0))
        while outbox.process_due(limit=25):
            pass
    """
    env = _env(DATABASE_URL=database_url, CACHE_URL="locmemcache://")
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    procs = [_run_python(code, env, str(log), stdin=subprocess.PIPE) for log in logs]
    _start_together(procs)
    for proc in procs:
        _finish(proc, timeout=120)
    handled = [line for log in logs if log.exists() for line in log.read_text().split()]
    per_worker = [len(log.read_text().split()) if log.exists() else 0 for log in logs]
    assert len(handled) == rows, f"{len(handled)} runs for {rows} rows ({per_worker})"
    assert len(set(handled)) == rows, "a row was run twice"
    assert all(per_worker), f"one process did all the work, no race happened: {per_worker}"
    assert OutboxOperation.objects.filter(status="succeeded").count() == rows
