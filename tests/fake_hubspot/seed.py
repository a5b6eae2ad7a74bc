"""What a fresh fake account holds, and fast bulk seeding for tests that need volume.

The defaults (properties, pipelines, owners, forms) mirror a real portal's shapes. Pipeline and
stage IDs are deliberately long numeric strings, never "0" or "1": a client that hard-codes
HubSpot's legacy default IDs fails here as it would on a real account.

Bulk seeding skips per-record validation (the values are valid by construction) so that thousands
of records load in milliseconds; every value is derived from the record's index, so two runs
produce the same data.
"""

from __future__ import annotations

import copy
import time

# Fixed UUIDs so tests and the standalone server can name the forms without looking them up.
CONTACT_FORM_ID = "3f2a8c1e-5b7d-4e9a-9c2f-1a6b8d4e7f10"
NEWSLETTER_FORM_ID = "b7e4d2a9-0c1f-4a8b-8e3d-6f5a9c2b1d07"

TICKET_PIPELINE_ID = "81234567"
FIXED_TIME = "2023-01-15T09:30:00.000Z"

# --- properties -------------------------------------------------------------------------------

_FIELD_TYPES = {
    "string": "text",
    "number": "number",
    "enumeration": "select",
    "datetime": "date",
    "date": "date",
    "bool": "booleancheckbox",
}


def make_property(
    name,
    type="string",
    options=None,
    label=None,
    field_type=None,
    group="contactinformation",
    hubspot_defined=False,
    unique=False,
    read_only=False,
    calculated=False,
):
    """A property definition in the shape GET /crm/properties/{v}/{type}/{name} answers."""
    return {
        "name": name,
        "label": label or name.replace("_", " ").capitalize(),
        "type": type,
        "fieldType": field_type or _FIELD_TYPES.get(type, "text"),
        "description": "",
        "groupName": group,
        "options": [_option(o, i) for i, o in enumerate(options or [])],
        "displayOrder": -1,
        "calculated": bool(calculated),
        "externalOptions": False,
        "hasUniqueValue": bool(unique),
        "hidden": False,
        "hubspotDefined": bool(hubspot_defined),
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": bool(hubspot_defined),
            "readOnlyValue": bool(read_only or calculated),
        },
        "formField": True,
        "createdAt": FIXED_TIME,
        "updatedAt": FIXED_TIME,
        "archived": False,
    }


def _option(option, order):
    if isinstance(option, dict):
        value = option["value"]
        return {
            "label": option.get("label", value),
            "value": value,
            "displayOrder": option.get("displayOrder", order),
            "hidden": option.get("hidden", False),
        }
    if isinstance(option, (tuple, list)):
        value, label = option
    else:
        value, label = option, str(option).replace("_", " ").capitalize()
    return {"label": label, "value": value, "displayOrder": order, "hidden": False}


# (name, type, options); the pipeline properties are typed as strings because their valid values
# come from the pipelines, which the state checks separately.
_CATALOG = {
    "contacts": [
        ("email", "string", None),
        ("firstname", "string", None),
        ("lastname", "string", None),
        ("company", "string", None),
        ("phone", "string", None),
        ("mobilephone", "string", None),
        ("website", "string", None),
        ("jobtitle", "string", None),
        ("address", "string", None),
        ("city", "string", None),
        ("state", "string", None),
        ("zip", "string", None),
        ("country", "string", None),
        ("message", "string", None),
        (
            "lifecyclestage",
            "enumeration",
            [
                "subscriber",
                "lead",
                "marketingqualifiedlead",
                "salesqualifiedlead",
                "opportunity",
                "customer",
                "evangelist",
                "other",
            ],
        ),
        (
            "hs_lead_status",
            "enumeration",
            ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT"],
        ),
        ("hubspot_owner_id", "enumeration", None),
        ("createdate", "datetime", None),
        ("lastmodifieddate", "datetime", None),
        ("hs_object_id", "number", None),
    ],
    "companies": [
        ("name", "string", None),
        ("domain", "string", None),
        ("website", "string", None),
        ("phone", "string", None),
        ("industry", "string", None),
        ("city", "string", None),
        ("country", "string", None),
        ("numberofemployees", "number", None),
        ("annualrevenue", "number", None),
        ("description", "string", None),
        ("hubspot_owner_id", "enumeration", None),
        ("createdate", "datetime", None),
        ("hs_lastmodifieddate", "datetime", None),
        ("hs_object_id", "number", None),
    ],
    "deals": [
        ("dealname", "string", None),
        ("amount", "number", None),
        ("pipeline", "string", None),
        ("dealstage", "string", None),
        ("closedate", "datetime", None),
        ("dealtype", "enumeration", ["newbusiness", "existingbusiness"]),
        ("description", "string", None),
        ("hubspot_owner_id", "enumeration", None),
        ("createdate", "datetime", None),
        ("hs_lastmodifieddate", "datetime", None),
        ("hs_object_id", "number", None),
    ],
    "tickets": [
        ("subject", "string", None),
        ("content", "string", None),
        ("hs_pipeline", "string", None),
        ("hs_pipeline_stage", "string", None),
        (
            "hs_ticket_priority",
            "enumeration",
            [("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High"), ("URGENT", "Urgent")],
        ),
        (
            "hs_ticket_category",
            "enumeration",
            ["PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"],
        ),
        ("source_type", "enumeration", ["EMAIL", "CHAT", "PHONE", "FORM"]),
        ("hubspot_owner_id", "enumeration", None),
        ("closed_date", "datetime", None),
        ("createdate", "datetime", None),
        ("hs_lastmodifieddate", "datetime", None),
        ("hs_object_id", "number", None),
    ],
}

