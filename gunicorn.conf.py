"""gunicorn settings for SkyPanel: `gunicorn -c gunicorn.conf.py skypanel.wsgi`.

Everything is read from the environment, so one file serves a laptop, a container and a VM.
Access and error logs go through Django's LOGGING (same format, LOG_FORMAT=json included, and the
filter that redacts tokens), not gunicorn's own handlers.
"""

import copy
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skypanel.settings")
# Metrics in multiprocess mode (hubspot_integration/metrics.py): set before anything imports
# prometheus_client, so the master and every worker it forks write to the shared directory and a
# scrape answered by any worker counts them all. The previous run's files are removed first.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "var", "metrics"),
)
from hubspot_integration import metrics as _metrics  # noqa: E402

_metrics.clean_multiprocess_dir()

bind = (
    os.environ.get("GUNICORN_BIND")
    or f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - containers publish the port; a proxy fronts it
)
workers = int(os.environ.get("WEB_CONCURRENCY") or min(multiprocessing.cpu_count() * 2 + 1, 8))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# HubSpot calls have a 10 s read timeout; a request waiting on one must not be killed first.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then: bounds the damage of a slow leak in any library. Not often: a new
# worker's first requests pay for its connections and caches (~0.4 s), and at 2,000 it happened
# every few seconds under bench/load.py, which put the p99 at 400 ms instead of 13 ms.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "2000"))
# The proxy in front (nginx, a load balancer) is who sets X-Forwarded-*; trust it by address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "skypanel"
# Load the app before forking: a broken configuration fails once, loudly, in the master.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in ("1", "true", "yes")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


def _logging_from_django():
    from django.conf import settings

    config = copy.deepcopy(settings.LOGGING)
    loggers = config.setdefault("loggers", {})
    for name in ("gunicorn.error", "gunicorn.access"):
        loggers[name] = {"handlers": ["console"], "level": "INFO", "propagate": False}
    return config


logconfig_dict = _logging_from_django()


def post_fork(server, worker):
    # Connections opened by preload_app in the master must not be shared by the children.
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()


def child_exit(server, worker):
    # A worker that ended (recycled by max_requests, killed by the timeout) has no calls in
    # flight any more; its counters stay in the totals.
    _metrics.mark_process_dead(worker.pid)
