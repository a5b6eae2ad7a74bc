"""Start and stop the production profile on this machine: gunicorn, RQ workers, the sweep.

Used by `scripts/production_smoke.py` and `bench/load.py`. Every process gets its own log file
and its own process group; `stop()` ends exactly the processes it started (SIGTERM, then SIGKILL
after a grace period), drops the throwaway database and flushes the Redis databases it used.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = os.environ.get("PYTHON") or (
    str(ROOT / ".venv/bin/python") if (ROOT / ".venv/bin/python").exists() else sys.executable
)
PG_ADMIN_URL = os.environ.get("SMOKE_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_HOST = os.environ.get("SMOKE_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("SMOKE_REDIS_PORT", "6379"))

sys.path.insert(0, str(ROOT))
from tests.fake_hubspot import FakeHubSpot  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


class Stack:
    def __init__(
        self,
        *,
        name: str,
        hubspot_url: str,
        cache_db: int,
        rq_db: int,
        web_workers: int = 2,
        rq_workers: int = 2,
        sweep: bool = True,
        extra_env: dict | None = None,
    ):
        self.name = name
        self.db_name = f"skypanel_{name}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cache_db, self.rq_db = cache_db, rq_db
        self.web_workers, self.rq_workers, self.sweep = web_workers, rq_workers, sweep
        self.logdir = Path(tempfile.mkdtemp(prefix=f"skypanel-{name}-"))
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHON": PY,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "HUBSPOT_ENCRYPTION_KEYS": fernet_key(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.db_name}",
            "CACHE_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{cache_db}",
            "TASK_BACKEND": "rq",
            "RQ_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{rq_db}",
            "HUBSPOT_API_BASE_URL": hubspot_url,
            "HUBSPOT_FORMS_BASE_URL": hubspot_url,
            # TLS ends at a proxy in production; here the client plays the proxy and sends
            # X-Forwarded-Proto: https, so SSL redirect, secure cookies and HSTS stay ON.
            "TRUST_PROXY": "true",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "WEB_CONCURRENCY": str(web_workers),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "LOG_FORMAT": "json",
            # Every process of the stack (gunicorn, workers, sweep, shell commands) writes its
            # metrics here, as on one production machine: one scrape counts them all.
            "PROMETHEUS_MULTIPROC_DIR": str(self.logdir / "metrics"),
            **(extra_env or {}),
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)

    # --- data stores --------------------------------------------------------------------------
    def _pg(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql)

    def _flush_redis(self) -> None:
        import redis

        for db in (self.cache_db, self.rq_db):
            redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db).flushdb()

    def _lock(self) -> None:
        """One run at a time per stack name: a second CI job or developer on this machine waits
        instead of dropping the database and flushing Redis under the first one's feet."""
        import redis

        r = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)
        self._lock_key = f"skypanel:stack-lock:{self.name}"
        self._lock_value = f"{socket.gethostname()}:{os.getpid()}"
        deadline = time.monotonic() + float(os.environ.get("STACK_LOCK_WAIT", "600"))
        while not r.set(self._lock_key, self._lock_value, nx=True, ex=900):
            if time.monotonic() > deadline:
                raise RuntimeError(f"another {self.name} run holds {self._lock_key}")
            time.sleep(1)

    def _unlock(self) -> None:
        import redis

        if getattr(self, "_lock_key", None):
            r = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)
            if r.get(self._lock_key) == self._lock_value.encode():
                r.delete(self._lock_key)

    def prepare(self) -> None:
        self._lock()
        self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self._pg(f'CREATE DATABASE "{self.db_name}"')
        self._flush_redis()
        self.manage("migrate", "--noinput", quiet=True)
        self.manage("collectstatic", "--noinput", quiet=True)

    # --- processes ----------------------------------------------------------------------------
    def manage(
        self, *args: str, quiet: bool = False, env: dict | None = None, timeout: float = 180
    ):
        result = subprocess.run(  # noqa: S603 - our own argv
            [PY, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        if not quiet and result.stdout.strip():
            print(result.stdout.rstrip())
        return result

    def shell(self, code: str, *, timeout: float = 120) -> str:
        return self.manage(
            "shell", "--no-imports", "-c", code, quiet=True, timeout=timeout
        ).stdout.strip()

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "wb")  # noqa: SIM115 - open for the process's whole life
        proc = subprocess.Popen(  # noqa: S603 - our own argv
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        gunicorn = str(Path(PY).with_name("gunicorn"))
        self.spawn("web", [gunicorn, "-c", "gunicorn.conf.py", "skypanel.wsgi"])
        for i in range(1, self.rq_workers + 1):
            self.spawn(
                f"worker{i}",
                ["sh", "scripts/worker.sh", "--name", f"{self.name}-{i}-{os.getpid()}"],
            )
        if self.sweep:
            self.spawn("sweep", [PY, "manage.py", "hubspot_sweep", "--loop", "--interval", "2"])
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")
            try:
                request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
                    self.url + "/admin/login/", headers={"X-Forwarded-Proto": "https"}
                )
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - http://127.0.0.1 only
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.tail('web')}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def rq_worker_count(self) -> int:
        import redis
        from rq import Worker

        return len(
            Worker.all(connection=redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=self.rq_db))
        )

    def stop(self, *, drop: bool = True) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        self.procs.clear()
        if drop:
            try:
                self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
                self._flush_redis()
            except Exception as err:  # teardown must not hide the real failure
                print(f"teardown: {err}", file=sys.stderr)
        self._unlock()


class FakeProcess:
    """The fake HubSpot in a child process: its records and request log stay out of the caller's
    memory, and its work does not compete with the caller for the GIL.

    `control(fake, command)` runs in the child for each `ask(command)` and its return value is
    the answer: the bench resets the fake and reads its counts this way."""

    def __init__(self, *, seed: bool = True, control: Callable | None = None):
        # Forked before the caller sets Django up, so the child inherits nothing of it.
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve_fake, args=(child, seed, control), daemon=True)
        self._process.start()
        self.url = self._conn.recv()

    def ask(self, command):
        self._conn.send(command)
        return None if command == "stop" else self._conn.recv()

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self.ask("stop")
            except (BrokenPipeError, EOFError, OSError):
                pass  # the child is already gone
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


def _serve_fake(conn, seed: bool, control: Callable | None) -> None:
    with FakeHubSpot() as fake:
        if seed:
            fake.seed_demo()
        conn.send(fake.url)
        while (command := conn.recv()) != "stop":
            conn.send(control(fake, command) if control else None)


def install_time_limit(limit: int, message: str) -> None:
    """Raise TimeoutError in the main thread after `limit` seconds (so `finally` blocks still stop
    what was started), and turn SIGTERM into an orderly exit for the same reason."""

    def _timeout(*_):
        raise TimeoutError(message)

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(limit)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
