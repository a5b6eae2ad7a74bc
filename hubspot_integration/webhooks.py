"""The HubSpot webhook receiver: verify the v3 signature, record each event once, answer fast.

HubSpot signs `method + uri + body + timestamp` with the app's client secret (HMAC-SHA256, base64).
The URI is the one HubSpot called, which behind a proxy is not the one Django's socket saw: it is
rebuilt with `request.build_absolute_uri()`, which honours `USE_X_FORWARDED_HOST` and
`SECURE_PROXY_SSL_HEADER` when the deployment sits behind a proxy that sets them.
Applying the events to the local tickets happens in a background task (tasks.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from urllib.parse import unquote

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from . import errors, metrics
from .client_address import client_address
from .conf import app_settings
from .fields import Undecryptable
from .models import HubSpotSettings, WebhookEvent
from .services import queue
from .webhook_signature import sign_v3

logger = logging.getLogger(__name__)

MAX_AGE_MS = 5 * 60 * 1000
# Milliseconds since 1970 in ASCII digits: 13 today. `str.isdigit()` also accepts "²" and "١٢٣",
# and `int()` refuses more than 4,300 digits, so either reached int() as a 500.
TIMESTAMP = re.compile(r"[0-9]{1,15}")
# HubSpot decodes these escapes in the URI before signing; everything else stays as sent.
DECODED_ESCAPES = (
    "%3A",
    "%2F",
    "%3F",
    "%40",
    "%21",
    "%24",
    "%27",
    "%28",
    "%29",
    "%2A",
    "%2C",
    "%3B",
)


def signed_uri(uri: str) -> str:
    for escape in DECODED_ESCAPES:
        for variant in (escape, escape.lower()):
            uri = uri.replace(variant, unquote(escape))
    return uri


@sensitive_variables("secret")
def expected_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    return sign_v3(secret, method, signed_uri(uri), body, timestamp)


class Refused(errors.PanelError):
    """A delivery the receiver will not take; its class says with which status."""

    kind = "webhook_refused"
    status_code = 400
    default_message = "webhook refused"

    @property
    def reason(self) -> str:
        return self.message


class NoSecret(Refused, ImproperlyConfigured):
    kind = "webhook_not_configured"
    status_code = 503  # the panel cannot check any delivery yet; HubSpot retries later
    default_message = "no webhook secret is configured"


class BadSignature(Refused, SuspiciousOperation):
    kind = "webhook_signature"
    status_code = 401
    default_message = "signature mismatch"


class Replayed(Refused, SuspiciousOperation):
    kind = "webhook_replayed"
    status_code = 409
    default_message = "replayed delivery"


class BadBody(Refused, SuspiciousOperation):
    kind = "webhook_body"
    status_code = 400
    default_message = "body is not a list of events"


@sensitive_variables("secret", "signature", "expected")
def verify(request, secret: str, *, now_ms: int | None = None) -> None:
    """Raise a Refused unless the request carries a fresh, valid, first-seen v3 signature."""
    if isinstance(secret, Undecryptable):
        # 503, not 401: HubSpot retries the delivery, which succeeds once the key is restored.
        raise NoSecret("the stored webhook secret cannot be decrypted (HUBSPOT_ENCRYPTION_KEYS)")
    if not secret:
        raise NoSecret()
    signature = request.headers.get("X-HubSpot-Signature-v3", "")
    timestamp = request.headers.get("X-HubSpot-Request-Timestamp", "")
    if not signature or not timestamp:
        raise BadSignature("missing signature or timestamp")
    if not TIMESTAMP.fullmatch(timestamp):
        raise BadSignature("the timestamp is not a number of milliseconds")
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    if abs(now_ms - int(timestamp)) > MAX_AGE_MS:
        raise BadSignature("stale timestamp")
    expected = expected_signature(
        secret, request.method, request.build_absolute_uri(), request.body, timestamp
    )
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise BadSignature("signature mismatch")
    # The same signed delivery sent again inside the 5-minute window is a replay: HubSpot's own
    # retries are new requests with a new timestamp, hence a new signature.
    seen_key = "hubspot:webhook:seen:" + hashlib.sha256(signature.encode()).hexdigest()
    if not cache.add(seen_key, 1, timeout=MAX_AGE_MS // 1000 * 2):
        raise Replayed("replayed delivery")


def _events(body: bytes) -> list[dict]:
    try:
        data = json.loads(body or b"[]")
    except ValueError:
        raise BadBody("body is not JSON") from None
    except RecursionError:
        raise BadBody("body is nested too deeply") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise BadBody("body is not a list of events")
    return data


def record_events(events: list[dict]) -> list[int]:
    """Store the events not seen before; the unique event ID makes a redelivery a no-op."""
    new_ids = []
    for event in events:
        event_id = str(event.get("eventId") or "").strip()
        if not event_id:
            continue
        try:
            with transaction.atomic():
                row = WebhookEvent.objects.create(
                    event_id=event_id[:64],
                    subscription_type=str(event.get("subscriptionType") or "")[:64],
                    object_id=str(event.get("objectId") or "")[:32],
                    payload=event,
                )
        except IntegrityError:
            continue  # a redelivery: its lag is HubSpot's retry schedule, not delivery
        metrics.webhook_received(event.get("occurredAt"))
        new_ids.append(row.pk)
    return new_ids


@csrf_exempt  # HubSpot cannot hold a CSRF token; the signature authenticates the request
@require_POST
def receive(request):
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # The declared length first: a body over the limit is refused before it is read.
    if (
        declared > app_settings.WEBHOOK_MAX_BODY_BYTES
        or len(request.body) > app_settings.WEBHOOK_MAX_BODY_BYTES
    ):
        return JsonResponse({"success": False, "message": "Too large."}, status=413)
    try:
        verify(request, HubSpotSettings.load().webhook_secret)
        events = _events(request.body)
    except Refused as refusal:
        logger.warning(
            "Refused a HubSpot webhook delivery from %s: %s",
            client_address(request) or "?",
            refusal.reason,
        )
        return JsonResponse(
            {"success": False, "message": "Webhook refused."}, status=refusal.status_code
        )
    new_ids = record_events(events)
    if new_ids:
        transaction.on_commit(_enqueue)
    return HttpResponse(status=204)


def _enqueue() -> None:
    # The rows are the truth: the sweep applies events left unapplied past a grace period.
    queue.enqueue(
        queue.PROCESS_WEBHOOK_EVENTS,
        what="the new webhook events",
        fallback="the sweep will apply them within a minute or two",
    )
