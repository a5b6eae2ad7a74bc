#!/usr/bin/env python3
"""Dry run of the Docker image's recipe on a machine with no Docker engine.

    .venv/bin/python scripts/image_dry_run.py

The closest real thing to `docker compose up --build`, read from the files themselves so it follows
them when they change (nothing below repeats a command from the Dockerfile or the compose file):

1. the build context: the repository copied to a temp dir through `.dockerignore`, matched as
   Docker matches it (patterns are relative to the context root, a match on a directory excludes
   everything under it, `!` re-includes, the last matching line wins);
2. the build: a fresh venv of the base image's Python stands in for the image's interpreter; the
   Dockerfile is parsed (backslash continuations joined, comments dropped) and its WORKDIR, COPY,
   ENV and RUN instructions are replayed in order with that venv first on PATH: `pip install -r
   requirements.txt` into the empty venv (so no runtime dependency can hide in
   requirements-dev.txt), then the collectstatic step, with the build's own throwaway secrets;
3. the runtime: docker-compose.yml is parsed; the migrate, web, worker (its `deploy.replicas`) and
   sweep services run their own `command` with their own `environment`, on top of the image's ENV
   and an env_file built from `.env.example` (a generated SECRET_KEY and Fernet key,
   ALLOWED_HOSTS=127.0.0.1,localhost). The compose hosts become the local services: `postgres` a
   fresh database `skypanel_image` on 127.0.0.1:5432 (user postgres), `redis` databases 11 and 12
   on 127.0.0.1:6379. Each process gets a clean environment, as a container does, not this shell's.

Checks: migrate exits 0; the Dockerfile's HEALTHCHECK passes against the web container; GET
/api/health answers 200 from PostgreSQL, Redis and RQ; the sign-in page answers a German browser
in German (the build compiled the translations); `/` answers 200 and the hashed CSS it links
is served by whitenoise with a long cache lifetime; the RQ workers register in Redis and, with the
sweep, stay up; `check --deploy --fail-level WARNING` passes (non-security warnings are tolerated,
as in production_smoke.py); no tracebacks or ERROR lines in any log; and every long-running
container's effective healthcheck (the image's, unless compose overrides it) passes in that
container, where only the web command serves $PORT: it is run once web is stopped.

What it cannot prove, with no engine: the base image python:3.11-slim itself (its OS libraries,
pip), the `useradd` RUN and the `USER` switch (processes here run as the invoking user, so a file
the non-root user could not write goes unnoticed; a `chown` in a RUN only checks its paths exist),
COPY ownership flags, layer caching, and compose's networking, published ports, restart policies
and `depends_on` conditions. Gunicorn binds 127.0.0.1 here (HOST) instead of the container's
0.0.0.0, and a free port instead of 8000; WEB_CONCURRENCY is capped at 2 to save memory.

Prints one `ok:` or `FAIL:` line per check and a summary; exits 1 on any failure. Every process is
stopped (its whole process group), the database dropped and the Redis databases flushed at the end,
whatever happens. Bounded by IMAGE_DRY_RUN_TIMEOUT (600 s); IMAGE_DRY_RUN_KEEP=1 keeps the temp dir.
"""

from __future__ import annotations

import base64
import getpass
import glob
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.stack import (  # noqa: E402
    PG_ADMIN_URL,
    REDIS_HOST,
    REDIS_PORT,
    free_port,
    install_time_limit,
)

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "skypanel_image"
REDIS_DBS = (11, 12)
MAX_WEB_CONCURRENCY = 2
SERVICES = ("migrate", "web", "worker", "sweep")
ONE_YEAR = 365 * 24 * 3600
# RUN steps that create users or install OS packages need the base image's root filesystem; they
# are reported, not run (this machine's own packages, gettext included, stand in for them).
USER_COMMANDS = {"useradd", "adduser", "groupadd", "addgroup", "usermod", "apt-get"}
# Only the build may reach the package index: pip's configuration on this machine stands in for
# the network access `docker build` would have. Nothing else leaks from this shell.
BUILD_PASSTHROUGH = re.compile(
    r"^(PIP_|HTTPS?_PROXY$|NO_PROXY$|SSL_CERT_|REQUESTS_CA_BUNDLE$)", re.I
)
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A stand-in for `chown` while the user it names does not exist (its useradd was skipped): it
# changes nothing but still fails, as the real one would, on a path that is not there.
CHOWN_SHIM = """#!/bin/sh
owner=
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    *) if [ -z "$owner" ]; then owner="$arg"
       elif [ ! -e "$arg" ]; then echo "chown: cannot access '$arg'" >&2; exit 1; fi ;;
  esac
done
echo "chown $owner: skipped (the user comes from the skipped useradd step)" >&2
"""


