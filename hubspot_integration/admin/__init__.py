"""The HubSpot pages of the Django admin, one module each; each object type's pages come from its
package (`crm.registry.PACKAGES`)."""

from ..crm import registry
from . import (  # noqa: F401
    audit,
    customer_tickets,
    dashboard,
    imports,
    outbox,
    settings,
    users,
)

registry.modules("admin")
