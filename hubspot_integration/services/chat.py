"""The chat widget: which tracking script to load, and who the visitor is.

HubSpot's tracking script carries the chat widget. Its host follows the account's data-hosting
region (found by the connection check) unless an admin overrides the URL. For a logged-in customer
whose email is verified the panel mints a visitor-identification token (an unverified address
could be anyone's); tokens live 12 hours at HubSpot, so a cached one is
reused below that. HubSpot's refusals (403 on plans without the feature, a 401) are remembered for a
while too: the page then loads an anonymous widget without asking HubSpot again or logging again.
A momentary failure (the page renders' share of the rate window spent, a timeout, an outage) is
not: that page chats anonymously at once and the next one asks again.

A page whose markup carries a token is that customer's own: the tag marks the request, and
`PrivatePagesMiddleware` sends it with `Cache-Control: private`, so no shared cache keeps it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.cache import cache

from .. import errors, metrics
from ..conf import app_settings
from ..credentials import get_client
from ..models import HubSpotSettings
from .email_verification import verified_email

logger = logging.getLogger(__name__)

REGION_PATTERN = re.compile(r"^[a-z]{2}\d{1,2}$")
PORTAL_PATTERN = re.compile(r"^\d{1,20}$")


# Set on the request by the template tag when the page carries an identification token.
IDENTIFIED_ATTR = "hubspot_identified_visitor"


@dataclass(frozen=True)
class Identity:
    email: str
    token: str


@dataclass(frozen=True)
class Identification:
    identity: Identity | None
    # False after a momentary failure: nothing is remembered, the next page asks HubSpot again.
    settled: bool = True


def portal_id(s: HubSpotSettings) -> str:
    """The portal ID if it is digits (the model validates it; this guards rows written around it)."""
    value = str(s.portal_id or "").strip()
    return value if PORTAL_PATTERN.match(value) else ""


def region(s: HubSpotSettings) -> str:
    value = str(s.data_hosting_region or "").strip().lower()
    return value if REGION_PATTERN.match(value) else "na1"


def host_suffix(s: HubSpotSettings) -> str:
    """What HubSpot's hosts carry for the account's region: na1's are unsuffixed
    (js.hs-scripts.com, app.hubspot.com), the others' are js-eu1..., app-eu1..."""
    r = region(s)
    return "" if r == "na1" else f"-{r}"


def script_url(s: HubSpotSettings) -> str:
    """`https://js.hs-scripts.com/<portal>.js` for na1, `js-<region>.hs-scripts.com` elsewhere."""
    portal = portal_id(s)
    if not portal:
        return ""
    override = str(s.script_url_override or "").strip()
    if override:
        # Only an https URL naming a plain host may become a script source (and a CSP source):
        # never `javascript:`, `data:`, plain http or a URL with credentials. Who may set which
        # host is the model's validation (validate_script_url_override).
        if script_host(override):
            return override
        logger.warning("Ignoring the tracking script URL override: it is not a plain https URL")
    return f"https://js{host_suffix(s)}.hs-scripts.com/{portal}.js"


def script_host(url: str) -> str:
    """`host` or `host:port` of an https URL without credentials, else "": what the CSP allows."""
    try:
        parts = urlsplit(str(url or "").strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    if parts.scheme != "https" or not host or parts.username or parts.password:
        return ""
    if not re.fullmatch(r"[a-z0-9.-]+", host):
        return ""  # an IPv6 literal or stray characters: never a CSP source of ours
    return f"{host}:{port}" if port else host


def chat_active(s: HubSpotSettings) -> bool:
    return bool(s.enabled and s.chat_enabled and script_url(s))


def _identity_key(user, email: str) -> str:
    # The email is part of the key: a customer who changes it gets a token for the new address.
    digest = hashlib.sha256(email.encode()).hexdigest()[:16]
    return f"hubspot:chat:identity:{user.pk}:{digest}"


def visitor(user) -> tuple[int, str] | None:
    """(user ID, email) for a logged-in customer whose email is verified: whom the widget can
    identify. An unverified address could be anyone's, so its owner chats anonymously."""
    if user is None or not user.is_authenticated:
        return None
    email = verified_email(user)
    return (user.pk, email) if email else None


def identify(user, s: HubSpotSettings | None = None) -> Identity | None:
    """A visitor-identification token for a verified customer, or None (anonymous widget)."""
    return identification(user, s).identity


def identification(user, s: HubSpotSettings | None = None) -> Identification:
    """The customer's identity and whether it is settled (a token, or a refusal remembered).

    At most one HubSpot call per user per cache window while HubSpot answers; after a momentary
    failure, one per page until it does."""
    who = visitor(user)
    if who is None:
        return Identification(None)
    email = who[1]
    s = s or HubSpotSettings.load()
    if not chat_active(s):
        return Identification(None)
    key = _identity_key(user, email)
    cached = cache.get(key)
    metrics.identification_cache(hit=cached is not None)
    if cached is not None:
        return Identification(Identity(email, cached["token"]) if cached.get("token") else None)
    try:
        # A page render spends from the renders' share of the rate window and never waits for
        # it (ratelimit.py): a spent share is a momentary failure like the others below.
        token = get_client(s, max_wait=app_settings.CHAT_RENDER_MAX_WAIT).visitor_token(
            email,
            first_name=getattr(user, "first_name", "") or "",
            last_name=getattr(user, "last_name", "") or "",
            page_render=True,
        )
    except errors.HubSpotError as err:
        if err.transient:
            # No room in the limiter this instant, a timeout, an outage: nothing HubSpot decided.
            # A spent share (policy LOCAL) is routine in a login burst and counted in the
            # metrics (identification_deferred): one info line per page would flood the log.
            local = isinstance(err, errors.RateLimited) and err.policy == "LOCAL"
            logger.log(
                logging.DEBUG if local else logging.INFO,
                "Chat visitor identification for user %s did not happen (%s); the widget loads "
                "anonymously on this page and the next page tries again",
                user.pk,
                err.kind,
            )
            return Identification(None, settled=False)
        ttl = (
            app_settings.CHAT_FORBIDDEN_TTL
            if isinstance(err, errors.ForbiddenError)
            else app_settings.CHAT_FAILURE_TTL
        )
        cache.set(key, {"token": ""}, ttl)
        logger.warning(
            "Chat visitor identification failed for user %s (%s); the widget loads anonymously "
            "for the next %d minutes",
            user.pk,
            err.kind,
            ttl // 60,
        )
        return Identification(None)
    cache.set(key, {"token": token}, app_settings.CHAT_TOKEN_TTL)
    return Identification(Identity(email, token))


def public_config(s: HubSpotSettings | None = None) -> dict:
    """What a browser may know: never the token, the webhook secret or the region details."""
    s = s or HubSpotSettings.load()
    enabled = bool(s.enabled and portal_id(s))
    return {
        "enabled": enabled,
        "chatEnabled": bool(enabled and chat_active(s)),
        "portalId": portal_id(s) if enabled else "",
        "scriptUrl": script_url(s) if enabled and chat_active(s) else "",
        "ticketEnabled": bool(enabled and s.tickets_enabled),
        "ticketFormId": (s.ticket_form_id or "") if enabled else "",
        "contactFormId": (s.contact_form_id or "") if enabled else "",
    }