_GROUPS = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
    "tickets": "ticketinformation",
}


def default_properties():
    """object type -> property name -> definition (a fresh copy each call)."""
    return {
        object_type: {
            name: make_property(
                name, kind, options, group=_GROUPS[object_type], hubspot_defined=True
            )
            for name, kind, options in rows
        }
        for object_type, rows in _CATALOG.items()
    }


# --- pipelines, owners, forms -----------------------------------------------------------------


def _stage(stage_id, label, order, metadata):
    return {
        "id": stage_id,
        "label": label,
        "displayOrder": order,
        "archived": False,
        "metadata": metadata,
        "createdAt": FIXED_TIME,
        "updatedAt": FIXED_TIME,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def make_pipeline(pipeline_id, label, order, stages):
    return {
        "id": pipeline_id,
        "label": label,
        "displayOrder": order,
        "archived": False,
        "createdAt": FIXED_TIME,
        "updatedAt": FIXED_TIME,
        "stages": stages,
    }


def ticket_pipelines():
    def ticket(stage_id, label, order, state):
        return _stage(stage_id, label, order, {"ticketState": state})

    return [
        make_pipeline(
            TICKET_PIPELINE_ID,
            "Support Pipeline",
            0,
            [
                ticket("81234568", "New", 0, "OPEN"),
                ticket("81234569", "Waiting on contact", 1, "OPEN"),
                ticket("81234570", "Waiting on us", 2, "OPEN"),
                ticket("81234571", "Closed", 3, "CLOSED"),
            ],
        ),
        make_pipeline(
            "81234600",
            "Billing",
            1,
            [
                ticket("81234601", "Received", 0, "OPEN"),
                ticket("81234602", "In progress", 1, "OPEN"),
                ticket("81234603", "Resolved", 2, "CLOSED"),
            ],
        ),
    ]


def deal_pipelines():
    def deal(stage_id, label, order, probability, closed):
        return _stage(stage_id, label, order, {"probability": probability, "isClosed": closed})

    return [
        make_pipeline(
            "90123456",
            "Sales Pipeline",
            0,
            [
                deal("90123457", "Appointment scheduled", 0, "0.2", "false"),
                deal("90123458", "Qualified to buy", 1, "0.4", "false"),
                deal("90123459", "Presentation scheduled", 2, "0.6", "false"),
                deal("90123460", "Decision maker bought-in", 3, "0.8", "false"),
                deal("90123461", "Contract sent", 4, "0.9", "false"),
                deal("90123462", "Closed won", 5, "1.0", "true"),
                deal("90123463", "Closed lost", 6, "0.0", "true"),
            ],
        ),
        make_pipeline(
            "90123500",
            "Renewals",
            1,
            [
                deal("90123501", "Renewal due", 0, "0.5", "false"),
                deal("90123502", "Negotiation", 1, "0.7", "false"),
                deal("90123503", "Renewed", 2, "1.0", "true"),
                deal("90123504", "Churned", 3, "0.0", "true"),
            ],
        ),
    ]


def owners():
    rows = [
        ("71000001", "ava.owner@skypanel.test", "Ava", "Owner", 9100001),
        ("71000002", "ben.support@skypanel.test", "Ben", "Support", 9100002),
        ("71000003", "chloe.sales@skypanel.test", "Chloe", "Sales", 9100003),
    ]
    return [
        {
            "id": owner_id,
            "email": email,
            "firstName": first,
            "lastName": last,
            "userId": user_id,
            "userIdIncludingInactive": user_id,
            "type": "PERSON",
            "teams": [],
            "createdAt": FIXED_TIME,
            "updatedAt": FIXED_TIME,
            "archived": False,
        }
        for owner_id, email, first, last, user_id in rows
    ]


# What each field type carries beyond the common keys, as in the SDK's per-type field models
# (EmailField, PhoneField, ...): the forms API answers every one of these keys.
_FIELD_EXTRAS = {
    "email": {"validation": {"useDefaultBlockList": False, "blockedEmailDomains": []}},
    "phone": {
        "useCountryCodeSelect": False,
        "validation": {"minAllowedDigits": 7, "maxAllowedDigits": 20},
    },
}

_FORM_STYLE = {
    "fontFamily": "arial, helvetica, sans-serif",
    "backgroundWidth": "100%",
    "labelTextColor": "#33475b",
    "labelTextSize": "14px",
    "helpTextColor": "#7C98B6",
    "helpTextSize": "11px",
    "legalConsentTextColor": "#33475b",
    "legalConsentTextSize": "14px",
    "submitColor": "#ff7a59",
    "submitAlignment": "left",
    "submitFontColor": "#ffffff",
    "submitSize": "12px",
}


def _field(name, label, field_type="single_line_text", required=False):
    return {
        "objectTypeId": "0-1",
        "name": name,
        "label": label,
        "required": required,
        "hidden": False,
        "fieldType": field_type,
        "dependentFields": [],
        **copy.deepcopy(_FIELD_EXTRAS.get(field_type, {})),
    }


def _form(form_id, name, fields):
    return {
        "id": form_id,
        "name": name,
        "formType": "hubspot",
        "createdAt": FIXED_TIME,
        "updatedAt": FIXED_TIME,
        "archived": False,
        "fieldGroups": [
            {"groupType": "default_group", "richTextType": "text", "fields": [f]} for f in fields
        ],
        "configuration": {
            "language": "en",
            "createNewContactForNewEmail": False,
            "editable": True,
            "allowLinkToResetKnownValues": False,
            "lifecycleStages": [],
            "postSubmitAction": {"type": "thank_you", "value": "Thanks for submitting the form."},
            "prePopulateKnownValues": True,
            "cloneable": True,
            "notifyContactOwner": False,
            "recaptchaEnabled": False,
            "archivable": True,
            "notifyRecipients": [],
        },
        "displayOptions": {
            "renderRawHtml": False,
            "theme": "default_style",
            "submitButtonText": "Submit",
            "style": dict(_FORM_STYLE),
            "cssClass": "",
        },
        "legalConsentOptions": {"type": "none"},
    }


def forms():
    return [
        _form(
            CONTACT_FORM_ID,
            "Contact us",
            [
                _field("email", "Email", "email", required=True),
                _field("firstname", "First name"),
                _field("lastname", "Last name"),
                _field("phone", "Phone number", "phone"),
                _field("message", "Message", "multi_line_text"),
            ],
        ),
        _form(
            NEWSLETTER_FORM_ID,
            "Newsletter signup",
            [_field("email", "Email", "email", required=True), _field("firstname", "First name")],
        ),
    ]


# --- bulk seeding -----------------------------------------------------------------------------

_FIRST = "Alice Bruno Chen Dana Elif Farid Grace Hiro Ines Jonas Kofi Lena Mateo Nora Omar Priya"
_LAST = "Adams Berg Costa Diaz Evans Fischer Garcia Hansen Ito Jensen Kowalski Lopez Moreau Novak"
_COMPANIES = (
    "Acme Globex Initech Umbrella Hooli Stark Wayne Tyrell Cyberdyne Soylent Wonka Vandelay"
)
_INDUSTRIES = ["Software", "Retail", "Logistics", "Healthcare", "Finance", "Education"]
_CITIES = [
    ("Berlin", "Germany"),
    ("Lisbon", "Portugal"),
    ("Austin", "United States"),
    ("Oslo", "Norway"),
]
_STAGES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "customer"]
_SUBJECTS = [
    "Cannot log in",
    "Invoice is wrong",
    "Feature request: dark mode",
    "Panel is slow",
    "Password reset email missing",
    "Question about pricing",
]
_PRIORITIES = ["LOW", "MEDIUM", "HIGH", "URGENT"]
_CATEGORIES = ["PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"]

