"""The HubSpot pages of the Django admin, one module each."""

from . import (  # noqa: F401
    audit,
    contacts,
    customer_tickets,
    dashboard,
    imports,  # noqa: F401
    outbox,
    settings,
    tickets,
    users,
)
