"""Prometheus metrics: their definitions, the helpers the instrumented modules call, and what
`/metrics` serves. The only module that imports `prometheus_client`.

Multiprocess mode: with `PROMETHEUS_MULTIPROC_DIR` set (gunicorn.conf.py, scripts/worker.sh and
scripts/dev.py default it to `var/metrics`), every process writes its values to files in that
directory and a scrape of any one process adds up all of them, so four gunicorn workers, two task
workers and the sweep count as one deployment. Without it (tests, a one-off `manage.py` command),
each process keeps its own values and a scrape shows that process alone.

What the database knows (outbox rows by state, the oldest pending row's age, running imports'
progress) is read at scrape time by `DatabaseCollector`, not counted per process: the rows are the
truth, whoever wrote them, and a counter kept beside them would drift on every crash.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from contextlib import contextmanager
from pathlib import Path

# The directory must exist before prometheus_client opens its first file in it (at the first
# metric below): a fresh checkout or a new volume has none yet.
_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if _MULTIPROC_DIR:
    Path(_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

from prometheus_client import (  # noqa: E402 - after the directory exists
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

logger = logging.getLogger(__name__)

PREFIX = "skypanel_hubspot_"


def _host() -> str:
    # Letters, digits and dashes only: prometheus_client splits file names on "_".
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def process_identifier(pid: int | None = None) -> str:
    """The name a process's files carry: host and PID, so containers that share one metrics
    volume (each with its own PID 1, 7, ...) never write into each other's files."""
    return f"{_host()}-{os.getpid() if pid is None else pid}"


if _MULTIPROC_DIR:
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)


# --- the metrics ---------------------------------------------------------------------------------
CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

CALLS = Counter(
    PREFIX + "calls",
    "HubSpot API calls by operation (client.OPERATIONS) and status: the HTTP status, or the "
    "transport error's kind (timeout, dns, unreachable, dropped, unavailable).",
    ["operation", "status"],
)
CALL_SECONDS = Histogram(
    PREFIX + "call_duration_seconds",
    "Seconds a HubSpot call took on the wire (after the rate limiter let it go).",
    ["operation"],
    buckets=CALL_BUCKETS,
)
CALLS_IN_FLIGHT = Gauge(
    PREFIX + "calls_in_flight",
    "HubSpot calls being sent right now, over the live processes.",
    multiprocess_mode="livesum",  # a dead process's calls are not in flight
)
RATE_LIMITED = Counter(
    PREFIX + "rate_limited",
    "429 answers received from HubSpot, by HubSpot's policy name (TEN_SECONDLY_ROLLING, DAILY, "
    "SECONDLY; 'unknown' when the answer named none).",
    ["policy"],
)
LIMITER_WAIT = Histogram(
    PREFIX + "limiter_wait_seconds",
    "Seconds a call waited in the panel's own rate limiter before it was sent (acquired) or "
    "given up (gave_up: the write stays queued, the page goes without).",
    ["outcome"],
    buckets=WAIT_BUCKETS,
)
WEBHOOK_LAG = Histogram(
    PREFIX + "webhook_delivery_lag_seconds",
    "Seconds from a webhook event's occurredAt at HubSpot to its arrival here (new events only).",
    buckets=LAG_BUCKETS,
)
IDENTIFICATION_CACHE = Counter(
    PREFIX + "identification_cache",
    "Chat visitor-identification token lookups: hit (answered from the cache) or miss (HubSpot "
    "was asked).",
    ["result"],
)
IDENTIFICATION_DEFERRED = Counter(
    PREFIX + "identification_deferred",
    "Chat visitor identifications a page render put off (anonymous widget now, a later page "
    "identifies): share (the renders' share of the rate window is spent), window (the window is "
    "full of staff and background calls), blocked (a 429 is being waited out).",
    ["reason"],
)
SCRAPE_ERRORS = Counter(
    PREFIX + "scrape_errors",
    "Scrapes of /metrics whose database-derived metrics could not be read.",
)

# Read from the database at each scrape by DatabaseCollector (documented here with the others).
DATABASE_METRICS = {
    PREFIX + "outbox_rows": "Outbox rows by state.",
    PREFIX + "outbox_oldest_pending_age_seconds": (
        "Seconds since the oldest pending outbox row was recorded (0 when none is pending)."
    ),
    PREFIX + "imports_running": "Contact imports queued or running.",
    PREFIX + "import_processed_rows": "Rows a queued or running contact import has processed.",
    PREFIX + "import_expected_rows": "Rows a queued or running contact import has in its file.",
    PREFIX + "database_metrics_up": "1 when this scrape read the database metrics, 0 when not.",
}


# --- helpers the instrumented modules call -------------------------------------------------------
@contextmanager
def hubspot_call(operation: str):
    """Around one HubSpot call on the wire: in flight while it runs, then counted with its
    status and timed. The body sets `outcome["status"]` (an HTTP status or an error kind)."""
    outcome = {"status": "error"}
    started = time.monotonic()
    CALLS_IN_FLIGHT.inc()
    try:
        yield outcome
    finally:
        CALLS_IN_FLIGHT.dec()
        CALL_SECONDS.labels(operation).observe(time.monotonic() - started)
        CALLS.labels(operation, str(outcome["status"])).inc()


