"""`/metrics`: Prometheus' scrape of the whole deployment (hubspot_integration/metrics.py).

Not a page of any role: Prometheus has no session. A scrape gets in with `Authorization: Bearer
<METRICS_TOKEN>`, or from an address (or CIDR range) in `METRICS_ALLOWED_IPS`, the client address
as `client_address` sees it behind TRUSTED_PROXY_COUNT proxies. Neither configured: refused, so
a deployment never publishes its figures by forgetting a setting. Every refusal is the same 403,
so a scanner learns nothing about which gate is set up.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import metrics
from ..client_address import client_address

logger = logging.getLogger(__name__)

REFUSED = "Metrics are served only with the metrics token or to an allowed address.\n"


@functools.lru_cache(maxsize=8)
def allowed_networks(entries: tuple[str, ...]) -> tuple:
    """`METRICS_ALLOWED_IPS` as networks; an entry that is neither an address nor a range is
    left out (the system check hubspot.E012 names it at start-up)."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _token_matches(request, token: str) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, offered = header.partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        return False
    return hmac.compare_digest(offered.strip().encode(), token.encode())


def _address_allowed(request, entries: tuple[str, ...]) -> bool:
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:  # "::ffff:10.0.0.5" is 10.0.0.5
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in allowed_networks(entries))


def scrape_allowed(request) -> bool:
    token = str(getattr(settings, "METRICS_TOKEN", "") or "")
    entries = tuple(str(e) for e in getattr(settings, "METRICS_ALLOWED_IPS", None) or ())
    if token and _token_matches(request, token):
        return True
    return bool(entries) and _address_allowed(request, entries)


@never_cache
@require_GET
def metrics_view(request):
    if not scrape_allowed(request):
        # The header is never logged: the token (right or wrong) is a secret either way.
        logger.info("Refused a /metrics scrape from %s", client_address(request) or "?")
        return HttpResponse(REFUSED, status=403, content_type="text/plain; charset=utf-8")
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