class Abort(Exception):
    """A step the later ones depend on failed: report it and stop."""


class Report:
    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[str] = []

    def ok(self, message: str) -> None:
        self.passed.append(message)
        print(f"ok: {message}", flush=True)

    def fail(self, message: str) -> None:
        self.failed.append(message)
        first, *details = message.splitlines() or [""]
        print(f"FAIL: {first}", flush=True)
        for line in details:
            print(f"   | {line}", flush=True)

    def check(self, condition: bool, good: str, bad: str) -> bool:
        if condition:
            self.ok(good)
        else:
            self.fail(bad)
        return bool(condition)


def note(message: str) -> None:
    print(f"   {message}", flush=True)


def short(command: str | list[str], width: int = 90) -> str:
    text = command if isinstance(command, str) else shlex.join(command)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


# --- the Dockerfile ---------------------------------------------------------------------------
@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


def parse_dockerfile(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        # Docker drops comment lines, even between the lines of a continued instruction.
        if raw.lstrip().startswith("#"):
            continue
        if not buffer:
            if not raw.strip():
                continue
            start = number
        line = raw.rstrip()
        if line.endswith("\\"):
            buffer += line[:-1]
            continue
        buffer += line
        keyword, _, args = buffer.strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        buffer = ""
    if buffer.strip():
        keyword, _, args = buffer.strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    return instructions


def command_form(args: str) -> list[str]:
    """Exec form (a JSON array) as is; anything else is shell form, run by /bin/sh -c."""
    if args.startswith("["):
        try:
            words = json.loads(args)
        except json.JSONDecodeError:
            words = None  # Docker, too, falls back to shell form for an invalid array
        if isinstance(words, list) and all(isinstance(w, str) for w in words):
            return words
    return ["/bin/sh", "-c", args]


def parse_env(args: str) -> dict[str, str]:
    words = shlex.split(args)
    if words and "=" not in words[0]:  # the legacy `ENV KEY value with spaces`
        key, _, value = args.partition(" ")
        return {key: value.strip()}
    return dict(word.split("=", 1) for word in words)


def seconds(duration: str, default: float) -> float:
    total = sum(
        float(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        for n, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration or "")
    )
    return total or default


@dataclass
class Healthcheck:
    argv: list[str] | None  # None: disabled
    timeout: float
    source: str


def parse_healthcheck(args: str) -> Healthcheck:
    options = {}
    rest = args
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, _, value = option[2:].partition("=")
        options[name] = value
        rest = rest.lstrip()
    kind, _, command = rest.partition(" ")
    timeout = seconds(options.get("timeout", ""), 30)
    if kind.upper() == "NONE":
        return Healthcheck(None, timeout, "Dockerfile HEALTHCHECK NONE")
    if kind.upper() != "CMD":
        raise Abort(f"Dockerfile HEALTHCHECK: expected CMD or NONE, got {kind!r}")
    return Healthcheck(command_form(command.strip()), timeout, "Dockerfile HEALTHCHECK")


# --- the build context ------------------------------------------------------------------------
def ignore_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as Docker reads it: `**` spans directories, `*` and `?` do not."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out += re.escape(c)
            else:
                body = pattern[i + 1 : end]
                out += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return re.compile(f"^{out}$")


def read_dockerignore(path: Path) -> list[tuple[bool, re.Pattern]]:
    rules = []
    if not path.exists():
        return rules
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip().lstrip("/"))
        rules.append((include, ignore_regex(pattern)))
    return rules


