"""The fake HubSpot, driven by the real SDK (hubspot-api-client 12) over real HTTP.

These tests pin the fake to HubSpot's shapes, errors and limits, so tests of the panel that use
the fake exercise the same code paths a real account would.
"""

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import urllib3
from hubspot import Client
from hubspot.conversations.visitor_identification import (
    ApiException as VisitorApiException,
)
from hubspot.conversations.visitor_identification import (
    IdentificationTokenGenerationRequest,
)
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.contacts import (
    ApiException as ContactsApiException,
)
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.tickets import ApiException as TicketsApiException
from urllib3.util.retry import Retry

from tests.fake_hubspot import (
    CONTACT_FORM_ID,
    FAKE_PORTAL_ID,
    FAKE_TOKEN,
    TICKET_PIPELINE_ID,
    FakeHubSpot,
)

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ROOT = Path(__file__).resolve().parent.parent
RATE_HEADERS = [
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
]


@pytest.fixture(scope="module")
def _server():
    with FakeHubSpot() as server:
        yield server


@pytest.fixture
def fake(_server):
    _server.reset()
    yield _server
    assert _server.server_errors == []  # a traceback here is a bug in the fake itself
    _server.reset()


def make_client(fake, token=FAKE_TOKEN):
    # Retry(0): a fault must reach the test as it reached the client, not be retried away.
    return Client.create(
        access_token=token,
        host=fake.url,
        base_url=fake.url,
        retry=Retry(0, raise_on_status=False),
    )


@pytest.fixture
def client(fake):
    return make_client(fake)


