"""HubSpot companies: the shared CRM service; a domain is stored as HubSpot matches it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ..crm.service import CrmService
from . import OBJECT_TYPE

# A host name: labels of letters, digits and hyphens, a dot between them, a letter-only TLD.
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](-*[a-z0-9])*\.)+[a-z]{2,63}$")


def clean_domain(value: str) -> str:
    """ "https://www.Example.com/about" -> "example.com": HubSpot links contacts to a company by
    the bare domain of their email, so that is what it must hold."""
    text = value.strip().lower()
    try:
        host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    except ValueError:  # "[" and the like: not a URL at all ("Invalid IPv6 URL")
        host = ""
    host = host.removeprefix("www.")
    if not DOMAIN.match(host):
        raise ValidationError(
            {"domain": _("%(value)r is not a domain name like example.com.") % {"value": value}}
        )
    return host


class CompanyService(CrmService):
    def clean_value(self, name: str, value: str) -> str:
        return clean_domain(value) if name == "domain" and value else value


service = CompanyService(OBJECT_TYPE, property_group="companyinformation")

OUTBOX_HANDLERS = service.outbox_handlers()
