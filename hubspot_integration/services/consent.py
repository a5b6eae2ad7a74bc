"""Consent: the cookie banner's answers of signed-in customers, and HubSpot's
`legalConsentOptions` on form submissions when the settings hold a consent text."""

from __future__ import annotations

import hashlib

from django.utils.translation import gettext_noop

from ..models import ConsentRecord, HubSpotSettings

# The banner's question ({% hubspot_tracking %}); its hash is the version a recorded answer names,
# so rewording the banner makes answers to the old wording tell apart from the new. Marked, not
# translated here: the version is the English wording's, whichever language the banner showed.
BANNER_TEXT = gettext_noop(
    "We use HubSpot cookies for live chat and to remember your visits. Do you accept them?"
)
BANNER_VERSION = hashlib.sha256(BANNER_TEXT.encode()).hexdigest()[:12]
CHOICES = {"accept": ConsentRecord.Choice.ACCEPT, "decline": ConsentRecord.Choice.DECLINE}


def record_banner_choice(user, choice: str) -> ConsentRecord | None:
    """Keep a signed-in customer's answer; None for anyone else (their cookie is their record)."""
    if user is None or not user.is_authenticated:
        return None
    return ConsentRecord.objects.create(
        user=user, subject="cookies", choice=CHOICES[choice], text_version=BANNER_VERSION
    )


def records_of(user) -> list[dict]:
    return [
        {
            "subject": r.subject,
            "choice": r.choice,
            "textVersion": r.text_version,
            "recordedAt": r.recorded_at.isoformat(),
        }
        for r in ConsentRecord.objects.filter(user=user).order_by("recorded_at", "pk")
    ]


def form_consent(s: HubSpotSettings | None = None) -> dict | None:
    """The consent the contact form asks for: {"text", "communications": {...} or None}, or
    None when the settings define no consent text (the form and submissions are as before)."""
    s = s or HubSpotSettings.load()
    text = (s.consent_text or "").strip()
    if not text:
        return None
    communications = None
    if (s.consent_communications_text or "").strip() and s.consent_subscription_type_id:
        communications = {
            "text": s.consent_communications_text.strip(),
            "subscriptionTypeId": int(s.consent_subscription_type_id),
        }
    return {"text": text, "communications": communications}


def legal_consent_options(consent: dict | None, *, communications_accepted: bool) -> dict | None:
    """HubSpot's `legalConsentOptions` for a submission whose sender ticked the processing box
    (the form requires it) and answered the communications box, with the texts they saw."""
    if consent is None:
        return None
    options = {"consentToProcess": True, "text": consent["text"], "communications": []}
    if consent["communications"]:
        options["communications"].append(
            {
                "value": bool(communications_accepted),
                "subscriptionTypeId": consent["communications"]["subscriptionTypeId"],
                "text": consent["communications"]["text"],
            }
        )
    return {"consent": options}
