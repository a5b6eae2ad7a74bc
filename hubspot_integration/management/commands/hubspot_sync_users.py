"""`manage.py hubspot_sync_users`: send the existing customers to HubSpot as contacts.

Customers whose address is confirmed and who are not linked to a contact yet (`--all`: every
confirmed customer again) are upserted by email, 100 a call, through the outbox. Exit status: 0
every user went in, 1 some were refused or are still queued (or HubSpot is not configured).
"""

import sys

from django.core.management.base import BaseCommand

from ... import errors
from ...models import HubSpotSettings
from ...services import imports, user_sync
from ..progress import progress_bar


class Command(BaseCommand):
    help = "Upsert the site's confirmed customers to HubSpot contacts (by email, batches of 100)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="also the users already linked to a contact"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only count the users that would be sent"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, dry_run, no_progress, **options):
        user_ids = list(
            user_sync.backfill_candidates(everyone=options["all"]).values_list("pk", flat=True)
        )
        if dry_run:
            self.stdout.write(f"Would send {len(user_ids)} users; nothing was sent.")
            return
        try:
            imports.ensure_configured()
        except errors.HubSpotError as err:
            self.stderr.write(self.style.ERROR(f"Nothing was sent: {err}"))
            sys.exit(1)
        if not HubSpotSettings.load().user_sync_enabled:
            self.stderr.write(
                self.style.ERROR(
                    "Nothing was sent: “send site users to HubSpot” is off in the HubSpot settings."
                )
            )
            sys.exit(1)
        # On a terminal only (None), unless switched off: a cron job's log gets the summary alone.
        bar = progress_bar(
            self, total=len(user_ids), unit="user", desc="Syncing", disable=no_progress or None
        )
        try:
            summary = user_sync.backfill(user_ids, progress=bar.update)
        finally:
            bar.close()
        self.stdout.write(f"Users: {len(user_ids)}. {str(summary).capitalize()}.")
        if summary.queued:
            self.stdout.write(
                f"Queued: {summary.queued} users could not reach HubSpot yet; the worker will "
                "send them when it is reachable."
            )
        if summary.refused:
            self.stdout.write(
                f"Refused: {summary.refused} users; HubSpot's reasons are on their rows in "
                "the HubSpot outbox."
            )
        style = self.style.SUCCESS if summary.complete else self.style.WARNING
        self.stdout.write(
            style("Every user went in." if summary.complete else "Not every user went in.")
        )
        if not summary.complete:
            sys.exit(1)
