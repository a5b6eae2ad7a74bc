"""`manage.py hubspot_sweep [--loop]`: find and do every kind of background work that is due.

The task queue delivers work at once and retries at their backoff; this sweep is the safety net
that makes the rows, not the queue, the source of truth. It sends due outbox operations (and those a
dead worker held), applies webhook events left unapplied, sends ticket emails still owed, reads on
imports whose worker died, marks task results a dead worker left "running", purges finished
records past their retention days, and runs the connection check when one is due
(services/sweep.py). One is enough; more are safe.
"""

import time

from django.core.management.base import BaseCommand

from ...models import OutboxOperation
from ...services.sweep import sweep


class Command(BaseCommand):
    help = (
        "Do the HubSpot background work that is due: outbox operations, webhook events, ticket "
        "emails, stalled imports, abandoned task results, retention purge (once, or every "
        "--interval seconds with --loop)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep sweeping until stopped")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="seconds to wait after an idle round"
        )

    def handle(self, *args, **options):
        while True:
            done = sweep()
            if done.total or options["verbosity"] > 1:
                pending = OutboxOperation.objects.filter(status="pending").count()
                self.stdout.write(
                    f"processed {done.outbox}; {pending} pending "
                    f"(webhook events {done.webhook_events}, imports {done.imports}, "
                    f"abandoned tasks {done.task_results}, purged {done.purged})"
                )
            if not options["loop"]:
                return
            if not done.total:
                time.sleep(options["interval"])
