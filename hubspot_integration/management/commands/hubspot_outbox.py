"""`manage.py hubspot_outbox [--loop]`: deliver due outbox operations.

The task queue delivers retries at their backoff; this sweep is the safety net that makes the
outbox, not the queue, the source of truth: a lost enqueue or a worker killed mid-call is found here.
"""

import time

from django.core.management.base import BaseCommand

from ...models import OutboxOperation
from ...services.outbox import process_due


class Command(BaseCommand):
    help = "Send due HubSpot outbox operations (once, or every --interval seconds with --loop)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args, **options):
        while True:
            sent = process_due()
            if sent or options["verbosity"] > 1:
                pending = OutboxOperation.objects.filter(status="pending").count()
                self.stdout.write(f"processed {sent}; {pending} pending")
            if not options["loop"]:
                return
            if not sent:
                time.sleep(options["interval"])
