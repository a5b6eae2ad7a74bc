"""The fake's answers against the official SDK's response models (hubspot-api-client 12).

Every route the fake serves is called over HTTP on a seeded fake, and each answer that has a
response model in the SDK (crm.objects, crm.associations.v4, crm.pipelines, crm.properties,
crm.owners, crm.imports, marketing.forms, conversations.visitor_identification) is checked two
ways:

1. the package's own ApiClient deserialises it under Configuration(client_side_validation=True):
   a required field missing or null, a value outside an enum, a date that does not parse: raises;
2. a walk over the JSON beside the model: every key sent is in the model's attribute_map (no
   invented fields), every required field is present and not null, every value has the JSON type
   the model declares (a string ID sent as a number is caught here: the SDK would coerce it).

Error answers (400, 401, 403, 404, 409, 429, 5xx) are checked against the package's Error model.
The only keys allowed beyond a model are listed in EXTRA_KEYS, each with where HubSpot sends it.

The generator merged two oneOf unions of the forms API into single classes (every form field
type into DependentFieldDependentField, every consent kind into ...LegalConsentOptions) and marked
the fields of all variants required, so no real form passes them. Both checks first resolve such
a union to the concrete variant its discriminator names (fieldType, type); nothing else changes.

Routes with no SDK model (account-info, the legacy reports, form submission, token info, answers
with no body) are listed in NO_SDK_MODEL; a test fails when a served route is in neither list, so
a new route has to be classified here.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import importlib
import inspect
import json
import re
import types
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests

from tests.fake_hubspot import (
    CONTACT_FORM_ID,
    FAKE_SERVICE_KEY,
    FAKE_TOKEN,
    TICKET_PIPELINE_ID,
    FakeHubSpot,
)
from tests.fake_hubspot import server as fake_server

V = "2026-09"
OBJECTS = f"/crm/objects/{V}"
OBJECTS_PKG = "hubspot.crm.objects"
ASSOCIATIONS_PKG = "hubspot.crm.associations.v4"
PIPELINES_PKG = "hubspot.crm.pipelines"
PROPERTIES_PKG = "hubspot.crm.properties"
OWNERS_PKG = "hubspot.crm.owners"
FORMS_PKG = "hubspot.marketing.forms"
VISITOR_PKG = "hubspot.conversations.visitor_identification"
IMPORTS_PKG = "hubspot.crm.imports"

# Keys HubSpot sends that the SDK's models do not declare; nothing else may appear.
EXTRA_KEYS = {
    # Every HubSpot error body starts with "status": "error" (seen in real answers quoted in
    # HubSpot/hubspot-api-python#211 and HubSpot/hubspot-api-nodejs#530); the Error model omits it.
    "error": {"status"},
    # A 429 also names the limit that refused it (HubSpot's rate-limit docs), beside category.
    "rate_limit": {"status", "errorType", "policyName", "groupName"},
}

# The merged oneOf unions of the forms package: (discriminator key, value -> variant model).
UNIONS = {
    (FORMS_PKG, "DependentFieldDependentField"): (
        "fieldType",
        {
            "datepicker": "DatepickerField",
            "dropdown": "DropdownField",
            "email": "EmailField",
            "file": "FileField",
            "mobile_phone": "MobilePhoneField",
            "multi_line_text": "MultiLineTextField",
            "multiple_checkboxes": "MultipleCheckboxesField",
            "number": "NumberField",
            "payment_link_radio": "PaymentLinkRadioField",
            "phone": "PhoneField",
            "radio": "RadioField",
            "single_checkbox": "SingleCheckboxField",
            "single_line_text": "SingleLineTextField",
        },
    ),
    (FORMS_PKG, "HubSpotFormDefinitionAllOfLegalConsentOptions"): (
        "type",
        {
            "none": "LegalConsentOptionsNone",
            "legitimate_interest": "LegalConsentOptionsLegitimateInterest",
            "explicit_consent_to_process": "LegalConsentOptionsExplicitConsentToProcess",
            "implicit_consent_to_process": "LegalConsentOptionsImplicitConsentToProcess",
        },
    ),
}


# --- the two checks ---------------------------------------------------------------------------


class ShapeError(AssertionError):
    pass


def _models(package):
    return importlib.import_module(f"{package}.models")


def _variant(package, klass, data):
    """The concrete model a merged union's data is, by its discriminator; else klass itself."""
    union = UNIONS.get((package, klass.__name__))
    if union is None:
        return klass
    key, variants = union
    name = variants.get(data.get(key)) if isinstance(data, dict) else None
    if name is None:
        raise ShapeError(f"{klass.__name__}: no variant for {key}={data!r:.80}")
    return getattr(_models(package), name)


def _required(klass):
    """The attributes a model's setters refuse as None under client-side validation."""
    return [
        attr
        for attr in klass.openapi_types
        if re.search(
            rf"client_side_validation and {attr} is None",
            inspect.getsource(getattr(klass, attr).fset),
        )
    ]


def _strict_client(package):
    """The package's ApiClient, validating, resolving merged unions to their variants."""
    module = importlib.import_module(package)
    base = module.ApiClient

    def deserialize_model(self, data, klass):
        return base._ApiClient__deserialize_model(self, data, _variant(package, klass, data))

    resolving = type(
        "ResolvingApiClient", (base,), {"_ApiClient__deserialize_model": deserialize_model}
    )
    configuration = module.Configuration()
    configuration.client_side_validation = True  # off by default in the SDK
    return resolving(configuration=configuration)


def sdk_deserialize(package, type_name, payload):
    """Check 1: the SDK's own deserialisation, validating (raises on a wrong shape)."""
    response = types.SimpleNamespace(data=json.dumps(payload), status=200)
    return _strict_client(package).deserialize(response, type_name)


_PRIMITIVES = {"str": str, "bool": bool, "float": (int, float), "object": object}


def _iso_8601(value):
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def problems(package, type_name, payload, extra_keys=()):
    """Check 2: every way the JSON differs from the model, as 'path: problem' lines."""
    found = []
    _walk(package, type_name, payload, "$", found, set(extra_keys))
    return found


