"""The HubSpot pages of the Django admin, one module each."""

from . import audit, settings  # noqa: F401