_DAY_MS = 86_400_000


def _times(n, days, end_ms):
    """n creation times spread evenly over `days` days, oldest first, ending at end_ms."""
    end = end_ms if end_ms is not None else int(time.time() * 1000) // 60_000 * 60_000
    span = days * _DAY_MS
    step = span // max(n, 1)
    return [end - span + step * (i + 1) for i in range(n)]


def _pick(words, i):
    items = words.split() if isinstance(words, str) else words
    return items[i % len(items)]


def seed_contacts(state, n, days=365, end_ms=None):
    start = state.count("contacts", include_archived=True)
    rows = []
    for k, created in enumerate(_times(n, days, end_ms)):
        i = start + k
        first, last = _pick(_FIRST, i), _pick(_LAST, i // 3)
        company = _pick(_COMPANIES, i // 5)
        city, country = _pick(_CITIES, i)
        props = {
            "email": f"{first}.{last}.{i}@{company}.example".lower(),
            "firstname": first,
            "lastname": last,
            "company": company,
            "phone": f"+1-555-{i % 10000:04d}",
            "city": city,
            "country": country,
            "lifecyclestage": _pick(_STAGES, i),
        }
        rows.append((props, created))
    return state.bulk_insert("contacts", rows)


def seed_companies(state, n, days=365, end_ms=None):
    start = state.count("companies", include_archived=True)
    contacts = state.live_ids("contacts")
    rows, links = [], []
    for k, created in enumerate(_times(n, days, end_ms)):
        i = start + k
        name = f"{_pick(_COMPANIES, i)} {i}"
        city, country = _pick(_CITIES, i)
        props = {
            "name": name,
            "domain": f"{_pick(_COMPANIES, i).lower()}{i}.example",
            "industry": _pick(_INDUSTRIES, i),
            "city": city,
            "country": country,
            "numberofemployees": str(10 + (i * 37) % 990),
        }
        rows.append((props, created))
        # Every n-th contact works here (280: company to contact, unlabeled), so a company's
        # page lists its people.
        links += [(k, "contacts", cid, 280) for cid in contacts[k % max(n, 1) :: max(n, 1)][:5]]
    return state.bulk_insert("companies", rows, links)


def seed_deals(state, n, pipelines=2, days=365, end_ms=None):
    chosen = state.pipeline_list("deals")[: max(1, pipelines)]
    start = state.count("deals", include_archived=True)
    companies = state.live_ids("companies")
    rows, links = [], []
    for k, created in enumerate(_times(n, days, end_ms)):
        i = start + k
        if companies:  # 341: deal to company, unlabeled; round-robin over the companies
            links.append((k, "companies", companies[i % len(companies)], 341))
        pipeline = chosen[i % len(chosen)]
        stage = pipeline["stages"][(i // len(chosen)) % len(pipeline["stages"])]
        props = {
            "dealname": f"{_pick(_COMPANIES, i)} - deal {i}",
            "amount": str(500 + (i * 137) % 9500),
            "pipeline": pipeline["id"],
            "dealstage": stage["id"],
            "closedate": _iso(created + 30 * _DAY_MS),
            "dealtype": "newbusiness" if i % 3 else "existingbusiness",
        }
        rows.append((props, created))
    return state.bulk_insert("deals", rows, links)


def seed_tickets(state, n, days=365, end_ms=None):
    pipeline = state.pipeline_list("tickets")[0]
    contacts = state.live_ids("contacts")
    start = state.count("tickets", include_archived=True)
    rows, links = [], []
    for k, created in enumerate(_times(n, days, end_ms)):
        i = start + k
        stage = pipeline["stages"][i % len(pipeline["stages"])]
        props = {
            "subject": f"{_pick(_SUBJECTS, i)} (#{i})",
            "content": f"Seeded ticket {i}: {_pick(_SUBJECTS, i).lower()}.",
            "hs_pipeline": pipeline["id"],
            "hs_pipeline_stage": stage["id"],
            "hs_ticket_priority": _pick(_PRIORITIES, i),
            "hs_ticket_category": _pick(_CATEGORIES, i),
        }
        rows.append((props, created))
        if contacts:
            # Round-robin so that most seeded contacts own a ticket ("my tickets" pages).
            links.append((k, "contacts", contacts[i % len(contacts)], 16))
    return state.bulk_insert("tickets", rows, links)


def seed_conversations(state, ticket_ids):
    """A thread on each ticket: the customer's question, an agent's internal note (a COMMENT,
    which customers must never see) and the agent's answer."""
    threads = []
    for ticket_id in ticket_ids:
        contacts = state.links.get(("tickets", str(ticket_id)), {}).get("contacts") or {}
        thread = state.add_thread(ticket_id=ticket_id, contact_id=next(iter(contacts), None))
        state.add_message(thread["id"], "Hello, is there any news on this?", sender="Customer")
        state.add_message(
            thread["id"], "Internal: check the logs first.", type="COMMENT", sender="Alex Agent"
        )
        state.add_message(
            thread["id"],
            "We are looking into it and will get back to you today.",
            direction="OUTGOING",
            sender="Alex Agent",
        )
        threads.append(thread["id"])
    return threads


def _iso(ms):
    from .common import iso

    return iso(ms)