def _walk(package, type_name, value, where, found, extra_keys=frozenset()):
    if value is None:
        return  # whether null is allowed is the parent's question (required fields)
    if type_name.startswith("list["):
        if not isinstance(value, list):
            found.append(f"{where}: expected a list, got {value!r:.60}")
            return
        for i, item in enumerate(value):
            _walk(package, type_name[5:-1], item, f"{where}[{i}]", found)
        return
    if type_name.startswith("dict["):
        if not isinstance(value, dict):
            found.append(f"{where}: expected an object, got {value!r:.60}")
            return
        inner = re.match(r"dict\[([^,]*), (.*)\]", type_name).group(2)
        for key, item in value.items():
            _walk(package, inner, item, f"{where}.{key}", found)
        return
    if type_name == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            found.append(f"{where}: expected an integer, got {value!r:.60}")
        return
    if type_name in ("datetime", "date"):
        if not _iso_8601(value):
            found.append(f"{where}: expected an ISO-8601 {type_name} string, got {value!r:.60}")
        return
    if type_name in _PRIMITIVES:
        if not isinstance(value, _PRIMITIVES[type_name]):
            found.append(f"{where}: expected {type_name}, got {value!r:.60}")
        return
    try:
        klass = _variant(package, getattr(_models(package), type_name), value)
    except ShapeError as err:
        found.append(f"{where}: {err}")
        return
    if not isinstance(value, dict):
        found.append(f"{where}: expected a {klass.__name__} object, got {value!r:.60}")
        return
    keys = set(klass.attribute_map.values())
    for key in sorted(set(value) - keys - set(extra_keys)):
        found.append(f"{where}.{key}: not a field of {klass.__name__} (invented?)")
    for attr in _required(klass):
        if value.get(klass.attribute_map[attr]) is None:
            found.append(f"{where}.{klass.attribute_map[attr]}: required by {klass.__name__}")
    for attr, attr_type in klass.openapi_types.items():
        key = klass.attribute_map[attr]
        if key in value:
            _walk(package, attr_type, value[key], f"{where}.{key}", found)


def assert_matches(package, type_name, payload, extra_keys=()):
    found = problems(package, type_name, payload, extra_keys)
    assert found == [], f"{type_name} ({package}):\n  " + "\n  ".join(found)
    sdk_deserialize(package, type_name, payload)


# --- the seeded fake and the cases ------------------------------------------------------------


@pytest.fixture(scope="module")
def _server():
    with FakeHubSpot() as server:
        yield server


@dataclass
class Seeded:
    fake: FakeHubSpot
    contacts: list
    companies: list
    tickets: list
    deals: list
    archived: str
    loner: str  # a contact with no company


@pytest.fixture
def seeded(_server):
    fake = _server
    fake.reset()
    contacts = fake.seed_contacts(5)
    companies = fake.seed_companies(3)
    deals = fake.seed_deals(3)
    tickets = fake.seed_tickets(4)
    for company in companies[:2]:  # a contact with two companies: pages of associations
        fake.state.associate("contacts", contacts[0], "companies", company, [PRIMARY])
    archived = fake.create_object("contacts", {"email": "archived@example.com"})["id"]
    fake.state.archive("contacts", archived)
    loner = fake.create_object("contacts", {"email": "loner@example.com"})["id"]
    fake.define_property("contacts", "external_id", unique=True)
    yield Seeded(fake, contacts, companies, tickets, deals, archived, loner)
    assert fake.server_errors == []
    fake.reset()


@dataclass
class Case:
    """One request and the model its answer must match."""

    name: str
    method: str
    path: object  # str, or Seeded -> str
    status: int
    package: str
    model: str
    body: object = None  # JSON, or Seeded -> JSON
    token: str = FAKE_TOKEN
    setup: object = None  # Seeded -> None, before the request
    extra: str = ""  # a key of EXTRA_KEYS


def _ticket(s, **extra):
    return {
        "properties": {
            "subject": "Printer on fire",
            "hs_pipeline": TICKET_PIPELINE_ID,
            "hs_pipeline_stage": "81234568",
            **extra,
        },
        "associations": [
            {
                "to": {"id": s.contacts[0]},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
            }
        ],
    }


def _batch_assoc(s, version=V):
    return f"/crm/associations/{version}/contacts/companies/batch"


