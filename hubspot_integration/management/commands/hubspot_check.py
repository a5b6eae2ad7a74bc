"""`manage.py hubspot_check`: the connection check on the command line; exit 1 when it fails."""

import json

from django.core.management.base import BaseCommand, CommandError

from ...models import HubSpotSettings
from ...services.connection import check_connection


class Command(BaseCommand):
    help = "Test the HubSpot connection with the stored settings. Exit status 0 healthy, 1 not."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        s = HubSpotSettings.load()
        if s.undecryptable_fields and not options["json"]:
            # One line, no report: nothing else can be judged before the key is sorted out.
            raise CommandError(s.undecryptable_message())
        report = check_connection(s)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            for check in report.checks:
                mark = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
                self.stdout.write(f"{mark} {check.name:<12} {check.message}")
            style = self.style.SUCCESS if report.success else self.style.ERROR
            self.stdout.write(style(report.message))
        if not report.success:
            raise SystemExit(1)
