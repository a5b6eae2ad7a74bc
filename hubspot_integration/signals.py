"""Signals other parts of the app listen to, so the outbox knows nothing about them."""

from django.dispatch import Signal

# Sent with `operation` after an outbox operation succeeded in HubSpot.
operation_succeeded = Signal()

# Sent with `operation` once an outbox operation is marked failed (permanent, or out of attempts).
operation_failed = Signal()