PRIMARY = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body (the imports API's upload), sent as `files=`."""

    parts: dict


_IMPORT_CSV = b"email,firstname,Notes\nann@example.com,Ann,x\nnope,Bad,y\nworse,Bad,z\n"
_IMPORT_REQUEST = {
    "name": "contract",
    "files": [
        {
            "fileName": "contract.csv",
            "fileFormat": "CSV",
            "fileImportPage": {
                "hasHeader": True,
                "columnMappings": [
                    {
                        "columnObjectTypeId": "0-1",
                        "columnName": "email",
                        "propertyName": "email",
                        "idColumnType": "HUBSPOT_ALTERNATE_ID",
                    },
                    {
                        "columnObjectTypeId": "0-1",
                        "columnName": "firstname",
                        "propertyName": "firstname",
                    },
                    {"columnObjectTypeId": "0-1", "columnName": "Notes", "ignored": True},
                ],
            },
        }
    ],
}
IMPORT_UPLOAD = Multipart(
    {
        "importRequest": (None, json.dumps(_IMPORT_REQUEST), "application/json"),
        "files": ("contract.csv", _IMPORT_CSV, "text/csv"),
    }
)
FIRST_IMPORT = "1471"  # the ID a freshly reset fake gives its first import


def _an_import_done(s):
    """An import through every poll, so its counters and errors are filled in."""
    s.fake.imports.polls_to_done = 1
    answer = requests.post(
        s.fake.url + f"/crm/imports/{V}",
        files=IMPORT_UPLOAD.parts,
        headers=_auth(FAKE_TOKEN),
        timeout=5,
    )
    assert answer.status_code == 200, answer.text[:300]
    requests.get(
        s.fake.url + f"/crm/imports/{V}/{FIRST_IMPORT}", headers=_auth(FAKE_TOKEN), timeout=5
    )


SUCCESS = [
    # crm.imports
    Case(
        "start an import (multipart upload)",
        "POST",
        f"/crm/imports/{V}",
        200,
        IMPORTS_PKG,
        "PublicImportResponse",
        IMPORT_UPLOAD,
    ),
    Case(
        "an import's state and counters",
        "GET",
        f"/crm/imports/{V}/{FIRST_IMPORT}",
        200,
        IMPORTS_PKG,
        "PublicImportResponse",
        setup=_an_import_done,
    ),
    Case(
        "an import's row errors, a page with paging",
        "GET",
        f"/crm/imports/{V}/{FIRST_IMPORT}/errors?limit=1",
        200,
        IMPORTS_PKG,
        "CollectionResponsePublicImportErrorForwardPaging",
        setup=_an_import_done,
    ),
    Case(
        "the account's imports",
        "GET",
        f"/crm/imports/{V}?limit=1",
        200,
        IMPORTS_PKG,
        "CollectionResponsePublicImportResponse",
        setup=_an_import_done,
    ),
    # crm.objects
    Case(
        "list objects, a page with paging and associations",
        "GET",
        f"{OBJECTS}/contacts?limit=2&associations=tickets&associations=companies",
        200,
        OBJECTS_PKG,
        "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
    ),
    Case(
        "list archived objects",
        "GET",
        f"{OBJECTS}/contacts?archived=true",
        200,
        OBJECTS_PKG,
        "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
    ),
    Case(
        "create an object",
        "POST",
        f"{OBJECTS}/contacts",
        201,
        OBJECTS_PKG,
        "SimplePublicObject",
        {"properties": {"email": "new@example.com", "firstname": "New"}},
    ),
    Case(
        "create a ticket with its contact",
        "POST",
        f"{OBJECTS}/tickets",
        201,
        OBJECTS_PKG,
        "SimplePublicObject",
        _ticket,
    ),
    Case(
        "read an object with associations",
        "GET",
        lambda s: f"{OBJECTS}/contacts/{s.contacts[0]}?associations=tickets,companies,deals",
        200,
        OBJECTS_PKG,
        "SimplePublicObjectWithAssociations",
    ),
    Case(
        "read an object by email, naming properties",
        "GET",
        f"{OBJECTS}/contacts/alice.adams.0@acme.example?idProperty=email&properties=email,phone",
        200,
        OBJECTS_PKG,
        "SimplePublicObjectWithAssociations",
    ),
    Case(
        "read an archived object",
        "GET",
        lambda s: f"{OBJECTS}/contacts/{s.archived}?archived=true",
        200,
        OBJECTS_PKG,
        "SimplePublicObjectWithAssociations",
    ),
    Case(
        "update an object",
        "PATCH",
        lambda s: f"{OBJECTS}/tickets/{s.tickets[0]}",
        200,
        OBJECTS_PKG,
        "SimplePublicObject",
        {"properties": {"hs_pipeline_stage": "81234571"}},
    ),
    Case(
        "search, a page with paging",
        "POST",
        f"{OBJECTS}/contacts/search",
        200,
        OBJECTS_PKG,
        "CollectionResponseWithTotalSimplePublicObjectForwardPaging",
        {"limit": 2, "sorts": ["-createdate"], "properties": ["email"]},
    ),
    Case(
        "batch read",
        "POST",
        f"{OBJECTS}/contacts/batch/read",
        200,
        OBJECTS_PKG,
        "BatchResponseSimplePublicObject",
        lambda s: {"inputs": [{"id": i} for i in s.contacts[:2]], "properties": ["email"]},
    ),
    Case(
        "batch read, partly missing",
        "POST",
        f"{OBJECTS}/contacts/batch/read",
        207,
        OBJECTS_PKG,
        "BatchResponseSimplePublicObjectWithErrors",
        lambda s: {"inputs": [{"id": s.contacts[0]}, {"id": "999999"}], "properties": []},
    ),
    Case(
        "batch create",
        "POST",
        f"{OBJECTS}/contacts/batch/create",
        201,
        OBJECTS_PKG,
        "BatchResponseSimplePublicObject",
        {"inputs": [{"properties": {"email": "b1@example.com"}}]},
    ),
    Case(
        "batch create, one conflict",
        "POST",
        f"{OBJECTS}/contacts/batch/create",
        207,
        OBJECTS_PKG,
        "BatchResponseSimplePublicObjectWithErrors",
        {"inputs": [{"properties": {"email": "alice.adams.0@acme.example"}}]},
    ),
    Case(
        "batch update",
        "POST",
        f"{OBJECTS}/contacts/batch/update",
        200,
        OBJECTS_PKG,
        "BatchResponseSimplePublicObject",
        lambda s: {"inputs": [{"id": s.contacts[1], "properties": {"lastname": "Updated"}}]},
    ),
    Case(
        "batch update, one missing",
        "POST",
        f"{OBJECTS}/contacts/batch/update",
        207,
        OBJECTS_PKG,
        "BatchResponseSimplePublicObjectWithErrors",
        {"inputs": [{"id": "999999", "properties": {"lastname": "Nobody"}}]},
    ),
    Case(
        "batch upsert",
        "POST",
        f"{OBJECTS}/contacts/batch/upsert",
        200,
        OBJECTS_PKG,
        "BatchResponseSimplePublicUpsertObject",
        {
            "inputs": [
                {"id": "up@example.com", "idProperty": "email", "properties": {"firstname": "U"}},
                {"id": "alice.adams.0@acme.example", "idProperty": "email", "properties": {}},
            ]
        },
    ),
    Case(
        "batch upsert, one conflict",
        "POST",
        f"{OBJECTS}/contacts/batch/upsert",
        207,
        OBJECTS_PKG,
        "BatchResponseSimplePublicUpsertObjectWithErrors",
        {
            "inputs": [
                {
                    "id": "e-1",
                    "idProperty": "external_id",
                    "properties": {"email": "x@example.com"},
                },
                {
                    "id": "e-2",
                    "idProperty": "external_id",
                    "properties": {"email": "alice.adams.0@acme.example"},
                },
            ]
        },
    ),
    Case(
        "batch upsert by email, one input refused (named in its error's context)",
        "POST",
        f"{OBJECTS}/contacts/batch/upsert",
        207,
        OBJECTS_PKG,
        "BatchResponseSimplePublicUpsertObjectWithErrors",
        {
            "inputs": [
                {
                    "id": "fine@example.com",
                    "idProperty": "email",
                    "properties": {"email": "fine@example.com", "member_no": "m-1"},
                },
                {
                    "id": "taken@example.com",
                    "idProperty": "email",
                    "properties": {"email": "taken@example.com", "member_no": "m-0"},
                },
            ]
        },
        setup=lambda s: (
            s.fake.define_property("contacts", "member_no", unique=True),
            s.fake.create_object("contacts", {"email": "m0@example.com", "member_no": "m-0"}),
        ),
    ),
    Case(
        "batch upsert tickets on their request key, a refused input reported on its own",
        "POST",
        f"{OBJECTS}/tickets/batch/upsert",
        207,
        "hubspot.crm.tickets",
        "BatchResponseSimplePublicUpsertObjectWithErrors",
        {
            "inputs": [
                {
                    "id": f"key-{n}",
                    "idProperty": "skypanel_request_key",
                    "objectWriteTraceId": f"key-{n}",
                    "properties": {
                        "subject": f"Ticket {n}",
                        "hs_pipeline": "81234567",
                        "hs_pipeline_stage": "81234568",
                        "hs_ticket_priority": priority,
                    },
                }
                for n, priority in ((1, "HIGH"), (2, "SOMEDAY"))
            ]
        },
        setup=lambda s: s.fake.define_property("tickets", "skypanel_request_key", unique=True),
    ),
    Case(
        "batch update, a refused input reported on its own",
        "POST",
        f"{OBJECTS}/contacts/batch/update",
        207,
        OBJECTS_PKG,
        "BatchResponseSimplePublicObjectWithErrors",
        lambda s: {
            "inputs": [
                {"id": s.contacts[0], "objectWriteTraceId": "a", "properties": {"lastname": "A"}},
                {"id": s.contacts[1], "objectWriteTraceId": "b", "properties": {"email": "b@x"}},
            ]
        },
    ),
    Case(
        "properties, one read-only and one calculated",
        "GET",
        f"/crm/properties/{V}/contacts",
        200,
        PROPERTIES_PKG,
        "CollectionResponsePropertyNoPaging",
        setup=lambda s: (
            s.fake.define_property("contacts", "locked", read_only=True),
            s.fake.define_property("contacts", "score", "number", calculated=True),
        ),
    ),
    # crm.associations.v4 (the date-based paths keep v4's shapes)
    Case(
        "associate with a label",
        "PUT",
        lambda s: f"{OBJECTS}/contacts/{s.contacts[1]}/associations/companies/{s.companies[2]}",
        201,
        ASSOCIATIONS_PKG,
        "LabelsBetweenObjectPair",
        [PRIMARY],
    ),
    Case(
        "associate by default",
        "PUT",
        lambda s: f"{OBJECTS}/deals/{s.deals[0]}/associations/default/contacts/{s.contacts[1]}",
        200,
        ASSOCIATIONS_PKG,
        "BatchResponsePublicDefaultAssociation",
    ),
    Case(
        "list associations, a page with paging",
        "GET",
        lambda s: f"{OBJECTS}/contacts/{s.contacts[0]}/associations/companies?limit=1",
        200,
        ASSOCIATIONS_PKG,
        "CollectionResponseMultiAssociatedObjectWithLabelForwardPaging",
    ),
    Case(
        "batch associate",
        "POST",
        lambda s: f"{_batch_assoc(s)}/create",
        200,
        ASSOCIATIONS_PKG,
        "BatchResponseLabelsBetweenObjectPair",
        lambda s: {
            "inputs": [
                {"from": {"id": s.contacts[2]}, "to": {"id": s.companies[0]}, "types": [PRIMARY]}
            ]
        },
    ),
    Case(
        "batch associate (2026-03)",
        "POST",
        lambda s: f"{_batch_assoc(s, '2026-03')}/create",
        201,
        ASSOCIATIONS_PKG,
        "BatchResponseLabelsBetweenObjectPair",
        lambda s: {
            "inputs": [
                {"from": {"id": s.contacts[2]}, "to": {"id": s.companies[0]}, "types": [PRIMARY]}
            ]
        },
    ),
    Case(
        "batch associate, one missing",
        "POST",
        lambda s: f"{_batch_assoc(s)}/create",
        207,
        ASSOCIATIONS_PKG,
        "BatchResponseLabelsBetweenObjectPairWithErrors",
        lambda s: {
            "inputs": [{"from": {"id": s.contacts[2]}, "to": {"id": "999999"}, "types": [PRIMARY]}]
        },
    ),
    Case(
        "batch read associations",
        "POST",
        lambda s: f"{_batch_assoc(s)}/read",
        200,
        ASSOCIATIONS_PKG,
        "BatchResponsePublicAssociationMultiWithLabel",
        lambda s: {"inputs": [{"id": s.contacts[0]}]},
    ),
    Case(
        "batch read associations, one with none",
        "POST",
        lambda s: f"{_batch_assoc(s)}/read",
        207,
        ASSOCIATIONS_PKG,
        "BatchResponsePublicAssociationMultiWithLabelWithErrors",
        lambda s: {"inputs": [{"id": s.contacts[0]}, {"id": s.loner}]},
    ),
    Case(
        "batch associate by default",
        "POST",
        lambda s: f"{_batch_assoc(s)}/associate/default",
        200,
        ASSOCIATIONS_PKG,
        "BatchResponsePublicDefaultAssociation",
        lambda s: {"inputs": [{"from": {"id": s.contacts[3]}, "to": {"id": s.companies[1]}}]},
    ),
    Case(
        "batch associate tickets with contacts by default",
        "POST",
        f"/crm/associations/{V}/tickets/contacts/batch/associate/default",
        200,
        ASSOCIATIONS_PKG,
        "BatchResponsePublicDefaultAssociation",
        lambda s: {"inputs": [{"from": {"id": s.tickets[0]}, "to": {"id": s.contacts[2]}}]},
    ),
    # crm.pipelines
    Case(
        "ticket pipelines",
        "GET",
        f"/crm/pipelines/{V}/tickets",
        200,
        PIPELINES_PKG,
        "CollectionResponsePipelineNoPaging",
    ),
    Case(
        "deal pipelines",
        "GET",
        f"/crm/pipelines/{V}/deals",
        200,
        PIPELINES_PKG,
        "CollectionResponsePipelineNoPaging",
    ),
    Case(
        "one pipeline",
        "GET",
        f"/crm/pipelines/{V}/tickets/{TICKET_PIPELINE_ID}",
        200,
        PIPELINES_PKG,
        "Pipeline",
    ),
    Case(
        "pipelines a test set",
        "GET",
        f"/crm/pipelines/{V}/tickets",
        200,
        PIPELINES_PKG,
        "CollectionResponsePipelineNoPaging",
        setup=lambda s: s.fake.set_pipelines(
            "tickets", [{"id": "555", "label": "Only", "stages": [{"id": "556"}]}]
        ),
    ),
    # crm.properties
    Case(
        "properties",
        "GET",
        f"/crm/properties/{V}/tickets",
        200,
        PROPERTIES_PKG,
        "CollectionResponsePropertyNoPaging",
    ),
    Case(
        "one enumeration property",
        "GET",
        f"/crm/properties/{V}/tickets/hs_ticket_priority",
        200,
        PROPERTIES_PKG,
        "ModelProperty",
    ),
    Case(
        "create a property",
        "POST",
        f"/crm/properties/{V}/contacts",
        201,
        PROPERTIES_PKG,
        "ModelProperty",
        {
            "name": "plan",
            "label": "Plan",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "contactinformation",
            "options": [{"label": "Free", "value": "free"}, {"label": "Pro", "value": "pro"}],
        },
    ),
    # crm.owners
    Case(
        "owners, a page with paging",
        "GET",
        f"/crm/owners/{V}?limit=2",
        200,
        OWNERS_PKG,
        "CollectionResponsePublicOwnerForwardPaging",
    ),
    Case("one owner", "GET", f"/crm/owners/{V}/71000002", 200, OWNERS_PKG, "PublicOwner"),
    # marketing.forms (legacy v3: no date-based equivalent)
    Case(
        "forms, a page with paging",
        "GET",
        "/marketing/v3/forms?limit=1",
        200,
        FORMS_PKG,
        "CollectionResponseFormDefinitionBaseForwardPaging",
    ),
    Case(
        "one form",
        "GET",
        f"/marketing/v3/forms/{CONTACT_FORM_ID}",
        200,
        FORMS_PKG,
        "FormDefinitionBase",
    ),
    # conversations.visitor_identification
    Case(
        "visitor identification token",
        "POST",
        f"/visitor-identification/{V}/tokens/create",
        200,
        VISITOR_PKG,
        "IdentificationTokenResponse",
        {"email": "cus@example.com", "firstName": "Cus", "lastName": "Tomer"},
    ),
]


def _limited(s):
    s.fake.rate_limit(max_per_window=1, window_seconds=10, retry_after=1)
    requests.get(s.fake.url + f"/crm/owners/{V}", headers=_auth(FAKE_TOKEN), timeout=5)


def _daily_spent(s):
    s.fake.rate_limit(max_per_window=100, window_seconds=10, daily=0)


def _search_limited(s):
    s.fake.search_rate_limit(per_second=0)


ERRORS = [
    Case(
        "404 an import HubSpot does not know",
        "GET",
        f"/crm/imports/{V}/999",
        404,
        IMPORTS_PKG,
        "Error",
        extra="error",
    ),
    Case(
        "400 invalid property values",
        "POST",
        f"{OBJECTS}/contacts",
        400,
        OBJECTS_PKG,
        "Error",
        {"properties": {"email": "not-an-email", "favourite_colour": "blue"}},
        extra="error",
    ),
    Case(
        # HubSpot's search reaches 10,000 results a query: a page past them is refused.
        "400 search past 10,000 results",
        "POST",
        f"{OBJECTS}/contacts/search",
        400,
        OBJECTS_PKG,
        "Error",
        {"limit": 10, "after": "10000", "properties": ["email"]},
        extra="error",
    ),
    Case(
        "400 a batch too big",
        "POST",
        f"{OBJECTS}/contacts/batch/read",
        400,
        OBJECTS_PKG,
        "Error",
        {"inputs": [{"id": str(i)} for i in range(101)], "properties": []},
        extra="error",
    ),
    Case(
        "400 association target missing",
        "PUT",
        lambda s: f"{OBJECTS}/contacts/{s.contacts[0]}/associations/companies/999999",
        400,
        ASSOCIATIONS_PKG,
        "Error",
        [PRIMARY],
        extra="error",
    ),
    Case(
        "400 visitor without an email",
        "POST",
        f"/visitor-identification/{V}/tokens/create",
        400,
        VISITOR_PKG,
        "Error",
        {"firstName": "Nobody"},
        extra="error",
    ),
    Case(
        "401 unknown token",
        "GET",
        f"{OBJECTS}/contacts",
        401,
        OBJECTS_PKG,
        "Error",
        token="pat-na1-00000000-0000-0000-0000-000000000000",
        extra="error",
    ),
    Case(
        "403 missing scope",
        "POST",
        f"{OBJECTS}/contacts",
        403,
        OBJECTS_PKG,
        "Error",
        {"properties": {"email": "x@example.com"}},
        token="pat-na1-reader",
        setup=lambda s: s.fake.add_token("pat-na1-reader", ["crm.objects.contacts.read"]),
        extra="error",
    ),
    Case(
        "403 plan without visitor identification",
        "POST",
        f"/visitor-identification/{V}/tokens/create",
        403,
        VISITOR_PKG,
        "Error",
        {"email": "cus@example.com"},
        setup=lambda s: setattr(s.fake, "visitor_identification_allowed", False),
        extra="error",
    ),
    Case(
        "404 object",
        "GET",
        f"{OBJECTS}/contacts/999999",
        404,
        OBJECTS_PKG,
        "Error",
        extra="error",
    ),
    Case(
        "404 numbered path",
        "GET",
        "/crm/v3/objects/contacts",
        404,
        OBJECTS_PKG,
        "Error",
        extra="error",
    ),
    Case(
        "404 pipeline",
        "GET",
        f"/crm/pipelines/{V}/tickets/0",
        404,
        PIPELINES_PKG,
        "Error",
        extra="error",
    ),
    Case(
        "404 property",
        "GET",
        f"/crm/properties/{V}/contacts/nope",
        404,
        PROPERTIES_PKG,
        "Error",
        extra="error",
    ),
    Case("404 owner", "GET", f"/crm/owners/{V}/1", 404, OWNERS_PKG, "Error", extra="error"),
    Case(
        "404 form",
        "GET",
        "/marketing/v3/forms/00000000-0000-4000-8000-000000000000",
        404,
        FORMS_PKG,
        "Error",
        extra="error",
    ),
    Case(
        "409 duplicate contact",
        "POST",
        f"{OBJECTS}/contacts",
        409,
        OBJECTS_PKG,
        "Error",
        {"properties": {"email": "alice.adams.0@acme.example"}},
        extra="error",
    ),
    Case(
        "409 property exists",
        "POST",
        f"/crm/properties/{V}/contacts",
        409,
        PROPERTIES_PKG,
        "Error",
        {"name": "email", "label": "Email", "type": "string", "fieldType": "text"},
        extra="error",
    ),
    Case(
        "429 ten-secondly limit",
        "GET",
        f"{OBJECTS}/contacts",
        429,
        OBJECTS_PKG,
        "Error",
        setup=_limited,
        extra="rate_limit",
    ),
    Case(
        "429 daily limit",
        "GET",
        f"/crm/owners/{V}",
        429,
        OWNERS_PKG,
        "Error",
        setup=_daily_spent,
        extra="rate_limit",
    ),
    Case(
        "429 search limit",
        "POST",
        f"{OBJECTS}/contacts/search",
        429,
        OBJECTS_PKG,
        "Error",
        {},
        setup=_search_limited,
        extra="rate_limit",
    ),
    Case(
        "429 injected burst",
        "GET",
        f"/marketing/v3/forms/{CONTACT_FORM_ID}",
        429,
        FORMS_PKG,
        "Error",
        setup=lambda s: s.fake.faults.burst_429(1, retry_after=2),
        extra="rate_limit",
    ),
    Case(
        "503 injected outage",
        "POST",
        f"/visitor-identification/{V}/tokens/create",
        503,
        VISITOR_PKG,
        "Error",
        {"email": "cus@example.com"},
        setup=lambda s: s.fake.faults.down(),
        extra="error",
    ),
]

# Served routes without a response model in the SDK, each with one request that reaches it.
NO_SDK_MODEL = [
    ("GET", f"/account-info/{V}/details"),  # no account-info package in the SDK
    ("GET", f"/account-info/{V}/api-usage/daily/private-apps"),
    ("POST", "/oauth/v2/private-apps/get/access-token-info"),
    ("GET", "/analytics/v2/reports/totals/total"),
    ("GET", "/analytics/v2/reports/forms/total"),
    ("GET", f"/form-integrations/v1/submissions/forms/{CONTACT_FORM_ID}"),
    ("POST", f"/submissions/v3/integration/submit/1/{CONTACT_FORM_ID}"),
    ("POST", f"/submissions/v3/integration/secure/submit/1/{CONTACT_FORM_ID}"),
    ("DELETE", f"{OBJECTS}/contacts/101"),  # 204, no body
    ("POST", f"{OBJECTS}/contacts/batch/archive"),  # 204
    ("POST", f"{OBJECTS}/contacts/gdpr-delete"),  # 204
    ("DELETE", f"{OBJECTS}/contacts/101/associations/companies/102"),  # 204
    ("POST", f"/crm/associations/{V}/contacts/companies/batch/archive"),  # v4's was 204, no model
    # The conversations inbox: SDK 12 has only visitor identification under conversations, so
    # these are checked against HubSpot's reference keys below.
    ("GET", f"/conversations/conversations/{V}/threads"),
    ("GET", f"/conversations/conversations/{V}/threads/101/messages"),
    ("POST", f"/conversations/conversations/{V}/threads/101/messages"),
    ("GET", f"/conversations/conversations/{V}/threads/101"),
    ("PATCH", f"/conversations/conversations/{V}/threads/101"),
    # OAuth (oauth.py): a browser page, and token answers whose 2026-09 keys the SDK 12 `oauth`
    # models predate; tests/test_oauth.py checks them against HubSpot's reference pages.
    ("GET", "/oauth/authorize"),
    ("POST", "/oauth/authorize"),
    ("POST", f"/oauth/{V}/token"),
    ("POST", f"/oauth/{V}/token/introspect"),
    ("POST", f"/oauth/{V}/token/revoke"),
]


def _auth(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def _resolve(value, s):
    return value(s) if callable(value) else value


def _request(case, s):
    if case.setup:
        case.setup(s)
    body = _resolve(case.body, s)
    sent = {"files": body.parts} if isinstance(body, Multipart) else {"json": body}
    return requests.request(
        case.method,
        s.fake.url + _resolve(case.path, s),
        headers=_auth(case.token),
        timeout=5,
        **sent,
    )


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", SUCCESS, ids=lambda c: c.name)
def test_answers_match_the_sdk_models(seeded, case):
    answer = _request(case, seeded)
    assert answer.status_code == case.status, answer.text[:300]
    assert_matches(case.package, case.model, answer.json())


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.name)
def test_error_bodies_match_the_error_model(seeded, case):
    answer = _request(case, seeded)
    assert answer.status_code == case.status, answer.text[:300]
    body = answer.json()
    assert_matches(case.package, "Error", body, EXTRA_KEYS[case.extra])
    if case.status == 429:
        assert (body["category"], body["errorType"]) == ("RATE_LIMITS", "RATE_LIMIT")


def test_every_served_route_is_classified():
    """A route added to the fake must get a case above, or a place in NO_SDK_MODEL."""
    ids = ["101", "102", "103", "104", "105"]
    sample = Seeded(None, ids, ids, ids, ids, "101", "102")  # IDs only shape the paths here
    requests_made = [(c.method, _resolve(c.path, sample)) for c in SUCCESS + ERRORS]
    reached = set()
    for method, path in requests_made + NO_SDK_MODEL:
        found, _ = fake_server._match(method, urlsplit(path).path)
        if found is not None:
            reached.add(id(found))
    missing = [
        f"{r.method} {r.pattern.pattern}" for r in fake_server.ROUTES if id(r) not in reached
    ]
    assert missing == []


def test_routes_without_an_sdk_model_answer_their_documented_keys(seeded):
    # The keys of HubSpot's reference pages for account-info 2026-09 (details, daily usage).
    details = _request(Case("", "GET", f"/account-info/{V}/details", 200, "", ""), seeded)
    assert set(details.json()) == {
        "portalId",
        "accountType",
        "timeZone",
        "companyCurrency",
        "additionalCurrencies",
        "utcOffset",
        "utcOffsetMilliseconds",
        "uiDomain",
        "dataHostingLocation",
    }
    path = f"/account-info/{V}/api-usage/daily/private-apps"
    usage = _request(Case("", "GET", path, 200, "", ""), seeded).json()
    assert set(usage) == {"results"}
    required = {"name", "usageLimit", "currentUsage", "collectedAt", "fetchStatus"}
    for row in usage["results"]:
        assert required <= set(row) <= required | {"resetsAt"}
        assert row["fetchStatus"] in {"CACHED", "FAILURE", "NOTFOUND", "SUCCESS", "TIMEOUT"}


# HubSpot's conversations reference (2026-09): a thread, a message and an agent's comment.
THREAD_KEYS = {
    "id",
    "createdAt",
    "status",
    "originalChannelId",
    "originalChannelAccountId",
    "latestMessageTimestamp",
    "spam",
    "inboxId",
    "associatedContactId",
    "archived",
}
COMMENT_KEYS = {
    "type",
    "id",
    "conversationsThreadId",
    "createdAt",
    "updatedAt",
    "createdBy",
    "client",
    "senders",
    "text",
    "richText",
    "attachments",
    "archived",
}
MESSAGE_KEYS = COMMENT_KEYS | {
    "recipients",
    "truncationStatus",
    "status",
    "direction",
    "channelId",
    "channelAccountId",
}


def test_conversations_answer_hubspots_keys(seeded):
    fake = seeded.fake
    thread = fake.add_thread(ticket_id=seeded.tickets[0], contact_id=seeded.contacts[0])
    other = fake.add_thread(ticket_id=seeded.tickets[1], status="CLOSED")
    fake.add_message(thread["id"], "Hello?")
    fake.add_message(thread["id"], "Note to self", type="COMMENT", sender="Agent")
    fake.add_message(thread["id"], "Hi!", direction="OUTGOING", sender="Agent")
    base = f"/conversations/conversations/{V}/threads"

    def get(path, **query):
        answer = requests.get(fake.url + path, params=query, headers=_auth(FAKE_TOKEN), timeout=5)
        assert answer.status_code == 200, answer.text[:300]
        return answer.json()

    found = get(base, associatedTicketId=seeded.tickets[0])["results"]
    assert [t["id"] for t in found] == [thread["id"]]
    assert set(found[0]) == THREAD_KEYS
    assert found[0]["associatedContactId"] == seeded.contacts[0]
    assert set(get(base, threadStatus="CLOSED")["results"][0]) == THREAD_KEYS | {"closedAt"}
    assert get(base, threadStatus="CLOSED")["results"][0]["id"] == other["id"]

    first = get(f"{base}/{thread['id']}/messages", limit=2)
    assert first["paging"]["next"]["after"] == "2"
    message, comment = first["results"]
    assert (message["type"], comment["type"]) == ("MESSAGE", "COMMENT")
    assert set(message) == MESSAGE_KEYS and set(comment) == COMMENT_KEYS
    assert message["direction"] == "INCOMING" and message["status"] == {"statusType": "SENT"}
    assert set(message["senders"][0]) == {"actorId", "name", "senderField"}
    rest = get(f"{base}/{thread['id']}/messages", limit=2, after="2")
    assert [m["direction"] for m in rest["results"]] == ["OUTGOING"] and "paging" not in rest
    assert [m["createdAt"] for m in first["results"] + rest["results"]] == sorted(
        m["createdAt"] for m in first["results"] + rest["results"]
    )
    gone = requests.get(f"{fake.url}{base}/9/messages", headers=_auth(FAKE_TOKEN), timeout=5)
    assert gone.status_code == 404
    assert_matches(VISITOR_PKG, "Error", gone.json(), EXTRA_KEYS["error"])


def test_sending_and_thread_status_follow_hubspots_reference(seeded):
    # POST .../threads/{id}/messages takes {type, text, richText, senderActorId, channelId,
    # channelAccountId} and answers the message; PATCH .../threads/{id} takes {status}.
    fake = seeded.fake
    thread = fake.add_thread(contact_id=seeded.contacts[0])
    base = f"{fake.url}/conversations/conversations/{V}/threads/{thread['id']}"
    owner = fake.state.owners[1]
    body = {
        "type": "MESSAGE",
        "text": "We are on it.",
        "richText": "<p>We are on it.</p>",
        "senderActorId": f"A-{owner['userId']}",
        "channelId": thread["originalChannelId"],
        "channelAccountId": thread["originalChannelAccountId"],
    }

    def send(payload, token=FAKE_TOKEN):
        return requests.post(f"{base}/messages", json=payload, headers=_auth(token), timeout=5)

    sent = send(body)
    assert sent.status_code == 201, sent.text[:300]
    message = sent.json()
    assert set(message) == MESSAGE_KEYS
    assert (message["direction"], message["text"]) == ("OUTGOING", "We are on it.")
    assert message["senders"][0]["actorId"] == body["senderActorId"]
    assert message["senders"][0]["name"] == f"{owner['firstName']} {owner['lastName']}"
    for bad in ({**body, "senderActorId": "V-1"}, {**body, "channelId": ""}, {**body, "text": ""}):
        refused = send(bad)
        assert refused.status_code == 400
        assert_matches(VISITOR_PKG, "Error", refused.json(), EXTRA_KEYS["error"])

    read_only = "read-only-conversations-token"
    fake.add_token(read_only, ["conversations.read"])
    assert send(body, read_only).status_code == 403

    def patch(status):
        return requests.patch(base, json={"status": status}, headers=_auth(FAKE_TOKEN), timeout=5)

    closed = patch("CLOSED")
    assert closed.status_code == 200 and set(closed.json()) == THREAD_KEYS | {"closedAt"}
    assert send(body).status_code == 400  # a closed thread takes no message
    assert patch("SHUT").status_code == 400
    reopened = requests.get(base, headers=_auth(FAKE_TOKEN), timeout=5)
    assert reopened.json()["status"] == "CLOSED"
    assert set(patch("OPEN").json()) == THREAD_KEYS
    assert send(body).status_code == 201
    assert [m["direction"] for m in fake.state.thread_messages[thread["id"]]] == ["OUTGOING"] * 2


def test_service_keys_get_the_same_shapes(seeded):
    # The credential kind changes nothing in the answers.
    for case in (SUCCESS[0], SUCCESS[-1]):
        answer = _request(dataclasses.replace(case, token=FAKE_SERVICE_KEY), seeded)
        assert answer.status_code == case.status
        assert_matches(case.package, case.model, answer.json())


# --- the checks have teeth: wrong shapes fail them ----------------------------------------------


def _good(seeded, name):
    case = next(c for c in SUCCESS + ERRORS if c.name == name)
    answer = _request(case, seeded)
    return case, answer.json()


def _fails(package, model, payload, extra_keys=()):
    """Both checks refuse the payload; answers the walk's findings."""
    found = problems(package, model, payload, extra_keys)
    assert found, f"{model}: the walk missed the wrong shape"
    # A missing required field raises ValueError; a date that does not parse, ApiException.
    with pytest.raises((ValueError, importlib.import_module(package).ApiException)):
        sdk_deserialize(package, model, payload)
    return found


def test_a_dropped_required_key_fails_both_checks(seeded):
    case, body = _good(seeded, "create an object")
    assert_matches(case.package, case.model, body)  # the real answer passes
    for key in ("id", "createdAt", "properties", "updatedAt"):
        broken = {k: v for k, v in body.items() if k != key}
        assert _fails(case.package, case.model, broken) == [
            f"$.{key}: required by SimplePublicObject"
        ]

    case, body = _good(seeded, "one form")
    broken = copy.deepcopy(body)
    del broken["displayOptions"]["style"]["submitColor"]
    assert _fails(FORMS_PKG, "FormDefinitionBase", broken) == [
        "$.displayOptions.style.submitColor: required by FormStyle"
    ]
    broken = copy.deepcopy(body)
    email = next(f for g in broken["fieldGroups"] for f in g["fields"] if f["fieldType"] == "email")
    del email["validation"]
    assert [p.split(": ")[1] for p in _fails(FORMS_PKG, "FormDefinitionBase", broken)] == [
        "required by EmailField"
    ]

    case, body = _good(seeded, "429 ten-secondly limit")
    assert_matches(case.package, "Error", body, EXTRA_KEYS["rate_limit"])
    without = {k: v for k, v in body.items() if k != "category"}
    assert _fails(case.package, "Error", without, EXTRA_KEYS["rate_limit"]) == [
        "$.category: required by Error"
    ]


def test_an_invented_key_or_a_wrong_type_fails_the_walk(seeded):
    case, body = _good(seeded, "list associations, a page with paging")
    invented = copy.deepcopy(body)
    invented["results"][0]["toObjectType"] = "companies"
    assert problems(case.package, case.model, invented) == [
        "$.results[0].toObjectType: not a field of MultiAssociatedObjectWithLabel (invented?)"
    ]
    numeric = copy.deepcopy(body)
    numeric["results"][0]["toObjectId"] = int(numeric["results"][0]["toObjectId"])
    assert problems(case.package, case.model, numeric)[0].startswith(
        "$.results[0].toObjectId: expected str"
    )
    case, body = _good(seeded, "404 object")
    assert problems(case.package, "Error", body) == ["$.status: not a field of Error (invented?)"]
    wrong = {**body, "errors": [{"message": "m", "in": 5}]}
    assert problems(case.package, "Error", wrong, {"status"}) == [
        "$.errors[0].in: expected str, got 5"
    ]
    case, body = _good(seeded, "ticket pipelines")
    broken = copy.deepcopy(body)
    broken["results"][0]["stages"][0]["createdAt"] = "yesterday"
    _fails(case.package, case.model, broken)  # the SDK cannot parse the date either
    owners_case, owners = _good(seeded, "owners, a page with paging")
    broken = copy.deepcopy(owners)
    broken["results"][0]["type"] = "ROBOT"  # outside PublicOwner's enum: the SDK refuses it
    with pytest.raises(ValueError):
        sdk_deserialize(owners_case.package, owners_case.model, broken)


def test_every_union_variant_named_exists():
    for (package, union), (_, variants) in UNIONS.items():
        assert hasattr(_models(package), union)
        for name in variants.values():
            assert hasattr(_models(package), name), name
