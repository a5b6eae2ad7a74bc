"""`manage.py hubspot_import_contacts FILE`: import contacts from a CSV, with a progress bar.

Exit status: 0 every row went in, 1 some rows were rejected, failed or are still queued (or HubSpot
is not configured), 2 the file cannot be read.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from ... import errors
from ...conf import app_settings
from ...services import imports
from ...services.import_csv import count_rows
from ..progress import progress_bar


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file into HubSpot (upsert by email, batches of 100; a file "
        "above the settings' threshold goes to HubSpot's imports API in one upload)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with a header line: email,firstname,lastname,...")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=imports.BATCH_SIZE,
            help="contacts per HubSpot call, 1 to 100 (default 100)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, file, batch_size, no_progress, **options):
        if not 1 <= batch_size <= imports.BATCH_SIZE:
            raise CommandError("--batch-size must be between 1 and 100.", returncode=2)
        try:
            total = count_rows(file)
        except imports.ImportFileError as err:
            self.stderr.write(self.style.ERROR(str(err)))
            sys.exit(2)
        try:
            imports.ensure_configured()
        except errors.HubSpotError as err:
            self.stderr.write(self.style.ERROR(f"Nothing was imported: {err}"))
            sys.exit(1)
        contact_import = imports.start_import(file.rsplit("/", 1)[-1])
        bar = progress_bar(self, total=total, unit="row", desc="Importing", disable=no_progress)
        try:
            # A big file goes to HubSpot's imports API: this command waits for HubSpot's verdict.
            result = imports.run_import(
                contact_import,
                file,
                batch_size=batch_size,
                progress=bar.update,
                wait_for_hubspot=True,
            )
        except imports.ImportFileError as err:
            bar.close()
            self.stderr.write(self.style.ERROR(str(err)))
            sys.exit(2)
        except errors.HubSpotError as err:
            bar.close()
            self.stderr.write(self.style.ERROR(f"Nothing was imported: {err}"))
            sys.exit(1)
        bar.close()
        self._report(result, contact_import.pk)
        if not result.complete:
            sys.exit(1)

    def _report(self, result: imports.Summary, import_id: int) -> None:
        out = self.stdout
        if result.note:
            out.write(result.note)
        if result.ignored_columns:
            out.write("Ignored columns: " + ", ".join(result.ignored_columns))
        for error in result.errors[: app_settings.IMPORT_SHOWN_ERRORS]:
            out.write(f"line {error['line']}: {error['reason']}")
        more = (
            result.rejected
            + result.failed
            - min(len(result.errors), app_settings.IMPORT_SHOWN_ERRORS)
        )
        if more > 0:
            out.write(f"... and {more} more (see import #{import_id} in the admin)")
        out.write(
            f"Rows: {result.total}. Created: {result.created}, updated: {result.updated}, "
            f"rejected: {result.rejected}, failed: {result.failed}."
        )
        if result.queued:
            out.write(
                f"Queued: {result.queued} rows could not reach HubSpot yet; the worker will "
                "send them when it is reachable."
            )
        style = self.style.SUCCESS if result.complete else self.style.WARNING
        out.write(style("Every row went in." if result.complete else "Not every row went in."))
