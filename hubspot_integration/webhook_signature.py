"""HubSpot's v3 webhook signature, in a module without Django models or settings: the receiver
checks deliveries with it, and the smoke test and the tests sign their deliveries with it."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.views.decorators.debug import sensitive_variables


@sensitive_variables("secret", "digest")
def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, method + uri + body + timestamp)), `uri` as HubSpot signed it."""
    source = method.encode() + uri.encode() + body + str(timestamp).encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
