"""`make run`: the development server, the task worker and the sweep, stopped together by Ctrl-C.

The children run in their own sessions, so the terminal's Ctrl-C reaches only this launcher, which
then stops each child with SIGTERM and exits 0: no tracebacks, no "Interrupt" from make. (The old
recipe's `trap 'kill 0'` also signalled make's own shell, which ended with status 143.)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10.0


def _commands(port: int) -> list[list[str]]:
    manage = [sys.executable, str(ROOT / "manage.py")]
    return [
        [*manage, "db_worker", "--interval", "1"],
        [*manage, "hubspot_sweep", "--loop", "--interval", "5"],
        [*manage, "runserver", f"127.0.0.1:{port}"],
    ]


def _metrics_dir() -> None:
    """The server, the worker and the sweep share one metrics directory (multiprocess mode), so
    /metrics on the dev server counts the worker's HubSpot calls too; the last run's files go."""
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(ROOT / "var" / "metrics"))
    sys.path.insert(0, str(ROOT))
    from hubspot_integration import metrics

    metrics.clean_multiprocess_dir()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()
    _metrics_dir()

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = [
        subprocess.Popen(command, cwd=ROOT, start_new_session=True)  # noqa: S603 - our own commands
        for command in _commands(args.port)
    ]
    status = 0
    try:
        while not stopping:
            for child in children:
                code = child.poll()
                if code is not None:
                    print(f"{' '.join(child.args[2:4])} stopped (exit {code}); stopping the rest.")
                    stopping, status = True, code or 1
                    break
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + GRACE_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    print("SkyPanel stopped.")
    return status


if __name__ == "__main__":
    sys.exit(main())
