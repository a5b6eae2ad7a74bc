"""`manage.py hubspot_outbox [--loop]`: the sweep's older name, kept so existing deployments and
scripts go on working. It is `hubspot_sweep` (every kind of due work, not only the outbox)."""

from .hubspot_sweep import Command as SweepCommand


class Command(SweepCommand):
    help = "The same as hubspot_sweep (its older name): " + SweepCommand.help
