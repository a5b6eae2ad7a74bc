"""The Content-Security-Policy allows exactly the HubSpot hosts the enabled features need.

The base policy (settings `CONTENT_SECURITY_POLICY`) allows our own origin only. For an HTML page,
the middleware reads the settings (from the cache, no SQL once warm) and adds:

- tracking code and chat (HubSpot enabled with chat on): the region's `hs-scripts.com` loader and
  the scripts it pulls in (analytics, cookie banner, collected forms, the chat's usemessages.com),
  the chat iframe on `app[-region].hubspot.com`, and the API and tracking-pixel hosts they call;
- embedded HubSpot forms (a ticket or contact form ID set): `hsforms.net` and `hsforms.com`.

A feature that is off adds nothing. HubSpot publishes no single table of these hosts; the list
follows HubSpot's knowledge-base article on CSP and what the loaders fetch, and
`HUBSPOT_CSP_EXTRA` (settings) takes additions without a code change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from csp.constants import NONCE
from csp.middleware import CSPMiddleware, PolicyParts
from csp.utils import default_config
from django.conf import settings

from .conf import app_settings

logger = logging.getLogger(__name__)


def hubspot_sources(s) -> dict[str, list[str]]:
    """Directive -> HubSpot hosts for the features switched on in settings `s`."""
    sources: dict[str, list[str]] = {}

    def add(directive: str, *hosts: str) -> None:
        bucket = sources.setdefault(directive, [])
        bucket.extend(h for h in hosts if h not in bucket)

    if not getattr(s, "enabled", False) or not getattr(s, "portal_id", ""):
        return sources
    from .services import chat

    # The region comes from HubSpot's answer to the connection check; only a well-formed one
    # (eu1, na2, ...) becomes part of a host name here, as in the script URL.
    sfx = chat.host_suffix(s)
    if getattr(s, "chat_enabled", False):
        # Exactly the host the page loads the tracking script from (an override the page would
        # ignore adds nothing), so the policy and the markup never disagree.
        loader = chat.script_host(chat.script_url(s)) or f"js{sfx}.hs-scripts.com"
        add(
            "script-src",
            loader,
            "js.hs-scripts.com",
            f"js{sfx}.hs-analytics.net",
            f"js{sfx}.hs-banner.com",
            f"js{sfx}.hscollectedforms.net",
            f"js{sfx}.usemessages.com",
        )
        add("frame-src", f"app{sfx}.hubspot.com")
        add(
            "connect-src",
            f"api{sfx}.hubspot.com",
            f"forms{sfx}.hubspot.com",
            f"forms{sfx}.hscollectedforms.net",
            f"js{sfx}.hs-banner.com",
            f"api{sfx}.hubapi.com",
            "*.usemessages.com",
        )
        add("img-src", f"track{sfx}.hubspot.com", f"forms{sfx}.hubspot.com", "*.hubspot.com")
        add("font-src", "*.usemessages.com", "*.hubspot.com")
    if getattr(s, "ticket_form_id", "") or getattr(s, "contact_form_id", ""):
        add("script-src", f"js{sfx}.hsforms.net", "js.hsforms.net")
        add("frame-src", f"forms{sfx}.hsforms.com", f"share{sfx}.hsforms.com")
        add("connect-src", f"forms{sfx}.hsforms.com", f"forms{sfx}.hubspot.com")
        add("img-src", f"forms{sfx}.hsforms.com", f"forms{sfx}.hubspot.com")
    for directive, hosts in app_settings.CSP_EXTRA.items():
        if sources:
            add(directive, *hosts)
    return sources


def policy_replacements(base: dict, s) -> dict[str, list[str]]:
    """The directives to replace in the base policy: base values plus the HubSpot hosts
    ('none' dropped where a host is added, since 'none' must stand alone)."""
    replace = {}
    for directive, hosts in hubspot_sources(s).items():
        values = [
            v for v in (base.get(directive) or base.get("default-src") or []) if v != "'none'"
        ]
        replace[directive] = values + [h for h in hosts if h not in values]
    return replace


def _policy_for(s) -> FrozenPolicy | None:
    """The whole policy of an HTML page for settings `s` (the base policy with the HubSpot hosts
    of the enabled features), computed once per settings version: a page then pays a dictionary
    lookup, not the host arithmetic. None when no base policy is configured."""
    key = (
        s.updated_at,
        s.enabled,
        s.portal_id,
        s.data_hosting_region,
        s.chat_enabled,
        s.script_url_override,
        s.ticket_form_id,
        s.contact_form_id,
    )
    if key in _policy_memo:
        return _policy_memo[key]
    configured = getattr(settings, "CONTENT_SECURITY_POLICY", None)
    policy = None
    if configured:
        base = default_config(configured.get("DIRECTIVES", {}))
        merged = {**base, **policy_replacements(base, s)}
        policy = FrozenPolicy({d: _packed(v) for d, v in merged.items() if v is not None})
    if len(_policy_memo) >= 64:
        _policy_memo.clear()  # old settings versions: never read again
    _policy_memo[key] = policy
    return policy


class FrozenPolicy(Mapping):
    """A policy no one changes: a copy of it is itself, as for a tuple. django-csp deep-copies the
    policy parts of every response (`dataclasses.asdict`); the memoised policy skips that."""

    __slots__ = ("_directives",)

    def __init__(self, directives: dict) -> None:
        self._directives = dict(directives)

    def __getitem__(self, directive: str):
        return self._directives[directive]

    def __iter__(self):
        return iter(self._directives)

    def __len__(self) -> int:
        return len(self._directives)

    def __copy__(self) -> FrozenPolicy:
        return self

    def __deepcopy__(self, memo) -> FrozenPolicy:
        return self


def _packed(values) -> tuple:
    """A directive's sources joined into one string (the nonce placeholder and boolean values
    kept apart: django-csp fills in the nonce per response). django-csp deep-copies the policy
    and dedupes every source on each response; one string per directive makes that a few steps
    instead of dozens, and the header comes out the same."""
    if isinstance(values, set):
        values = sorted(values)
    elif not isinstance(values, (list, tuple)):
        values = [values]
    plain = [v for v in dict.fromkeys(values) if isinstance(v, str) and v is not NONCE]
    rest = [v for v in values if not (isinstance(v, str) and v is not NONCE)]
    return (" ".join(plain), *rest) if plain else tuple(rest)


# Settings version -> policy. Holds only the policy's public host names.
_policy_memo: dict[tuple, FrozenPolicy | None] = {}


def forget_policies(*, setting: str, **kwargs) -> None:
    """Connected to `setting_changed` (receivers.py)."""
    # The base policy and HUBSPOT_CSP_EXTRA come from Django settings, which tests override.
    if setting in ("CONTENT_SECURITY_POLICY", "HUBSPOT_CSP_EXTRA"):
        _policy_memo.clear()


class HubSpotCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the HubSpot hosts of the enabled features on HTML pages."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if report_only or parts.config is not None:
            return parts  # a view that set its own policy keeps it
        if "text/html" not in response.get("Content-Type", ""):
            return parts
        try:
            from .models import HubSpotSettings

            s = HubSpotSettings.load()
        except Exception:  # never break a page over its CSP: the base policy is the safe default
            logger.warning("CSP: could not read the HubSpot settings; base policy only")
            return parts
        # A view's own csp_update / csp_replace still apply on top (django-csp merges them).
        parts.config = _policy_for(s)
        return parts
