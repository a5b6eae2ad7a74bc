"""Contact messages: sent through HubSpot's Forms API (via the outbox) to the chosen contact form."""

from __future__ import annotations

import re

from django.core.cache import cache

from .. import errors
from ..client_address import client_address
from ..conf import app_settings
from ..models import HubSpotSettings, OutboxOperation
from . import consent, outbox
from .support_requests import SupportUnavailable

Kind = OutboxOperation.Kind

HUTK_PATTERN = re.compile(r"^[0-9a-f]{32}$")
# The fields every HubSpot contact form is built from; used when the definition cannot be read.
BASIC_FORM_FIELDS = {"email", "firstname", "lastname", "message"}


def contact_form_available(s: HubSpotSettings | None = None) -> bool:
    s = s or HubSpotSettings.load()
    return bool(s.enabled and s.portal_id and s.contact_form_id)


def submission_context(request, *, page_name: str) -> dict:
    """HubSpot's `context`: ties the submission to the visitor's tracked visits."""
    context = {"pageUri": request.build_absolute_uri(), "pageName": page_name}
    s = HubSpotSettings.load()
    consented = not s.wait_for_consent or request.COOKIES.get("skypanel_consent") == "granted"
    hutk = request.COOKIES.get("hubspotutk", "")
    # Without consent the visitor is not tracked: no cookie token and no IP address go to HubSpot.
    if consented:
        if HUTK_PATTERN.match(hutk):
            context["hutk"] = hutk
        ip = client_address(request)
        if ip:
            context["ipAddress"] = ip
    return context


def submit_contact_message(data: dict, *, context: dict, user=None) -> outbox.Outcome:
    s = HubSpotSettings.load()
    if not contact_form_available(s):
        raise SupportUnavailable("The contact form is not set up.")
    first, _, last = data["name"].strip().partition(" ")
    values = {
        "email": data["email"].strip().lower(),
        "firstname": first,
        "lastname": last.strip(),
        "company": data.get("company", "").strip(),
        "message": data["message"].strip(),
    }
    payload = {
        "portalId": s.portal_id,
        "formGuid": s.contact_form_id,
        "values": {k: v for k, v in values.items() if v},
        "context": context,
    }
    # The texts the sender agreed to travel in the payload: a later change of the settings does
    # not rewrite what a queued submission says they consented to.
    options = consent.legal_consent_options(
        consent.form_consent(s) if data.get("consent_to_process") else None,
        communications_accepted=bool(data.get("consent_communications")),
    )
    if options:
        payload["legalConsentOptions"] = options
    return outbox.submit(Kind.SUBMIT_FORM, payload, user=user)


def _form_field_names(client, form_id: str) -> set[str]:
    key = f"hubspot:form-fields:{client.portal_id}:{form_id}"
    cached = cache.get(key)
    if cached is not None:
        return set(cached)
    names: set[str] = set()
    after = None
    try:
        for _ in range(10):
            page = client.forms(after=after)
            for form in page["results"]:
                if form.get("id") == form_id:
                    for group in form.get("fieldGroups") or []:
                        names.update(f["name"] for f in group.get("fields") or [])
            after = page["next_after"]
            if names or not after:
                break
    except errors.HubSpotError as err:
        if err.transient:
            raise
        # Without the `forms` scope the definition is unreadable: send the fields every form has.
        return set(BASIC_FORM_FIELDS)
    cache.set(key, sorted(names or BASIC_FORM_FIELDS), app_settings.FORM_FIELDS_TTL)
    return names or set(BASIC_FORM_FIELDS)


def _submit_form(client, payload, operation):
    known = _form_field_names(client, payload["formGuid"])
    values = dict(payload["values"])
    # HubSpot rejects fields the form lacks; keep what the visitor typed in the message instead.
    extra = [f"{k}: {values.pop(k)}" for k in list(values) if k not in known]
    if extra and "message" in known:
        values["message"] = "\n".join([values.get("message", ""), "", *extra]).strip()
    body = {
        "fields": [{"name": k, "value": str(v)} for k, v in values.items()],
        "context": payload.get("context") or {},
    }
    if payload.get("legalConsentOptions"):
        body["legalConsentOptions"] = payload["legalConsentOptions"]
    answer = client.submit_form(payload["portalId"], payload["formGuid"], body)
    return outbox.Result("", {"answer": answer})


# Installed by AppConfig.ready() (`outbox.register`): kind -> handler.
OUTBOX_HANDLERS = {Kind.SUBMIT_FORM: _submit_form}