def raw(fake, method, path, body=None, token=FAKE_TOKEN, **kwargs):
    """A request outside the SDK, to see statuses and headers exactly."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(
        method, fake.url + path, json=body, headers=headers, timeout=5, **kwargs
    )


def error_of(excinfo):
    return json.loads(excinfo.value.body)


def new_contact(client, **props):
    return client.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties=props))


def ticket_props(**extra):
    return {
        "subject": "Cannot log in",
        "content": "Since this morning",
        "hs_pipeline": TICKET_PIPELINE_ID,
        "hs_pipeline_stage": "81234568",
        "hs_ticket_priority": "HIGH",
        **extra,
    }


# --- contacts -------------------------------------------------------------------------------


def test_contact_create_get_update_archive(fake, client):
    created = new_contact(client, email="Alice@Example.COM", firstname="Alice")
    assert created.id.isdigit()
    assert created.properties["email"] == "alice@example.com"  # stored lower-cased
    assert created.properties["hs_object_id"] == created.id

    found = client.crm.contacts.basic_api.get_by_id(
        "ALICE@example.com", id_property="email", properties=["email", "phone"]
    )
    assert found.id == created.id
    # Asked-for properties plus the system ones; asked-but-unset comes back as null.
    assert found.properties["phone"] is None
    assert set(found.properties) == {
        "email",
        "phone",
        "createdate",
        "hs_object_id",
        "lastmodifieddate",
    }

    updated = client.crm.contacts.basic_api.update(
        created.id, SimplePublicObjectInput(properties={"lastname": "Liddell"})
    )
    assert updated.properties["lastname"] == "Liddell"
    assert updated.updated_at > created.updated_at

    client.crm.contacts.basic_api.archive(created.id)
    with pytest.raises(ContactsApiException) as excinfo:
        client.crm.contacts.basic_api.get_by_id(created.id)
    assert excinfo.value.status == 404
    body = error_of(excinfo)
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["message"] == "Object not found.  objectId are usually numeric."
    assert fake.objects("contacts") == []


def test_wire_shape_of_an_object(fake):
    answer = raw(fake, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "a@b.co"}})
    assert answer.status_code == 201
    assert answer.headers["Content-Type"] == "application/json;charset=utf-8"
    body = answer.json()
    assert set(body) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert ISO_MS.match(body["createdAt"]) and ISO_MS.match(body["properties"]["createdate"])
    assert body["archived"] is False
    second = raw(fake, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "c@d.co"}})
    assert int(second.json()["id"]) > int(body["id"])


def test_list_pages_by_cursor(fake, client):
    fake.seed_contacts(25)
    seen, after, pages = [], None, 0
    while True:
        page = client.crm.contacts.basic_api.get_page(limit=10, after=after, properties=["email"])
        pages += 1
        seen += [c.id for c in page.results]
        assert all("email" in c.properties for c in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
        assert page.paging.next.link.startswith(fake.url)
    assert pages == 3 and len(seen) == len(set(seen)) == 25
    with pytest.raises(ContactsApiException) as excinfo:
        client.crm.contacts.basic_api.get_page(limit=101)
    assert excinfo.value.status == 400


def test_duplicate_email_is_a_conflict(fake, client):
    first = new_contact(client, email="dup@example.com")
    with pytest.raises(ContactsApiException) as excinfo:
        new_contact(client, email="DUP@example.com")
    assert excinfo.value.status == 409
    body = error_of(excinfo)
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first.id}"
    assert len(fake.objects("contacts")) == 1


def test_invalid_property_values_are_rejected(fake, client):
    with pytest.raises(ContactsApiException) as excinfo:
        new_contact(client, email="x@example.com", favourite_colour="blue")
    assert excinfo.value.status == 400
    body = error_of(excinfo)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    problems = json.loads(body["message"].split(": ", 1)[1])
    assert problems == [
        {
            "isValid": False,
            "message": 'Property "favourite_colour" does not exist',
            "error": "PROPERTY_DOESNT_EXIST",
            "name": "favourite_colour",
        }
    ]

    # A number where HubSpot expects a string is a client bug: refuse it loudly.
    with pytest.raises(ContactsApiException) as excinfo:
        new_contact(client, email="x@example.com", phone=5551234)
    assert excinfo.value.status == 400
    assert "INVALID_PROPERTY_VALUE" in error_of(excinfo)["message"]

    with pytest.raises(ContactsApiException) as excinfo:
        new_contact(client, email="not-an-email")
    assert "INVALID_EMAIL" in error_of(excinfo)["message"]
    assert fake.objects("contacts") == []


def test_search_total_filters_sorts_and_limits(fake, client):
    search = client.crm.contacts.search_api.do_search
    for i, (email, stage) in enumerate(
        [
            ("ann@acme.example", "lead"),
            ("bob@acme.example", "customer"),
            ("cy@other.example", "customer"),
        ]
    ):
        new_contact(client, email=email, firstname=f"Name{i}", lifecyclestage=stage)

    def emails(**request):
        result = search(PublicObjectSearchRequest(**request))
        return result.total, [r.properties["email"] for r in result.results]

    eq = {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}]}
    assert emails(filter_groups=[eq]) == (2, ["bob@acme.example", "cy@other.example"])
    token = {
        "filters": [
            {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@acme.example"}
        ]
    }
    assert emails(filter_groups=[token], sorts=["-createdate"]) == (
        2,
        ["bob@acme.example", "ann@acme.example"],
    )
    # Groups are OR-ed, filters inside a group AND-ed.
    both = {"filters": eq["filters"] + token["filters"]}
    lead = {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}]}
    assert emails(filter_groups=[both, lead])[0] == 2
    in_ = {
        "filters": [
            {"propertyName": "email", "operator": "IN", "values": ["ann@acme.example", "zz@x.co"]}
        ]
    }
    assert emails(filter_groups=[in_]) == (1, ["ann@acme.example"])
    has = {"filters": [{"propertyName": "phone", "operator": "NOT_HAS_PROPERTY"}]}
    assert emails(filter_groups=[has])[0] == 3
    assert emails(query="other")[1] == ["cy@other.example"]
    sort = [{"propertyName": "email", "direction": "DESCENDING"}]
    assert emails(sorts=sort, limit=1)[1] == ["cy@other.example"]

    page = search(PublicObjectSearchRequest(limit=2))
    assert page.total == 3 and page.paging.next.after == "2"
    rest = search(PublicObjectSearchRequest(limit=2, after=page.paging.next.after))
    assert len(rest.results) == 1 and rest.paging is None

    with pytest.raises(ContactsApiException) as excinfo:
        search(PublicObjectSearchRequest(limit=201))
    assert excinfo.value.status == 400
    with pytest.raises(ContactsApiException) as excinfo:
        search(PublicObjectSearchRequest(after="10000"))
    assert excinfo.value.status == 400
    unknown = {"filters": [{"propertyName": "nope", "operator": "EQ", "value": "x"}]}
    with pytest.raises(ContactsApiException):
        search(PublicObjectSearchRequest(filter_groups=[unknown]))


def test_search_index_can_lag_behind_writes(fake, client):
    fake.search_delay = 0.3
    new_contact(client, email="fresh@example.com")
    by_email = client.crm.contacts.basic_api.get_by_id("fresh@example.com", id_property="email")
    assert by_email.properties["email"] == "fresh@example.com"  # a read by id sees it at once
    request = PublicObjectSearchRequest(query="fresh")
    assert client.crm.contacts.search_api.do_search(request).total == 0
    time.sleep(0.35)
    assert client.crm.contacts.search_api.do_search(request).total == 1


def test_batch_upsert_tells_new_from_existing(fake, client):
    existing = new_contact(client, email="old@example.com", firstname="Old")
    batch = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[
            {"id": "OLD@example.com", "idProperty": "email", "properties": {"lastname": "Timer"}},
            {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "New"}},
        ]
    )
    result = client.crm.contacts.batch_api.upsert(batch)
    by_email = {r.properties["email"]: r for r in result.results}
    assert by_email["old@example.com"].new is False
    assert by_email["old@example.com"].id == existing.id
    assert by_email["new@example.com"].new is True
    assert len(fake.objects("contacts")) == 2
    stored = {c["properties"]["email"]: c["properties"] for c in fake.objects("contacts")}
    assert stored["old@example.com"]["lastname"] == "Timer"


def test_batch_read_partial_and_input_limit(fake, client):
    a = new_contact(client, email="a@example.com")
    result = client.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(inputs=[{"id": a.id}, {"id": "999999"}], properties=[])
    )
    assert [r.id for r in result.results] == [a.id]
    assert result.num_errors == 1 and result.errors[0].context == {"ids": ["999999"]}

    too_many = [{"id": str(i)} for i in range(101)]
    with pytest.raises(ContactsApiException) as excinfo:
        client.crm.contacts.batch_api.read(
            BatchReadInputSimplePublicObjectId(inputs=too_many, properties=[])
        )
    assert excinfo.value.status == 400

    created = raw(
        fake,
        "POST",
        "/crm/v3/objects/contacts/batch/create",
        {
            "inputs": [
                {"properties": {"email": "a@example.com"}},
                {"properties": {"email": "b@x.co"}},
            ]
        },
    )
    assert created.status_code == 207
    assert created.json()["errors"][0]["category"] == "CONFLICT"
    archived = raw(
        fake, "POST", "/crm/v3/objects/contacts/batch/archive", {"inputs": [{"id": a.id}]}
    )
    assert archived.status_code == 204
    assert [c["properties"]["email"] for c in fake.objects("contacts")] == ["b@x.co"]


# --- auth -----------------------------------------------------------------------------------


def test_unknown_token_is_401_with_fresh_correlation_ids(fake):
    bad = make_client(fake, token="pat-na1-00000000-0000-0000-0000-000000000000")
    ids = []
    for _ in range(2):
        with pytest.raises(ContactsApiException) as excinfo:
            bad.crm.contacts.basic_api.get_page()
        assert excinfo.value.status == 401
        body = error_of(excinfo)
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")
        ids.append(body["correlationId"])
    assert ids[0] != ids[1]
    assert raw(fake, "GET", "/account-info/v3/details", token=None).status_code == 401


def test_missing_scope_is_403_naming_the_scope(fake):
    fake.add_token("pat-na1-readonly", scopes=["crm.objects.contacts.read"])
    reader = make_client(fake, token="pat-na1-readonly")
    assert reader.crm.contacts.basic_api.get_page().results == []
    with pytest.raises(ContactsApiException) as excinfo:
        new_contact(reader, email="x@example.com")
    assert excinfo.value.status == 403
    body = error_of(excinfo)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.contacts.write"]
    with pytest.raises(TicketsApiException) as excinfo:
        reader.crm.tickets.basic_api.get_page()
    assert error_of(excinfo)["errors"][0]["context"]["requiredGranularScopes"] == ["tickets"]
    # account-info needs a valid token, nothing more.
    assert reader.api_request({"method": "GET", "path": "/account-info/v3/details"}).ok


def test_token_info_lists_scopes(fake):
    fake.add_token("pat-eu1-abc", scopes=["tickets", "forms"])
    path = "/oauth/v2/private-apps/get/access-token-info"
    answer = raw(fake, "POST", path, {"tokenKey": "pat-eu1-abc"}, token=None)
    assert answer.status_code == 200
    assert answer.json() == {
        "userId": answer.json()["userId"],
        "hubId": FAKE_PORTAL_ID,
        "appId": answer.json()["appId"],
        "scopes": ["forms", "tickets"],
    }
    unknown = raw(fake, "POST", path, {"tokenKey": "pat-na1-nope"}, token=None)
    assert unknown.status_code == 401


def test_account_info_through_api_request(fake, client):
    answer = client.api_request({"method": "GET", "path": "/account-info/v3/details"})
    assert answer.status_code == 200
    assert answer.json()["portalId"] == FAKE_PORTAL_ID
    assert answer.json()["uiDomain"] == "app.hubspot.com"
    fake.account["dataHostingLocation"] = "eu1"
    fake.account["uiDomain"] = "app-eu1.hubspot.com"
    eu = client.api_request({"method": "GET", "path": "/account-info/v3/details"}).json()
    assert (eu["dataHostingLocation"], eu["uiDomain"]) == ("eu1", "app-eu1.hubspot.com")


# --- tickets, pipelines, associations, properties --------------------------------------------


def test_ticket_with_contact_association_and_pipeline_rules(fake, client):
    contact = new_contact(client, email="cus@example.com")
    ticket = client.crm.tickets.basic_api.create(
        {
            "properties": ticket_props(),
            "associations": [
                {
                    "to": {"id": contact.id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
                }
            ],
        }
    )
    got = client.crm.tickets.basic_api.get_by_id(ticket.id, associations=["contacts"])
    links = got.associations["contacts"].results
    assert [(link.id, link.type) for link in links] == [(contact.id, "ticket_to_contact")]
    back = client.crm.contacts.basic_api.get_by_id(contact.id, associations=["tickets"])
    assert back.associations["tickets"].results[0].type == "contact_to_ticket"
    # "My tickets": search tickets by their associated contact.
    mine = client.crm.tickets.search_api.do_search(
        {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "associations.contact",
                            "operator": "EQ",
                            "value": contact.id,
                        }
                    ]
                }
            ]
        }
    )
    assert [t.id for t in mine.results] == [ticket.id]

    def refused(props, associations=()):
        with pytest.raises(TicketsApiException) as excinfo:
            client.crm.tickets.basic_api.create(
                {"properties": props, "associations": list(associations)}
            )
        assert excinfo.value.status == 400
        return error_of(excinfo)["message"]

    without_stage = ticket_props()
    del without_stage["hs_pipeline_stage"]
    assert "hs_pipeline_stage" in refused(without_stage)
    assert "hs_pipeline_stage" in refused(ticket_props(hs_pipeline_stage="1"))  # legacy default
    assert "hs_pipeline" in refused(ticket_props(hs_pipeline="0"))
    assert "81234601" not in {  # a stage of the other pipeline does not fit this one
        s["id"] for s in fake.pipelines("tickets")[0]["stages"]
    }
    assert "hs_pipeline_stage" in refused(ticket_props(hs_pipeline_stage="81234601"))
    assert "INVALID_OPTION" in refused(ticket_props(hs_ticket_priority="CRITICAL"))
    ghost = {
        "to": {"id": "987654"},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
    }
    assert "987654" in refused(ticket_props(), [ghost])
    assert len(fake.objects("tickets")) == 1


def test_pipelines_shape(fake, client):
    tickets = client.crm.pipelines.pipelines_api.get_all("tickets").results
    ids = {p.id for p in tickets} | {s.id for p in tickets for s in p.stages}
    assert not ids & {"0", "1", "default"}
    support = tickets[0]
    assert support.id == TICKET_PIPELINE_ID
    assert [s.label for s in support.stages] == [
        "New",
        "Waiting on contact",
        "Waiting on us",
        "Closed",
    ]
    assert [s.metadata["ticketState"] for s in support.stages] == ["OPEN"] * 3 + ["CLOSED"]

    deals = client.crm.pipelines.pipelines_api.get_all("deals").results
    assert len(deals) == 2 and all(len(p.stages) >= 4 for p in deals)
    assert deals[0].stages[0].metadata == {"probability": "0.2", "isClosed": "false"}
    one = client.crm.pipelines.pipelines_api.get_by_id("deals", deals[1].id)
    assert one.label == deals[1].label

    fake.set_pipelines("tickets", [{"id": "555", "label": "Only", "stages": [{"id": "556"}]}])
    assert [p.id for p in client.crm.pipelines.pipelines_api.get_all("tickets").results] == ["555"]


def test_v4_associations(fake, client):
    contact = new_contact(client, email="v4@example.com")
    company = fake.create_object("companies", {"name": "Acme", "domain": "acme.example"})
    v4 = client.crm.associations.v4.basic_api
    pair = v4.create(
        "contacts",
        contact.id,
        "companies",
        company["id"],
        [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=279)],
    )
    assert (pair.from_object_type_id, pair.to_object_type_id) == ("0-1", "0-2")
    assert (pair.from_object_id, pair.to_object_id) == (contact.id, company["id"])

    deal = fake.create_object("deals", {"dealname": "Big one"})
    default = v4.create_default("deals", deal["id"], "contacts", contact.id)
    assert default.status == "COMPLETE"
    assert {r.association_spec.association_type_id for r in default.results} == {3, 4}

    listed = v4.get_page("contacts", contact.id, "companies")
    assert [r.to_object_id for r in listed.results] == [company["id"]]
    assert listed.results[0].association_types[0].type_id == 279
    assert [r.to_object_id for r in v4.get_page("contacts", contact.id, "deals").results] == [
        deal["id"]
    ]
    wrong = raw(
        fake,
        "PUT",
        f"/crm/v4/objects/contacts/{contact.id}/associations/companies/{company['id']}",
        [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
    )
    assert wrong.status_code == 400


def test_properties_endpoints(fake, client):
    priority = client.crm.properties.core_api.get_by_name("tickets", "hs_ticket_priority")
    assert priority.type == "enumeration"
    assert [o.value for o in priority.options] == ["LOW", "MEDIUM", "HIGH", "URGENT"]
    names = {p.name for p in client.crm.properties.core_api.get_all("contacts").results}
    assert {"email", "firstname", "lastname", "phone", "lifecyclestage"} <= names

    spec = PropertyCreate(
        name="skypanel_customer_id",
        label="SkyPanel customer ID",
        type="string",
        field_type="text",
        group_name="contactinformation",
    )
    created = client.crm.properties.core_api.create("contacts", spec)
    assert created.name == "skypanel_customer_id"
    with pytest.raises(Exception) as excinfo:
        client.crm.properties.core_api.create("contacts", spec)
    assert excinfo.value.status == 409
    assert new_contact(client, email="p@example.com", skypanel_customer_id="42").id

    fake.define_property("tickets", "plan", type="enumeration", options=["free", "pro"])
    with pytest.raises(TicketsApiException):
        client.crm.tickets.basic_api.create({"properties": ticket_props(plan="gold")})
    assert client.crm.tickets.basic_api.create({"properties": ticket_props(plan="pro")}).id


# --- owners, forms, visitor identification -------------------------------------------------------


def test_owners(fake, client):
    owners = client.crm.owners.owners_api.get_page().results
    assert len(owners) == 3
    assert all(o.id and o.email and o.user_id for o in owners)
    one = client.crm.owners.owners_api.get_page(email=owners[1].email.upper()).results
    assert [o.id for o in one] == [owners[1].id]


def test_forms_list_and_submission(fake, client):
    forms = client.marketing.forms.forms_api.get_page().results
    assert {f.id for f in forms} == {f["id"] for f in fake.forms()}
    assert len(forms) == 2

    path = f"/submissions/v3/integration/submit/{FAKE_PORTAL_ID}/{CONTACT_FORM_ID}"
    body = {
        "fields": [
            {"name": "email", "value": "Visitor@Example.com"},
            {"name": "firstname", "value": "Vi"},
            {"name": "message", "value": "Hello"},
        ],
        "context": {"hutk": "abc123", "pageUri": "https://panel.example/support", "pageName": "S"},
    }
    answer = raw(fake, "POST", path, body, token=None)  # no Authorization needed
    assert answer.status_code == 200
    assert answer.json() == {"inlineMessage": "Thanks for submitting the form."}
    assert fake.form_submissions[0]["formGuid"] == CONTACT_FORM_ID
    assert fake.form_submissions[0]["body"]["context"]["hutk"] == "abc123"
    assert fake.objects("contacts")[0]["properties"]["email"] == "visitor@example.com"

    bad = raw(fake, "POST", path, {"fields": [{"name": "email", "value": "nope"}]}, token=None)
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {"message": "Error in 'fields.email'. Invalid email address", "errorType": "INVALID_EMAIL"}
    ]
    missing = raw(fake, "POST", path, {"fields": []}, token=None)
    assert missing.json()["errors"][0]["errorType"] == "INVALID_EMAIL"
    unknown_form = path.replace(CONTACT_FORM_ID, "00000000-0000-4000-8000-000000000000")
    assert raw(fake, "POST", unknown_form, body, token=None).status_code == 404
    wrong_portal = path.replace(str(FAKE_PORTAL_ID), "999")
    assert raw(fake, "POST", wrong_portal, body, token=None).status_code == 404
    assert len(fake.form_submissions) == 1


def test_visitor_identification(fake, client):
    generate = client.conversations.visitor_identification.generate_api.generate_token
    request = IdentificationTokenGenerationRequest(
        email="cus@example.com", first_name="Cus", last_name="Tomer"
    )
    token = generate(request).token
    assert token and fake.identification_tokens == [
        {"email": "cus@example.com", "token": token, "firstName": "Cus", "lastName": "Tomer"}
    ]
    assert generate(request).token != token  # a fresh token every call
    older = raw(
        fake, "POST", "/conversations/v3/visitor-identification/tokens/create", {"email": "a@b.co"}
    )
    assert older.status_code == 200 and older.json()["token"]

    fake.visitor_identification_allowed = False  # e.g. a Starter plan
    with pytest.raises(VisitorApiException) as excinfo:
        generate(request)
    assert excinfo.value.status == 403

    fake.visitor_identification_allowed = True
    fake.add_token("pat-na1-nochat", scopes=["crm.objects.contacts.read"])
    limited = make_client(fake, token="pat-na1-nochat")
    with pytest.raises(VisitorApiException) as excinfo:
        limited.conversations.visitor_identification.generate_api.generate_token(request)
    assert excinfo.value.status == 403
    assert error_of(excinfo)["category"] == "MISSING_SCOPES"


# --- rate limits ----------------------------------------------------------------------------


def test_rate_limit_headers_are_always_sent_except_on_search(fake, client):
    _, status, headers = client.crm.contacts.basic_api.get_page_with_http_info()
    assert status == 200
    assert {h: headers[h] for h in RATE_HEADERS} == {
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "99",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Daily": "250000",
        "X-HubSpot-RateLimit-Daily-Remaining": "249999",
    }
    _, _, headers = client.crm.contacts.search_api.do_search_with_http_info(
        PublicObjectSearchRequest()
    )
    assert not any(h in headers for h in RATE_HEADERS)


def test_rolling_window_refuses_then_recovers(fake, client):
    fake.rate_limit(max_per_window=3, window_seconds=1.0, retry_after=1)
    remaining = [
        client.crm.contacts.basic_api.get_page_with_http_info()[2]["X-HubSpot-RateLimit-Remaining"]
        for _ in range(3)
    ]
    assert remaining == ["2", "1", "0"]
    with pytest.raises(ContactsApiException) as excinfo:
        client.crm.contacts.basic_api.get_page()
    assert excinfo.value.status == 429
    assert excinfo.value.headers["Retry-After"] == "1"
    assert excinfo.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    body = error_of(excinfo)
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    time.sleep(1.05)
    assert client.crm.contacts.basic_api.get_page().results == []


def test_daily_and_search_limits(fake, client):
    fake.search_rate_limit(per_second=2)
    search = client.crm.contacts.search_api.do_search
    search(PublicObjectSearchRequest())
    search(PublicObjectSearchRequest())
    with pytest.raises(ContactsApiException) as excinfo:
        search(PublicObjectSearchRequest())
    assert excinfo.value.status == 429 and error_of(excinfo)["policyName"] == "SECONDLY"
    assert "X-HubSpot-RateLimit-Remaining" not in excinfo.value.headers

    fake.rate_limit(max_per_window=100, window_seconds=10, daily=2)
    client.crm.contacts.basic_api.get_page()
    client.crm.contacts.basic_api.get_page()
    with pytest.raises(ContactsApiException) as excinfo:
        client.crm.contacts.basic_api.get_page()
    assert error_of(excinfo)["policyName"] == "DAILY"


# --- faults ---------------------------------------------------------------------------------


def test_fail_next_only_hits_matching_paths(fake, client):
    fake.faults.fail_next(2, status=503, path_prefix="/crm/v3/objects/contacts")
    assert client.crm.tickets.basic_api.get_page().results == []  # other paths unaffected
    for _ in range(2):
        with pytest.raises(ContactsApiException) as excinfo:
            client.crm.contacts.basic_api.get_page()
        assert excinfo.value.status == 503
        assert error_of(excinfo)["category"] == "INTERNAL_ERROR"
        assert error_of(excinfo)["correlationId"]
    assert client.crm.contacts.basic_api.get_page().results == []
    assert fake.count("GET", "/crm/v3/objects/contacts") == 3
    assert [r.status for r in fake.requests] == [200, 503, 503, 200]


def test_fail_rate_is_deterministic(fake):
    def pattern():
        fake.faults.clear()
        fake.faults.fail_rate(0.5, status=500, seed=7)
        return [raw(fake, "GET", "/account-info/v3/details").status_code for _ in range(20)]

    first = pattern()
    assert first == pattern()
    assert set(first) == {200, 500}


def test_drop_after_store_keeps_the_write(fake, client):
    fake.faults.drop_next(1, after_store=True, path_prefix="/crm/v3/objects/contacts")
    with pytest.raises(urllib3.exceptions.HTTPError):
        new_contact(client, email="lost@example.com")
    # HubSpot applied the write; only the answer was lost. A blind retry would now conflict.
    assert [c["properties"]["email"] for c in fake.objects("contacts")] == ["lost@example.com"]
    assert fake.requests[-1].status == 0
    with pytest.raises(ContactsApiException) as excinfo:
        new_contact(client, email="lost@example.com")
    assert excinfo.value.status == 409

    fake.faults.drop_next(1, after_store=False)
    with pytest.raises(urllib3.exceptions.HTTPError):
        new_contact(client, email="never@example.com")
    assert len(fake.objects("contacts")) == 1

    fake.faults.drop_rate(1.0, after_store=False)
    with pytest.raises(requests.ConnectionError):
        raw(fake, "GET", "/account-info/v3/details")
    fake.faults.clear()
    assert raw(fake, "GET", "/account-info/v3/details").ok  # and the server lives on


def test_latency_causes_a_client_read_timeout(fake, client):
    fake.faults.latency(0.6, path_prefix="/crm/v3/objects/contacts")
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.HTTPError) as excinfo:
        client.crm.contacts.basic_api.get_page(_request_timeout=(1, 0.2))
    assert time.monotonic() - started < 0.5
    assert "timed out" in str(excinfo.value).lower()
    assert client.crm.owners.owners_api.get_page(_request_timeout=(1, 0.2)).results  # not slowed
    fake.faults.latency(0, path_prefix="/crm/v3/objects/contacts")
    assert client.crm.contacts.basic_api.get_page(_request_timeout=(1, 0.5)).results == []


def test_down_and_up(fake, client):
    fake.faults.down()
    with pytest.raises(ContactsApiException) as excinfo:
        client.crm.contacts.basic_api.get_page()
    assert excinfo.value.status == 503
    assert raw(fake, "GET", "/account-info/v3/details").status_code == 503
    fake.faults.up()
    assert client.crm.contacts.basic_api.get_page().results == []


def test_burst_429_with_retry_after(fake, client):
    fake.faults.burst_429(2, retry_after=3)
    for _ in range(2):
        with pytest.raises(ContactsApiException) as excinfo:
            client.crm.contacts.basic_api.get_page()
        assert excinfo.value.status == 429
        assert excinfo.value.headers["Retry-After"] == "3"
        assert error_of(excinfo)["policyName"] == "TEN_SECONDLY_ROLLING"
    assert client.crm.contacts.basic_api.get_page().results == []


# --- seeding, HTTP details, lifecycle ---------------------------------------------------------


def test_seeding_is_fast_and_searchable(fake, client):
    started = time.perf_counter()
    ids = fake.seed_contacts(2500)
    assert time.perf_counter() - started < 0.5
    assert len(ids) == len(set(ids)) == 2500
    customers = client.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}
                    ]
                }
            ],
            limit=200,
        )
    )
    assert customers.total == 500 and len(customers.results) == 200
    created = sorted(c["properties"]["createdate"] for c in fake.objects("contacts"))
    assert created[0][:7] != created[-1][:7]  # spread over many months

    fake.seed_companies(5)
    fake.seed_deals(10, pipelines=2)
    fake.seed_tickets(6)
    assert {d["properties"]["pipeline"] for d in fake.objects("deals")} == {
        p["id"] for p in fake.pipelines("deals")
    }
    assert all("contacts" in t["associations"] for t in fake.objects("tickets"))

    # Deterministic: another fake seeded the same way holds the same people.
    fake.reset()
    other = FakeHubSpot()  # never started: seeding needs no server
    fake.seed_contacts(3, end_ms=1_700_000_000_000)
    other.seed_contacts(3, end_ms=1_700_000_000_000)
    assert fake.objects("contacts") == other.objects("contacts")


def test_http_details(fake):
    missing = raw(fake, "GET", "/crm/v3/nothing-here")
    assert missing.status_code == 404 and missing.json()["status"] == "error"
    broken = requests.post(
        fake.url + "/crm/v3/objects/contacts",
        data=b"{not json",
        headers={"Authorization": f"Bearer {FAKE_TOKEN}", "Content-Type": "application/json"},
        timeout=5,
    )
    assert broken.status_code == 400 and broken.json()["category"] == "VALIDATION_ERROR"
    with requests.Session() as session:  # keep-alive: many answers on one pooled connection
        session.headers["Authorization"] = f"Bearer {FAKE_TOKEN}"
        for _ in range(3):
            answer = session.get(fake.url + "/crm/v3/owners/", timeout=5)
            assert answer.status_code == 200 and answer.raw.version == 11
    recorded = fake.requests[-1]
    assert recorded.path == "/crm/v3/owners/" and recorded.headers["authorization"]


def test_concurrent_writes_are_consistent(fake, client):
    errors = []

    def create(i):
        try:
            new_contact(client, email=f"user{i}@example.com")
        except Exception as err:  # collected, so the assertion shows them
            errors.append(err)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [c["id"] for c in fake.objects("contacts")]
    assert len(ids) == len(set(ids)) == 20


def test_reset_restores_a_fresh_account(fake, client):
    fake.add_token("pat-na1-extra", scopes=["tickets"])
    fake.account["dataHostingLocation"] = "eu1"
    fake.visitor_identification_allowed = False
    fake.faults.down()
    fake.create_object("contacts", {"email": "gone@example.com"})
    fake.reset()
    assert fake.objects("contacts") == [] and fake.requests == []
    assert fake.account["dataHostingLocation"] == "na1"
    assert fake.visitor_identification_allowed is True
    assert raw(fake, "GET", "/account-info/v3/details", token="pat-na1-extra").status_code == 401
    assert raw(fake, "GET", "/account-info/v3/details").status_code == 200


def test_standalone_server_prints_its_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_hubspot", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        answer = requests.get(
            url + "/account-info/v3/details",
            headers={"Authorization": f"Bearer {FAKE_TOKEN}"},
            timeout=5,
        )
        assert answer.json()["portalId"] == FAKE_PORTAL_ID
    finally:
        process.terminate()
        process.wait(timeout=5)
