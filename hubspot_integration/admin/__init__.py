"""The HubSpot pages of the Django admin, one module each; each object type's pages come from its
package (`crm.registry.PACKAGES`)."""

from django.contrib import admin

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

# The admin index shows the connection watch's banner; a project that set its own index template
# keeps it (and can add `{% load hubspot_admin %}{% connection_banner %}` to it).
if admin.site.index_template is None:
    admin.site.index_template = "admin/hubspot_integration/index.html"