def rate_limited(policy: str) -> None:
    RATE_LIMITED.labels(policy or "unknown").inc()


def limiter_waited(seconds: float, *, acquired: bool) -> None:
    LIMITER_WAIT.labels("acquired" if acquired else "gave_up").observe(max(seconds, 0.0))


def webhook_received(occurred_at_ms, *, now: float | None = None) -> None:
    """One new webhook event; `occurred_at_ms` is HubSpot's occurredAt (milliseconds)."""
    try:
        occurred = int(occurred_at_ms) / 1000
    except (TypeError, ValueError):
        return  # no usable timestamp: no lag to tell
    WEBHOOK_LAG.observe(max((time.time() if now is None else now) - occurred, 0.0))


def identification_cache(*, hit: bool) -> None:
    IDENTIFICATION_CACHE.labels("hit" if hit else "miss").inc()


def identification_deferred(reason: str) -> None:
    IDENTIFICATION_DEFERRED.labels(reason).inc()


# --- the database-derived metrics ----------------------------------------------------------------
class DatabaseCollector:
    """Outbox and import figures read at scrape time: a few small, indexed queries."""

    def collect(self):
        from django.db.models import Count, Min
        from django.utils import timezone

        from .models import ContactImport, OutboxOperation

        up_name = PREFIX + "database_metrics_up"
        up = GaugeMetricFamily(up_name, DATABASE_METRICS[up_name])
        try:
            counts = dict(
                OutboxOperation.objects.order_by()
                .values_list("status")
                .annotate(n=Count("pk"))
                .values_list("status", "n")
            )
            oldest = OutboxOperation.objects.filter(
                status=OutboxOperation.Status.PENDING
            ).aggregate(at=Min("created_at"))["at"]
            active = list(
                ContactImport.objects.filter(
                    status__in=[ContactImport.Status.QUEUED, ContactImport.Status.RUNNING]
                )
                .order_by("pk")
                .values_list("pk", "processed_rows", "total_rows")
            )
            now = timezone.now()
        except Exception:
            # The database is down or not migrated: the process's own metrics are still worth
            # serving, and the gap shows as database_metrics_up 0.
            logger.warning("The database metrics could not be read for /metrics", exc_info=True)
            SCRAPE_ERRORS.inc()
            up.add_metric([], 0)
            yield up
            return
        rows = GaugeMetricFamily(
            PREFIX + "outbox_rows", DATABASE_METRICS[PREFIX + "outbox_rows"], labels=["state"]
        )
        for state in OutboxOperation.Status.values:
            rows.add_metric([state], counts.get(state, 0))
        yield rows
        name = PREFIX + "outbox_oldest_pending_age_seconds"
        yield GaugeMetricFamily(
            name,
            DATABASE_METRICS[name],
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        )
        name = PREFIX + "imports_running"
        yield GaugeMetricFamily(name, DATABASE_METRICS[name], value=len(active))
        processed = GaugeMetricFamily(
            PREFIX + "import_processed_rows",
            DATABASE_METRICS[PREFIX + "import_processed_rows"],
            labels=["import_id"],
        )
        expected = GaugeMetricFamily(
            PREFIX + "import_expected_rows",
            DATABASE_METRICS[PREFIX + "import_expected_rows"],
            labels=["import_id"],
        )
        for pk, done, total in active:
            processed.add_metric([str(pk)], done)
            expected.add_metric([str(pk)], total)
        yield processed
        yield expected
        up.add_metric([], 1)
        yield up


# --- what /metrics serves ------------------------------------------------------------------------
def multiprocess_dir() -> str:
    """The shared directory when this deployment runs in multiprocess mode, else ""."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    return path if path and os.path.isdir(path) else ""


def registry() -> CollectorRegistry:
    """A registry for one scrape: every process's values (or this process's), plus the
    database's figures."""
    scrape = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        multiprocess.MultiProcessCollector(scrape, path=path)
    else:
        # This process alone, with its process_* and python_* metrics.
        scrape.register(REGISTRY)
    scrape.register(DatabaseCollector())
    return scrape


def exposition() -> tuple[bytes, str]:
    """(body, content type) of one scrape."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


# --- the multiprocess directory's housekeeping ---------------------------------------------------
def mark_process_dead(pid: int) -> None:
    """A process ended: its live gauges (calls in flight) stop counting. Its counters stay, so
    the deployment's totals do not go backwards while the others run."""
    path = multiprocess_dir()
    if path:
        multiprocess.mark_process_dead(process_identifier(pid), path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean_multiprocess_dir(path: str | None = None) -> int:
    """Remove the files of this host's processes that no longer run (the previous run's), as a
    start-up does; live processes' files, and other hosts' (containers sharing the volume), are
    kept. Their counters start again from zero, which Prometheus' rate() reads as a restart."""
    path = path or os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not path or not os.path.isdir(path):
        return 0
    host = _host()
    removed = 0
    for entry in os.scandir(path):
        match = re.fullmatch(r"[a-z]+(?:_[a-z]+)?_(.+)-(\d+)\.db", entry.name)
        if not match or match.group(1) != host or _alive(int(match.group(2))):
            continue
        try:
            os.remove(entry.path)
            removed += 1
        except FileNotFoundError:
            pass
    return removed
