"""`{% hubspot_tracking %}` (tracking script and chat widget) and `{% hubspot_form "contact" %}`.

Every value reaches the page through Django's escaping or `json_script`, so no settings value can
inject markup. With the settings cache warm and an anonymous visitor, rendering costs no SQL and no
HubSpot call.
"""

import math
import time

from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html, json_script
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from ..conf import app_settings
from ..models import HubSpotSettings
from ..services import chat, consent
from ..services.money import format_money

register = template.Library()


@register.filter
def money(value, code=""):
    """`{{ amount|money:currency }}`: "€1,234.50" (`services/money.py`)."""
    return format_money(value, code)


FORMS_EMBED_URL = "https://js.hsforms.net/forms/embed/v2.js"
CONSENT_COOKIE = "skypanel_consent"


@register.simple_tag(takes_context=True)
def hubspot_tracking(context) -> str:
    s = HubSpotSettings.load()
    if not chat.chat_active(s):
        return ""
    request = context.get("request")
    user = getattr(request, "user", None)
    visitor = chat.visitor(user)
    clear_identity = bool(context.get("hubspot_clear_identity"))
    # The same settings and visitor give the same markup: build it once per process, so the widget
    # adds next to nothing to a page render (bench/widget_overhead.py). A customer's entry also
    # skips the identification lookup in the shared cache, so it lives far less than the token.
    key = (
        s.updated_at,
        s.portal_id,
        s.data_hosting_region,
        s.script_url_override,
        s.wait_for_consent,
        visitor,
        clear_identity,
        bool(getattr(user, "is_authenticated", False)),
    )
    now = time.monotonic()
    entry = _markup_cache.get(key)
    if entry is None or entry[1] <= now:
        found = chat.identification(user, s) if visitor else chat.Identification(None)
        expires = now + app_settings.VISITOR_MEMO_SECONDS if visitor else math.inf
        signed_in = bool(getattr(user, "is_authenticated", False))
        markup = _markup(s, found.identity, clear_identity, signed_in)
        entry = (markup, expires, found.identity is not None)
        # After a momentary failure the anonymous markup is not kept: the next page asks again.
        if found.settled:
            if len(_markup_cache) >= MARKUP_CACHE_SIZE:
                _markup_cache.pop(next(iter(_markup_cache)))  # oldest first: dicts keep order
            _markup_cache[key] = entry
    if entry[2] and request is not None:
        setattr(request, chat.IDENTIFIED_ATTR, True)  # PrivatePagesMiddleware: Cache-Control
    return entry[0]


# (settings version, visitor) -> (markup, expiry, carries a token). A customer's markup carries their email and
# chat token, which the page shows that customer anyway; bounded so many customers cannot grow it
# without limit.
MARKUP_CACHE_SIZE = 512
_markup_cache: dict = {}


def clear_markup_cache() -> None:
    _markup_cache.clear()


def _markup(s: HubSpotSettings, identity, clear_identity: bool, signed_in: bool = False) -> str:
    config = {
        "scriptUrl": chat.script_url(s),
        "waitForConsent": bool(s.wait_for_consent),
        "consentCookie": CONSENT_COOKIE,
        # A signed-in customer's banner answer is also kept on their account (views/profile.py).
        "consentRecordUrl": reverse("record-consent") if signed_in else "",
        "clearIdentity": clear_identity,
        # Only a logged-in customer's page sets hsConversationsSettings at all.
        "conversations": (
            {
                "loadImmediately": True,
                "identificationEmail": identity.email,
                "identificationToken": identity.token,
            }
            if identity
            else None
        ),
    }
    parts = [
        json_script(config, "hubspot-config"),
        # Loaded synchronously: hsConversationsSettings must exist before the tracking script runs.
        format_html('<script src="{}"></script>', static("hubspot_integration/hubspot.js")),
    ]
    if s.wait_for_consent:
        parts.append(
            format_html(
                '<div id="consent-banner" class="consent-banner" hidden role="dialog" '
                'aria-label="{}"><p>{}</p>'
                '<button type="button" id="consent-accept">{}</button> '
                '<button type="button" id="consent-decline">{}</button></div>'
                '<button type="button" id="consent-manage" class="consent-manage">'
                "{}</button>",
                _("Cookie consent"),
                consent.BANNER_TEXT,
                _("Accept"),
                _("Decline"),
                _("Cookie preferences"),
            )
        )
    else:
        parts.append(
            format_html(
                '<script type="text/javascript" id="hs-script-loader" async defer '
                'src="{}"></script>',
                chat.script_url(s),
            )
        )
    return mark_safe("\n".join(str(p) for p in parts))  # noqa: S308 (every part is escaped)


@register.simple_tag
def hubspot_form(which: str) -> str:
    """HubSpot's embedded form whose ID is in the settings; nothing when the ID is empty."""
    s = HubSpotSettings.load()
    form_id = {"contact": s.contact_form_id, "ticket": s.ticket_form_id}.get(str(which), "")
    portal = chat.portal_id(s)
    if not (s.enabled and portal and form_id):
        return ""
    return format_html(
        '<div class="hubspot-form" id="hubspot-form-{which}" data-region="{region}" '
        'data-portal-id="{portal}" data-form-id="{form_id}"></div>'
        '<script src="{embed}" defer></script>'
        '<script src="{loader}" defer></script>',
        which=which,
        region=chat.region(s),
        portal=portal,
        form_id=form_id,
        embed=FORMS_EMBED_URL,
        loader=static("hubspot_integration/forms.js"),
    )
