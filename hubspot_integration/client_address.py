"""The visitor's address: the one function every throttle, lock-out and log line asks.

Behind `TRUSTED_PROXY_COUNT` proxies, each appending the address it saw to X-Forwarded-For, the
client is the entry that many places from the right (the one the outermost trusted proxy saw).
Entries further left were written by the client and are never believed. With no trusted proxy, a
header shorter than the count or an entry that is not an IP address, the socket's peer address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _ip(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request) -> str:
    """The client's IP address as text ("" when even the socket's peer is unknown)."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    return _ip(forwarded[-count]) or remote
