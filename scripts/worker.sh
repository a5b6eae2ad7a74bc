#!/bin/sh
# The task worker for the configured TASK_BACKEND: RQ on Redis (run as many as you like, on as
# many machines), or the database worker (the embedded default).
set -e
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
# Metrics in multiprocess mode: the same directory as gunicorn's, so /metrics counts the calls
# this worker makes (hubspot_integration/metrics.py).
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/metrics}"
case "${TASK_BACKEND:-database}" in
  rq)
    # django-tasks-rq needs its Job class; --with-scheduler moves retries with a `run_after` onto
    # the queue when due (RQ elects one scheduler among all workers, so every worker may ask).
    exec "$PY" manage.py rqworker default --job-class django_tasks_rq.Job --with-scheduler "$@" ;;
  database)
    exec "$PY" manage.py db_worker "$@" ;;
  *)
    echo "TASK_BACKEND=${TASK_BACKEND} runs tasks in the web process; no worker needed" >&2
    exec sleep infinity ;;
esac