def ignored(relpath: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    parts = relpath.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for include, regex in rules:
        # A pattern matching a parent directory excludes everything below it.
        if any(regex.match(p) for p in prefixes):
            excluded = not include
    return excluded


def copy_context(source: Path, target: Path) -> tuple[int, int]:
    rules = read_dockerignore(source / ".dockerignore")
    may_reinclude = any(include for include, _ in rules)
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(source):
        rel_dir = Path(dirpath).relative_to(source)
        for name in list(dirnames):
            rel = (rel_dir / name).as_posix()
            path = Path(dirpath) / name
            if path.is_symlink():
                dirnames.remove(name)
                filenames.append(name)  # copied as a link, as Docker does
            elif ignored(rel, rules) and not may_reinclude:
                dirnames.remove(name)
        for name in filenames:
            rel = (rel_dir / name).as_posix()
            if ignored(rel, rules):
                continue
            src, dst = Path(dirpath) / name, target / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
            else:
                shutil.copy2(src, dst)  # keeps the mode: scripts/worker.sh runs by its exec bit
                size += src.stat().st_size
            files += 1
    return files, size


# --- processes --------------------------------------------------------------------------------
def start(argv: list[str], *, cwd: Path, env: dict, out) -> subprocess.Popen:
    """Start in its own process group, so stopping it stops everything it started."""
    try:
        return subprocess.Popen(  # noqa: S603 - argv from the project's own Dockerfile and compose file
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    except OSError as err:  # as `docker run` would fail: the image has no such executable
        raise Abort(f"cannot run {shlex.join(argv)}: {err.strerror} (PATH={env['PATH']})") from err


def run(argv: list[str], *, cwd: Path, env: dict, log: Path, timeout: float) -> int:
    """Run to completion; on timeout or any error, kill its whole process group."""
    with open(log, "ab") as out:
        proc = start(argv, cwd=cwd, env=env, out=out)
        try:
            return proc.wait(timeout=timeout)
        except BaseException:
            kill_group(proc, signal.SIGKILL)
            proc.wait()
            raise


def kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Processes:
    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen] = {}

    def log(self, name: str) -> Path:
        return self.logdir / f"{name}.log"

    def spawn(self, name: str, argv: list[str], *, cwd: Path, env: dict) -> None:
        with open(self.log(name), "ab") as out:  # the child keeps its own copy
            self.procs[name] = start(argv, cwd=cwd, env=env, out=out)

    def stop(self, *names: str) -> None:
        chosen = [p for n, p in self.procs.items() if not names or n in names]
        for proc in chosen:
            if proc.poll() is None:
                kill_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in chosen:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                kill_group(proc, signal.SIGKILL)
                proc.wait(timeout=5)
            # A process that exited may have left children behind in its group.
            kill_group(proc, signal.SIGKILL)


# --- compose ----------------------------------------------------------------------------------
def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def compose_environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment if "=" in item)
    return {
        k: ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v))
        for k, v in environment.items()
    }


def compose_command(service: dict, image_cmd: list[str]) -> list[str]:
    command = service.get("command")
    if command is None:
        return image_cmd
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def compose_healthcheck(service: dict, image: Healthcheck | None) -> Healthcheck | None:
    """The healthcheck Docker would run in this service's container: compose's, else the image's."""
    spec = service.get("healthcheck")
    if spec is None:
        return image
    timeout = seconds(str(spec.get("timeout", "")), 30)
    if spec.get("disable"):
        return Healthcheck(None, timeout, "compose healthcheck: disable")
    test = spec.get("test")
    if isinstance(test, str):
        return Healthcheck(["/bin/sh", "-c", test], timeout, "compose healthcheck")
    kind, *rest = test
    if kind == "NONE":
        return Healthcheck(None, timeout, "compose healthcheck: NONE")
    argv = ["/bin/sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest
    return Healthcheck(argv, timeout, "compose healthcheck")


class Localiser:
    """Maps URLs that name a compose service onto the services on this machine."""

    def __init__(self, hosts: set[str], redis_dbs: dict[int, int]):
        self.hosts = hosts
        self.redis_dbs = redis_dbs
        pg = urlsplit(PG_ADMIN_URL)
        self.pg = f"{pg.username or 'postgres'}@{pg.hostname}:{pg.port or 5432}"

    def __call__(self, value: str) -> str:
        parts = urlsplit(value)
        if not parts.scheme or parts.hostname not in self.hosts:
            return value
        if parts.scheme.startswith("postgres"):
            return f"postgres://{self.pg}/{DB_NAME}"
        if parts.scheme == "redis":
            db = int(parts.path.strip("/") or 0)
            return f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_dbs[db]}"
        raise Abort(f"no local stand-in for {parts.scheme}://{parts.hostname}")


def redis_db_map(values: list[str], hosts: set[str]) -> dict[int, int]:
    used = sorted(
        {
            int(urlsplit(v).path.strip("/") or 0)
            for v in values
            if urlsplit(v).scheme == "redis" and urlsplit(v).hostname in hosts
        }
    )
    if len(used) > len(REDIS_DBS):
        raise Abort(f"compose uses Redis databases {used}; only {len(REDIS_DBS)} are set aside")
    return dict(zip(used, REDIS_DBS, strict=False))


# --- data stores ------------------------------------------------------------------------------
def pg(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def redis_client(db: int):
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_timeout=5)


