"""`manage.py hubspot_health`: the /api/health checks on the command line; exit 1 on a failure."""

from django.core.management.base import BaseCommand, CommandError

from ...health import registry


class Command(BaseCommand):
    help = "Run the health checks (/api/health) and print each; exit 1 if any fails."

    def handle(self, *args, **options):
        statuses = registry.statuses()
        width = max((len(name) for name in statuses), default=0)
        for name, status in statuses.items():
            label = self.style.SUCCESS("OK   ") if status.ok else self.style.ERROR("ERROR")
            self.stdout.write(f"{name:<{width}}  {label}  {status.message}")
        failed = [name for name, status in statuses.items() if not status.ok]
        if failed:
            raise CommandError("Unhealthy: " + ", ".join(failed) + ".")
