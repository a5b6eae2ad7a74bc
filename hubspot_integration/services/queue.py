"""Handing work to the task queue, where the rows (not the queue) are the record of what is due.

A queue that is down must neither fail nor lose the person's action: the row is already stored and
the sweep (`manage.py hubspot_sweep`) finds it. So a failed enqueue is logged once, saying what
will pick the work up, and the caller carries on.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

SWEEP_RETRIES = "the sweep will retry it"


def enqueue(task, *args, what: str, fallback: str = SWEEP_RETRIES, run_after=None) -> bool:
    """Enqueue `task(*args)`; False (and one warning naming `what` and `fallback`) when the queue
    refused. Never raises."""
    try:
        (task.using(run_after=run_after) if run_after else task).enqueue(*args)
    except Exception as err:  # any backend's failure: the caller's row stays the truth
        logger.warning("Could not queue %s (%s: %s); %s", what, type(err).__name__, err, fallback)
        return False
    return True