class Lock:
    """One dry run at a time on this machine: a second one waits instead of dropping the first
    one's database. Same scheme as scripts/stack.py."""

    key = "skypanel:stack-lock:image"

    def __init__(self) -> None:
        self.value = f"{socket.gethostname()}:{os.getpid()}"
        self.held = False

    def acquire(self, wait: float) -> None:
        r = redis_client(0)
        deadline = time.monotonic() + wait
        while not r.set(self.key, self.value, nx=True, ex=900):
            if time.monotonic() > deadline:
                raise Abort(f"another image dry run holds {self.key}")
            time.sleep(1)
        self.held = True

    def release(self) -> None:
        if self.held:
            r = redis_client(0)
            if r.get(self.key) == self.value.encode():
                r.delete(self.key)


# --- the dry run ------------------------------------------------------------------------------
class DryRun:
    def __init__(self, report: Report, deadline: float):
        self.report = report
        self.deadline = deadline
        self.tmp = Path(tempfile.mkdtemp(prefix="skypanel-image-"))
        self.context = self.tmp / "context"
        self.rootfs = self.tmp / "rootfs"  # absolute paths in the Dockerfile land under here
        self.venv = self.tmp / "venv"
        self.home = self.tmp / "home"
        self.shims = self.tmp / "shims"
        self.logdir = self.tmp / "logs"
        for d in (self.context, self.rootfs, self.home, self.shims, self.logdir):
            d.mkdir(parents=True)
        self.procs = Processes(self.logdir)
        self.lock = Lock()
        self.redis_dbs: list[int] = []
        self.redis_dbs_used = False
        self.db_created = False
        self.workdir = self.rootfs
        self.image_env: dict[str, str] = {}
        self.healthcheck: Healthcheck | None = None
        self.cmd: list[str] = []
        self.port = free_port()

    def remaining(self, cap: float) -> float:
        return max(min(cap, self.deadline - time.monotonic()), 1)

    def base_env(self) -> dict[str, str]:
        # What a container starts with before the image's ENV: a PATH (the venv stands in for
        # /usr/local/bin of python:3.11-slim), a UTF-8 locale and a home directory.
        return {
            "PATH": f"{self.venv}/bin:{SYSTEM_PATH}",
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
        }

    # -- build ----------------------------------------------------------------------------------
    def build(self) -> None:
        files, size = copy_context(ROOT, self.context)
        leaked = [
            p
            for p in (".git", ".venv", ".env", "var", "staticfiles", "db.sqlite3")
            if (self.context / p).exists()
        ]
        if leaked:
            self.report.fail(f"build context: {', '.join(leaked)} would be sent to the build")
        else:
            self.report.ok(
                f"build context through .dockerignore: {files} files, {size / 1e6:.1f} MB "
                "(no .git, .venv, .env, var, staticfiles, db.sqlite3)"
            )

        dockerfile = parse_dockerfile((ROOT / "Dockerfile").read_text())
        froms = [i for i in dockerfile if i.keyword == "FROM"]
        if len(froms) != 1:
            raise Abort(f"Dockerfile: {len(froms)} FROM lines; the dry run replays one stage")
        self.make_venv(froms[0].args.split()[0])
        (self.shims / "chown").write_text(CHOWN_SHIM)
        (self.shims / "chown").chmod(0o755)

        build_env = self.base_env()
        build_env["HOME"] = os.environ.get("HOME", str(self.home))  # pip finds its index config
        build_env.update({k: v for k, v in os.environ.items() if BUILD_PASSTHROUGH.match(k)})
        build_env["PATH"] = f"{self.venv}/bin:{self.shims}:{SYSTEM_PATH}"
        ran_collectstatic = False
        for ins in dockerfile:
            where = f"Dockerfile:{ins.line}"
            if ins.keyword == "WORKDIR":
                self.workdir = self.resolve(ins.args)
                self.workdir.mkdir(parents=True, exist_ok=True)
            elif ins.keyword == "ENV":
                values = parse_env(ins.args)
                build_env.update(values)
                self.image_env.update(values)
            elif ins.keyword in ("COPY", "ADD"):
                self.copy(ins)
            elif ins.keyword == "RUN":
                argv = command_form(ins.args)
                words = shlex.split(argv[-1]) if argv[0] == "/bin/sh" else argv
                if words and words[0] in USER_COMMANDS:
                    note(f"not run ({where}): RUN {short(ins.args, 60)} (needs the base image)")
                    continue
                started = time.monotonic()
                log = self.logdir / f"build-{ins.line}.log"
                code = run(
                    argv, cwd=self.workdir, env=build_env, log=log, timeout=self.remaining(600)
                )
                took = time.monotonic() - started
                if code != 0:
                    raise Abort(f"{where} RUN {short(ins.args)} exited {code}:\n{tail(log)}")
                self.report.ok(f"{where} RUN {short(ins.args)} ({took:.0f} s)")
                ran_collectstatic |= "collectstatic" in ins.args
            elif ins.keyword == "USER":
                note(
                    f"not exercised ({where}): USER {ins.args}; processes run as {getpass.getuser()}"
                )
            elif ins.keyword == "HEALTHCHECK":
                self.healthcheck = parse_healthcheck(ins.args)
            elif ins.keyword == "CMD":
                self.cmd = command_form(ins.args)
            elif ins.keyword == "ENTRYPOINT":
                raise Abort(f"{where}: ENTRYPOINT is not replayed by the dry run")
            elif ins.keyword not in ("FROM", "EXPOSE", "LABEL", "ARG", "STOPSIGNAL"):
                raise Abort(f"{where}: {ins.keyword} is not replayed by the dry run")
        if not ran_collectstatic:
            self.report.fail(
                "Dockerfile: no RUN collects the static files; whitenoise would serve none"
            )
        manifest = self.workdir / "staticfiles" / "staticfiles.json"
        if manifest.exists():
            count = len(json.loads(manifest.read_text())["paths"])
            self.report.ok(f"collectstatic wrote the whitenoise manifest ({count} files)")
        else:
            self.report.fail(f"no /{manifest.relative_to(self.rootfs)} after the build")
        catalogues = sorted(self.workdir.glob("locale/*/LC_MESSAGES/django.po"))
        missing = [po for po in catalogues if not po.with_suffix(".mo").exists()]
        if missing:
            self.report.fail(
                "the build compiled no translations for "
                + ", ".join(str(po.relative_to(self.rootfs)) for po in missing)
            )
        elif catalogues:
            self.report.ok(f"compilemessages compiled {len(catalogues)} translation catalogue(s)")
        log = self.logdir / "pip-check.log"
        code = run(
            [f"{self.venv}/bin/python", "-m", "pip", "check"],
            cwd=self.workdir,
            env=build_env,
            log=log,
            timeout=self.remaining(60),
        )
        self.report.check(
            code == 0,
            "pip check: the runtime requirements are consistent",
            f"pip check:\n{tail(log)}",
        )

    def make_venv(self, base_image: str) -> None:
        # The base image's Python version, so a syntax or wheel only one version has shows up.
        version = re.search(r":(\d+\.\d+)", base_image)
        python = shutil.which(f"python{version.group(1)}") if version else None
        if not python:
            python = shutil.which("python3") or sys.executable
            note(f"no python{version.group(1) if version else '?'} here; using {python}")
        log = self.logdir / "venv.log"
        code = run(
            [python, "-m", "venv", str(self.venv)],
            cwd=self.tmp,
            env=dict(os.environ),
            log=log,
            timeout=self.remaining(120),
        )
        if code != 0:
            raise Abort(f"python -m venv exited {code}:\n{tail(log)}")
        out = subprocess.run(  # noqa: S603 - the venv we just made
            [f"{self.venv}/bin/python", "--version"], capture_output=True, text=True, check=True
        )
        self.report.ok(f"fresh venv for {base_image}: {out.stdout.strip()}")

    def resolve(self, path: str) -> Path:
        if path.startswith("/"):
            return self.rootfs / path.lstrip("/")
        return self.workdir / path

    def copy(self, ins: Instruction) -> None:
        words = json.loads(ins.args) if ins.args.startswith("[") else shlex.split(ins.args)
        flags = [w for w in words if w.startswith("--")]
        words = [w for w in words if not w.startswith("--")]
        if any(f.startswith("--from") for f in flags):
            raise Abort(f"Dockerfile:{ins.line}: COPY --from is not replayed by the dry run")
        *sources, dest = words
        target = self.resolve(dest)
        matches = []
        for source in sources:
            found = sorted(glob.glob(str(self.context / source)))
            if not found:
                # `docker build` fails the same way: the file is missing or dockerignored.
                raise Abort(f"Dockerfile:{ins.line}: COPY {source}: not in the build context")
            matches += [Path(f) for f in found]
        into_dir = dest.endswith("/") or dest in (".", "..") or len(matches) > 1 or target.is_dir()
        for match in matches:
            if match.is_dir():
                shutil.copytree(match, target, symlinks=True, dirs_exist_ok=True)
            else:
                to = target / match.name if into_dir else target
                to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(match, to)

    # -- runtime --------------------------------------------------------------------------------
    def service_envs(self, services: dict) -> dict[str, dict[str, str]]:
        hosts = set(services)
        env_file = read_env_file(ROOT / ".env.example")
        env_file.update(
            {
                "SECRET_KEY": secrets.token_urlsafe(50),
                "HUBSPOT_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
            }
        )
        raw = {name: compose_environment(services[name]) for name in SERVICES}
        every_value = list(env_file.values()) + [v for env in raw.values() for v in env.values()]
        localise = Localiser(hosts, redis_db_map(every_value, hosts))
        self.redis_dbs = sorted(localise.redis_dbs.values())
        envs = {}
        for name in SERVICES:
            env_files = services[name].get("env_file") or []
            env_files = [env_files] if isinstance(env_files, str) else env_files
            from_files: dict[str, str] = {}
            for path in env_files:
                path = path["path"] if isinstance(path, dict) else path
                # The real .env is the operator's; the dry run's is .env.example, filled in.
                from_files.update(env_file if path == ".env" else read_env_file(ROOT / path))
            # Precedence as in compose: image ENV < env_file < environment.
            env = {**self.base_env(), **self.image_env, **from_files, **raw[name]}
            env = {k: localise(v) for k, v in env.items()}
            if env.get("PROMETHEUS_MULTIPROC_DIR", "").startswith("/"):
                # The shared metrics volume: a directory under the replayed filesystem.
                env["PROMETHEUS_MULTIPROC_DIR"] = str(self.resolve(env["PROMETHEUS_MULTIPROC_DIR"]))
            env["PORT"] = str(self.port)
            # The container binds 0.0.0.0 so its port can be published; here nothing is published.
            env["HOST"] = "127.0.0.1"
            if "WEB_CONCURRENCY" in env:
                env["WEB_CONCURRENCY"] = str(min(int(env["WEB_CONCURRENCY"]), MAX_WEB_CONCURRENCY))
            envs[name] = env
        return envs

    def runtime(self) -> None:
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        services = compose["services"]
        missing = [name for name in SERVICES if name not in services]
        if missing:
            raise Abort(f"docker-compose.yml has no service {', '.join(missing)}")
        envs = self.service_envs(services)
        commands = {name: compose_command(services[name], self.cmd) for name in SERVICES}
        self.report.check(
            commands["web"] == self.cmd,
            f"compose's web command is the image's CMD: {shlex.join(self.cmd)}",
            f"compose's web command {commands['web']} differs from the image's CMD {self.cmd}",
        )

        self.lock.acquire(wait=self.remaining(300))
        pg(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        pg(f'CREATE DATABASE "{DB_NAME}"')
        self.db_created = True
        self.redis_dbs_used = True
        for db in self.redis_dbs:
            redis_client(db).flushdb()
        note(f"PostgreSQL database {DB_NAME}, Redis databases {self.redis_dbs}, port {self.port}")

        log = self.procs.log("migrate")
        code = run(
            commands["migrate"],
            cwd=self.workdir,
            env=envs["migrate"],
            log=log,
            timeout=self.remaining(300),
        )
        if code != 0:
            raise Abort(f"migrate: {shlex.join(commands['migrate'])} exited {code}:\n{tail(log)}")
        applied = log.read_text(errors="replace").count("Applying ")
        self.report.ok(
            f"migrate: {shlex.join(commands['migrate'])} exited 0 ({applied} migrations)"
        )

        self.procs.spawn("web", commands["web"], cwd=self.workdir, env=envs["web"])
        replicas = int((services["worker"].get("deploy") or {}).get("replicas", 1))
        workers = [f"worker{i}" for i in range(1, replicas + 1)]
        for name in workers:
            self.procs.spawn(name, commands["worker"], cwd=self.workdir, env=envs["worker"])
        self.procs.spawn("sweep", commands["sweep"], cwd=self.workdir, env=envs["sweep"])
        started = time.monotonic()
        base = f"http://127.0.0.1:{self.port}"
        self.wait_for_web(base)
        note(
            f"web: {shlex.join(commands['web'])} (WEB_CONCURRENCY={envs['web'].get('WEB_CONCURRENCY')}); "
            f"{replicas} x worker: {shlex.join(commands['worker'])}; sweep: {shlex.join(commands['sweep'])}"
        )

        self.run_healthcheck(
            "web", compose_healthcheck(services["web"], self.healthcheck), envs["web"]
        )
        self.check_http(base)
        self.check_deploy(envs["web"])
        sweep = commands["sweep"]
        interval = float(sweep[sweep.index("--interval") + 1]) if "--interval" in sweep else 5
        self.check_background(workers, envs["worker"], started, settle=max(8, interval + 3))
        self.check_logs()

        # Every other long-running container gets the same healthcheck, in its own network
        # namespace where nothing serves $PORT: with web stopped, this machine is in that state.
        self.procs.stop("web")
        for name in SERVICES:
            if name == "web" or services[name].get("restart") == "no":  # migrate: one-shot
                continue
            self.run_healthcheck(
                name, compose_healthcheck(services[name], self.healthcheck), envs[name]
            )

    def wait_for_web(self, base: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.procs.items():
                if proc.poll() is not None:
                    raise Abort(
                        f"{name} exited with {proc.returncode}:\n{tail(self.procs.log(name))}"
                    )
            try:
                requests.get(
                    base + "/api/health", headers={"X-Forwarded-Proto": "https"}, timeout=2
                )
                return
            except requests.RequestException:
                time.sleep(0.3)
        raise Abort(
            f"gunicorn did not answer within {timeout:.0f} s:\n{tail(self.procs.log('web'))}"
        )

    def run_healthcheck(self, name: str, check: Healthcheck | None, env: dict) -> None:
        if check is None or check.argv is None:
            self.report.ok(
                f"{name}: no healthcheck ({check.source if check else 'none in the image'})"
            )
            return
        log = self.logdir / f"healthcheck-{name}.log"
        try:
            code = run(check.argv, cwd=self.workdir, env=env, log=log, timeout=check.timeout)
        except subprocess.TimeoutExpired:
            code = f"timed out after {check.timeout:.0f} s"
        alone = "" if name == "web" else f" in the {name} container, where nothing serves $PORT"
        self.report.check(
            code == 0,
            f"{name}: {check.source} exits 0{alone}",
            f"{name}: {check.source} ({short(check.argv[-1], 60)}) exits {code}{alone}: "
            f"Docker would mark the container unhealthy ({tail(log, 1)})",
        )

    def check_http(self, base: str) -> None:
        https = {"X-Forwarded-Proto": "https"}  # as the TLS-terminating proxy sends it
        health = requests.get(
            base + "/api/health", headers=https, timeout=10, allow_redirects=False
        )
        body = health.json() if "json" in health.headers.get("Content-Type", "") else {}
        parts = body.get("components") or (body.get("details") or {}).get("components") or {}
        summary = "; ".join(f"{k}: {v.get('message')}" for k, v in parts.items() if k != "hubspot")
        # The task backend is proven by the RQ workers' registration below, not by this message.
        on_stack = parts.get("database", {}).get("message", "").startswith("postgresql")
        self.report.check(
            health.status_code == 200 and body.get("success") and on_stack,
            f"GET /api/health 200 ({summary})",
            f"GET /api/health: {health.status_code} {health.text[:300]}",
        )

        # The compiled German catalogue is in the image: a German browser gets the sign-in page
        # in German (its heading comes from locale/de, not from Django's own translations).
        german = requests.get(
            base + "/accounts/login/",
            headers={**https, "Accept-Language": "de-DE,de;q=0.9"},
            timeout=10,
            allow_redirects=False,
        )
        self.report.check(
            german.status_code == 200
            and german.headers.get("Content-Language") == "de"
            and "<h1>Anmelden</h1>" in german.text,
            "GET /accounts/login/ in German (Content-Language: de, <h1>Anmelden</h1>)",
            f"GET /accounts/login/ (Accept-Language: de): {german.status_code} "
            f"Content-Language {german.headers.get('Content-Language')!r}",
        )

        home = requests.get(base + "/", headers=https, timeout=10, allow_redirects=False)
        if not self.report.check(
            home.status_code == 200, "GET / 200", f"GET /: {home.status_code} {home.text[:200]}"
        ):
            return
        css = re.findall(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', home.text)
        if not css:
            linked = re.findall(r'/static/[^"]+', home.text)
            self.report.fail(f"GET /: links no hashed CSS under /static/: {linked}")
            return
        asset = requests.get(
            base + css[0],
            headers={**https, "Accept-Encoding": "gzip"},
            timeout=10,
            allow_redirects=False,
        )
        cache = asset.headers.get("Cache-Control", "")
        max_age = re.search(r"max-age=(\d+)", cache)
        self.report.check(
            asset.status_code == 200 and max_age and int(max_age.group(1)) >= ONE_YEAR,
            f"GET {css[0]} 200 from whitenoise ({cache}; "
            f"Content-Encoding: {asset.headers.get('Content-Encoding', 'none')})",
            f"GET {css[0]}: {asset.status_code}, Cache-Control: {cache!r}",
        )

    def check_deploy(self, env: dict) -> None:
        argv = ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
        log = self.logdir / "check-deploy.log"
        code = run(argv, cwd=self.workdir, env=env, log=log, timeout=self.remaining(120))
        output = log.read_text(errors="replace")
        if code == 0:
            self.report.ok(f"{shlex.join(argv[1:])}: {output.strip().splitlines()[-1]}")
            return
        # production_smoke.py fails on security warnings only; the rest are advice, tolerated here too.
        issues = re.findall(r"^\S+: \((\S+)\)", output, re.M)
        security = [i for i in issues if i.startswith("security.")]
        errors = "ERRORS:" in output or "CRITICALS:" in output
        self.report.check(
            issues and not security and not errors,
            f"check --deploy: no errors, no security warnings (tolerated as in production_smoke.py: {', '.join(sorted(set(issues)))})",
            f"check --deploy exited {code}:\n{output[-2000:]}",
        )

    def check_background(
        self, workers: list[str], env: dict, started: float, settle: float
    ) -> None:
        from rq import Worker

        rq_db = (
            int(urlsplit(env["RQ_REDIS_URL"]).path.strip("/")) if "RQ_REDIS_URL" in env else None
        )
        registered = 0
        # Longer than the sweep's --interval, so it has been round its loop and back to the database.
        settle = started + settle
        while time.monotonic() < max(settle, started + 20 if rq_db is not None else settle):
            if rq_db is not None:
                registered = len(Worker.all(connection=redis_client(rq_db)))
            if time.monotonic() >= settle and (rq_db is None or registered >= len(workers)):
                break
            time.sleep(0.5)
        if rq_db is not None:
            self.report.check(
                registered >= len(workers),
                f"{registered} RQ workers registered in Redis db {rq_db}",
                f"{registered} RQ workers registered in Redis db {rq_db}, expected {len(workers)}",
            )
        for name in [*workers, "sweep"]:
            proc = self.procs.procs[name]
            self.report.check(
                proc.poll() is None,
                f"{name} is up after {time.monotonic() - started:.0f} s",
                f"{name} exited with {proc.returncode}:\n{tail(self.procs.log(name))}",
            )

    def check_logs(self) -> None:
        bad = [
            f"{name}: {line[:300]}"
            for name in self.procs.procs
            for line in self.procs.log(name).read_text(errors="replace").splitlines()
            if '"level": "ERROR"' in line or "Traceback" in line
        ]
        self.report.check(
            not bad,
            f"no errors in the logs of {', '.join(self.procs.procs)}",
            "errors in the logs:\n" + "\n".join(bad[:20]),
        )

    def teardown(self) -> None:
        self.procs.stop()
        try:
            if self.db_created:
                pg(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            if self.redis_dbs_used:
                for db in self.redis_dbs:
                    redis_client(db).flushdb()
        except Exception as err:  # teardown must not hide the real failure
            print(f"teardown: {err}", file=sys.stderr)
        finally:
            self.lock.release()
        if os.environ.get("IMAGE_DRY_RUN_KEEP") == "1":
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main() -> int:
    limit = int(os.environ.get("IMAGE_DRY_RUN_TIMEOUT", "600"))
    install_time_limit(limit, f"the dry run took longer than {limit} s (IMAGE_DRY_RUN_TIMEOUT)")
    started = time.monotonic()
    report = Report()
    dry = DryRun(report, started + limit)
    try:
        print("== build (Dockerfile)", flush=True)
        dry.build()
        print("== run (docker-compose.yml)", flush=True)
        dry.runtime()
    except Exception as err:  # any failure becomes a FAIL line; teardown runs regardless
        report.fail(str(err) if isinstance(err, Abort) else f"{type(err).__name__}: {err}")
        for name in dry.procs.procs:
            print(f"--- {name} log (tail) ---\n{tail(dry.procs.log(name))}", file=sys.stderr)
    finally:
        signal.alarm(0)
        dry.teardown()
    elapsed = time.monotonic() - started
    verdict = "passed" if not report.failed else "FAILED"
    print(
        f"\nimage dry run {verdict}: {len(report.passed)} ok, {len(report.failed)} failed "
        f"in {elapsed:.0f} s"
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
