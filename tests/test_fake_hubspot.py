"""The fake HubSpot, driven by the real SDK (hubspot-api-client 12) over real HTTP.

These tests pin the fake to HubSpot's shapes, errors and limits, so tests of the panel that use
the fake exercise the same code paths a real account would.

The fake serves HubSpot's date-based paths only (plus the legacy ones with no date-based
equivalent), while the SDK's generated methods call the numbered paths. So the calls below go
through each generated package's own ApiClient (`call_api`, the same auth, retries and
deserialisation) on the date-based path, and the SDK's numbered paths are shown to be 404.
"""

import json
import re
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
import requests
import urllib3
from hubspot import Client
from hubspot.conversations.visitor_identification import ApiException as VisitorApiException
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.objects import ApiException as ObjectsApiException
from hubspot.crm.objects import PublicObjectSearchRequest
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import PropertyCreate
from urllib3.util.retry import Retry

from tests.fake_hubspot import (
    CONTACT_FORM_ID,
    CREDENTIAL_KINDS,
    FAKE_APP_TOKEN,
    FAKE_PORTAL_ID,
    FAKE_SERVICE_KEY,
    FAKE_TOKEN,
    TICKET_PIPELINE_ID,
    VERSIONS,
    FakeHubSpot,
)
from tests.fake_hubspot import server as fake_server

V = "2026-09"
OBJECTS = f"/crm/objects/{V}"
ACCOUNT = f"/account-info/{V}/details"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ROOT = Path(__file__).resolve().parent.parent
RATE_HEADERS = [
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
]
OBJECT = {200: "SimplePublicObjectWithAssociations"}
CREATED = {201: "SimplePublicObject"}
UPDATED = {200: "SimplePublicObject"}
PAGE = {200: "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging"}
FOUND = {200: "CollectionResponseWithTotalSimplePublicObjectForwardPaging"}


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


class Hub:
    """The SDK's generated ApiClient of each package the panel uses, for one credential."""

    def __init__(self, client):
        self.client = client
        self.objects = client.crm.objects.basic_api.api_client
        self.associations = client.crm.associations.v4.basic_api.api_client
        self.pipelines = client.crm.pipelines.pipelines_api.api_client
        self.properties = client.crm.properties.core_api.api_client
        self.owners = client.crm.owners.owners_api.api_client
        self.forms = client.marketing.forms.forms_api.api_client
        self.visitor = client.conversations.visitor_identification.generate_api.api_client


def hub_for(fake, token=FAKE_TOKEN):
    return Hub(make_client(fake, token))


@pytest.fixture
def hub(fake):
    return hub_for(fake)


def call(api, method, path, body=None, query=None, returns=None, http_info=False, **kwargs):
    """One call through a package's ApiClient; `{name}` in the path is filled from path_params
    and quoted as the SDK quotes it. Answers the model (or data, status, headers)."""
    pairs = [
        (name, item)
        for name, value in (query or {}).items()
        for item in (value if isinstance(value, list) else [value])
    ]
    return api.call_api(
        path,
        method,
        query_params=pairs,
        header_params={"Accept": "application/json", "Content-Type": "application/json"},
        body=body,
        response_types_map=returns or {},
        auth_settings=["oauth2"],
        _return_http_data_only=not http_info,
        **kwargs,
    )


def raw(fake, method, path, body=None, token=FAKE_TOKEN, **kwargs):
    """A request outside the SDK, to see statuses and headers exactly."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(
        method, fake.url + path, json=body, headers=headers, timeout=5, **kwargs
    )


def error_of(excinfo):
    return json.loads(excinfo.value.body)


def create(hub, object_type, properties, associations=()):
    body = {"properties": properties, "associations": list(associations)}
    return call(hub.objects, "POST", f"{OBJECTS}/{object_type}", body, returns=CREATED)


def new_contact(hub, **props):
    return create(hub, "contacts", props)


def get(hub, object_type, object_id, **query):
    path = f"{OBJECTS}/{object_type}/{{objectId}}"
    return call(
        hub.objects, "GET", path, query=query, returns=OBJECT, path_params={"objectId": object_id}
    )


def get_page(hub, object_type, **kwargs):
    query = {k: v for k, v in kwargs.items() if not k.startswith("_") and v is not None}
    options = {k: v for k, v in kwargs.items() if k.startswith("_")}
    return call(
        hub.objects, "GET", f"{OBJECTS}/{object_type}", query=query, returns=PAGE, **options
    )


def page_with_http_info(hub, object_type="contacts"):
    return call(hub.objects, "GET", f"{OBJECTS}/{object_type}", returns=PAGE, http_info=True)


def search(hub, object_type, request, **kwargs):
    path = f"{OBJECTS}/{object_type}/search"
    return call(hub.objects, "POST", path, request, returns=FOUND, **kwargs)


def ticket_props(**extra):
    return {
        "subject": "Cannot log in",
        "content": "Since this morning",
        "hs_pipeline": TICKET_PIPELINE_ID,
        "hs_pipeline_stage": "81234568",
        "hs_ticket_priority": "HIGH",
        **extra,
    }


# --- paths ----------------------------------------------------------------------------------

NUMBERED = [
    ("GET", "/crm/v3/objects/contacts"),
    ("POST", "/crm/v3/objects/contacts"),
    ("POST", "/crm/v3/objects/contacts/search"),
    ("POST", "/crm/v3/objects/contacts/batch/upsert"),
    ("GET", "/crm/v3/objects/tickets/101"),
    ("PUT", "/crm/v4/objects/tickets/101/associations/default/contacts/102"),
    ("GET", "/crm/v4/objects/contacts/101/associations/companies"),
    ("POST", "/crm/v4/associations/contacts/companies/batch/read"),
    ("GET", "/crm/v3/pipelines/tickets"),
    ("GET", "/crm/v3/properties/tickets/hs_ticket_priority"),
    ("GET", "/crm/v3/owners/"),
    ("GET", "/crm/v3/owners"),
    ("GET", "/account-info/v3/details"),
    ("GET", "/account-info/v3/api-usage/daily/private-apps"),
    ("POST", "/visitor-identification/v3/tokens/create"),
    ("POST", "/conversations/v3/visitor-identification/tokens/create"),
]


@pytest.mark.parametrize(("method", "path"), NUMBERED)
def test_numbered_paths_are_not_served(fake, method, path):
    answer = raw(fake, method, path, {"email": "a@b.co"} if method == "POST" else None)
    assert answer.status_code == 404
    assert answer.json()["status"] == "error"


def test_the_sdk_generated_methods_call_numbered_paths_and_get_404(fake):
    # What the panel would see if it still used the SDK's generated methods.
    client = make_client(fake)
    with pytest.raises(Exception) as excinfo:
        client.crm.contacts.basic_api.get_page()
    assert excinfo.value.status == 404
    with pytest.raises(Exception) as excinfo:
        client.crm.owners.owners_api.get_page()  # /crm/v3/owners/ (trailing slash)
    assert excinfo.value.status == 404
    assert fake.count(path_prefix="/crm/v3/") == 2


def test_version_segment_and_exact_paths(fake):
    assert VERSIONS == ("2026-03", "2026-09")
    for version in VERSIONS:
        assert raw(fake, "GET", f"/crm/objects/{version}/contacts").status_code == 200
        assert raw(fake, "GET", f"/crm/owners/{version}").status_code == 200
    for version in ("2025-09", "2026-09-beta", "2027-03", "v3", "latest"):
        assert raw(fake, "GET", f"/crm/objects/{version}/contacts").status_code == 404
        assert raw(fake, "GET", f"/account-info/{version}/details").status_code == 404
    # No trailing-slash normalising: HubSpot's specs have none, and the panel must send none.
    for path in (
        "/crm/owners/2026-09/",
        "/marketing/v3/forms/",
        f"{OBJECTS}/contacts/",
        f"{ACCOUNT}/",
    ):
        assert raw(fake, "GET", path).status_code == 404, path
    assert raw(fake, "GET", "/marketing/v3/forms").status_code == 200


# --- contacts -------------------------------------------------------------------------------


def test_contact_create_get_update_archive(fake, hub):
    created = new_contact(hub, email="Alice@Example.COM", firstname="Alice")
    assert created.id.isdigit()
    assert created.properties["email"] == "alice@example.com"  # stored lower-cased
    assert created.properties["hs_object_id"] == created.id

    found = get(
        hub, "contacts", "ALICE@example.com", idProperty="email", properties=["email", "phone"]
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

    updated = call(
        hub.objects,
        "PATCH",
        f"{OBJECTS}/contacts/{created.id}",
        {"properties": {"lastname": "Liddell"}},
        returns=UPDATED,
    )
    assert updated.properties["lastname"] == "Liddell"
    assert updated.updated_at > created.updated_at

    _, status, _ = call(hub.objects, "DELETE", f"{OBJECTS}/contacts/{created.id}", http_info=True)
    assert status == 204
    with pytest.raises(ObjectsApiException) as excinfo:
        get(hub, "contacts", created.id)
    assert excinfo.value.status == 404
    body = error_of(excinfo)
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["message"] == "Object not found.  objectId are usually numeric."
    assert fake.objects("contacts") == []
    assert get(hub, "contacts", created.id, archived="true").archived is True


def test_wire_shape_of_an_object(fake):
    answer = raw(fake, "POST", f"{OBJECTS}/contacts", {"properties": {"email": "a@b.co"}})
    assert answer.status_code == 201
    assert answer.headers["Content-Type"] == "application/json;charset=utf-8"
    body = answer.json()
    assert set(body) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert ISO_MS.match(body["createdAt"]) and ISO_MS.match(body["properties"]["createdate"])
    assert body["archived"] is False
    second = raw(fake, "POST", f"{OBJECTS}/contacts", {"properties": {"email": "c@d.co"}})
    assert int(second.json()["id"]) > int(body["id"])
    # 2026-03 serves the same objects.
    older = raw(fake, "GET", f"/crm/objects/2026-03/contacts/{body['id']}")
    assert older.status_code == 200 and older.json()["id"] == body["id"]


def test_list_pages_by_cursor(fake, hub):
    fake.seed_contacts(25)
    seen, after, pages = [], None, 0
    while True:
        page = get_page(hub, "contacts", limit=10, after=after, properties=["email"])
        pages += 1
        seen += [c.id for c in page.results]
        assert all("email" in c.properties for c in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
        # The next link names the path that was called, date-based version included.
        assert page.paging.next.link.startswith(f"{fake.url}{OBJECTS}/contacts?after=")
    assert pages == 3 and len(seen) == len(set(seen)) == 25
    with pytest.raises(ObjectsApiException) as excinfo:
        get_page(hub, "contacts", limit=101)
    assert excinfo.value.status == 400
    older = raw(fake, "GET", "/crm/objects/2026-03/contacts?limit=10").json()
    assert "/crm/objects/2026-03/contacts?after=" in older["paging"]["next"]["link"]


def test_duplicate_email_is_a_conflict(fake, hub):
    first = new_contact(hub, email="dup@example.com")
    with pytest.raises(ObjectsApiException) as excinfo:
        new_contact(hub, email="DUP@example.com")
    assert excinfo.value.status == 409
    body = error_of(excinfo)
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first.id}"
    assert len(fake.objects("contacts")) == 1


def test_invalid_property_values_are_rejected(fake, hub):
    with pytest.raises(ObjectsApiException) as excinfo:
        new_contact(hub, email="x@example.com", favourite_colour="blue")
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
    with pytest.raises(ObjectsApiException) as excinfo:
        new_contact(hub, email="x@example.com", phone=5551234)
    assert excinfo.value.status == 400
    assert "INVALID_PROPERTY_VALUE" in error_of(excinfo)["message"]

    with pytest.raises(ObjectsApiException) as excinfo:
        new_contact(hub, email="not-an-email")
    assert "INVALID_EMAIL" in error_of(excinfo)["message"]
    assert fake.objects("contacts") == []


def test_search_total_filters_sorts_and_limits(fake, hub):
    for i, (email, stage) in enumerate(
        [
            ("ann@acme.example", "lead"),
            ("bob@acme.example", "customer"),
            ("cy@other.example", "customer"),
        ]
    ):
        new_contact(hub, email=email, firstname=f"Name{i}", lifecyclestage=stage)

    def emails(**request):
        result = search(hub, "contacts", PublicObjectSearchRequest(**request))
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

    page = search(hub, "contacts", PublicObjectSearchRequest(limit=2))
    assert page.total == 3 and page.paging.next.after == "2"
    rest = search(hub, "contacts", PublicObjectSearchRequest(limit=2, after=page.paging.next.after))
    assert len(rest.results) == 1 and rest.paging is None

    with pytest.raises(ObjectsApiException) as excinfo:
        search(hub, "contacts", PublicObjectSearchRequest(limit=201))
    assert excinfo.value.status == 400
    with pytest.raises(ObjectsApiException) as excinfo:
        search(hub, "contacts", PublicObjectSearchRequest(after="10000"))
    assert excinfo.value.status == 400
    unknown = {"filters": [{"propertyName": "nope", "operator": "EQ", "value": "x"}]}
    with pytest.raises(ObjectsApiException):
        search(hub, "contacts", PublicObjectSearchRequest(filter_groups=[unknown]))


def test_search_ranges_compare_as_hubspot_does_and_empty_values_sort_last(fake, hub):
    """Strings case-blind, numbers as numbers, datetimes as times (ISO or epoch ms); records
    without the property last whichever the direction; equal values optionally scrambled."""
    made = [
        fake.create_object("contacts", {"email": f"p{i}@example.com", "lastname": name})
        for i, name in enumerate(["berg", "Adams", "", "costa", "BERG"])
    ]
    ids = [c["id"] for c in made]

    def found(filters=(), sorts=None):
        request = PublicObjectSearchRequest(
            filter_groups=[{"filters": list(filters)}] if filters else None,
            sorts=sorts,
            properties=["lastname"],
            limit=100,
        )
        return [r.id for r in search(hub, "contacts", request).results]

    def on(operator, value=None, name="lastname"):
        return {"propertyName": name, "operator": operator, "value": value}

    assert found([on("GT", "B")]) == [ids[0], ids[3], ids[4]]  # "berg", "costa", "BERG"
    assert found([on("LT", "berg")]) == [ids[1]]
    assert found([on("EQ", "Berg")]) == [ids[0], ids[4]]
    assert found([{"propertyName": "lastname", "operator": "HAS_PROPERTY"}]) == [
        i for i in ids if i != ids[2]
    ]
    assert found([on("GT", str(int(ids[3])), "hs_object_id")]) == [ids[4]]  # 10x > 9x
    assert found([on("GTE", made[3]["createdAt"], "createdate")]) == ids[3:]
    up = [{"propertyName": "lastname", "direction": "ASCENDING"}]
    down = [{"propertyName": "lastname", "direction": "DESCENDING"}]
    assert found(sorts=up) == [ids[1], ids[0], ids[4], ids[3], ids[2]]
    assert found(sorts=down) == [ids[3], ids[0], ids[4], ids[1], ids[2]]
    fake.state.scrambled_ties = True
    scrambled = found([on("EQ", "berg")], sorts=up)
    assert sorted(scrambled) == [ids[0], ids[4]] and scrambled == found([on("EQ", "berg")], up)


def test_search_index_can_lag_behind_writes(fake, hub):
    fake.search_delay = 0.3
    new_contact(hub, email="fresh@example.com")
    by_email = get(hub, "contacts", "fresh@example.com", idProperty="email")
    assert by_email.properties["email"] == "fresh@example.com"  # a read by id sees it at once
    request = PublicObjectSearchRequest(query="fresh")
    assert search(hub, "contacts", request).total == 0
    time.sleep(0.35)
    assert search(hub, "contacts", request).total == 1


def test_batch_upsert_tells_new_from_existing(fake, hub):
    existing = new_contact(hub, email="old@example.com", firstname="Old")
    batch = {
        "inputs": [
            {"id": "OLD@example.com", "idProperty": "email", "properties": {"lastname": "Timer"}},
            {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "New"}},
        ]
    }
    result = call(
        hub.objects,
        "POST",
        f"{OBJECTS}/contacts/batch/upsert",
        batch,
        returns={200: "BatchResponseSimplePublicUpsertObject"},
    )
    by_email = {r.properties["email"]: r for r in result.results}
    assert by_email["old@example.com"].new is False
    assert by_email["old@example.com"].id == existing.id
    assert by_email["new@example.com"].new is True
    assert len(fake.objects("contacts")) == 2
    stored = {c["properties"]["email"]: c["properties"] for c in fake.objects("contacts")}
    assert stored["old@example.com"]["lastname"] == "Timer"


def test_batch_read_partial_and_input_limit(fake, hub):
    a = new_contact(hub, email="a@example.com")
    returns = {
        200: "BatchResponseSimplePublicObject",
        207: "BatchResponseSimplePublicObjectWithErrors",
    }
    path = f"{OBJECTS}/contacts/batch/read"
    body = {"inputs": [{"id": a.id}, {"id": "999999"}], "properties": []}
    result, status, _ = call(hub.objects, "POST", path, body, returns=returns, http_info=True)
    assert status == 207
    assert [r.id for r in result.results] == [a.id]
    assert result.num_errors == 1 and result.errors[0].context == {"ids": ["999999"]}

    too_many = {"inputs": [{"id": str(i)} for i in range(101)], "properties": []}
    with pytest.raises(ObjectsApiException) as excinfo:
        call(hub.objects, "POST", path, too_many, returns=returns)
    assert excinfo.value.status == 400

    created = raw(
        fake,
        "POST",
        f"{OBJECTS}/contacts/batch/create",
        {
            "inputs": [
                {"properties": {"email": "a@example.com"}},
                {"properties": {"email": "b@x.co"}},
            ]
        },
    )
    assert created.status_code == 207
    assert created.json()["errors"][0]["category"] == "CONFLICT"
    archived = raw(fake, "POST", f"{OBJECTS}/contacts/batch/archive", {"inputs": [{"id": a.id}]})
    assert archived.status_code == 204
    assert [c["properties"]["email"] for c in fake.objects("contacts")] == ["b@x.co"]


def test_gdpr_delete_removes_the_record_for_good(fake, hub):
    gone = new_contact(hub, email="forget.me@example.com")
    kept = new_contact(hub, email="keep@example.com")
    path = f"{OBJECTS}/contacts/gdpr-delete"
    body = {"objectId": "Forget.Me@example.com", "idProperty": "email"}
    _, status, _ = call(hub.objects, "POST", path, body, http_info=True)
    assert status == 204
    assert [c["id"] for c in fake.objects("contacts")] == [kept.id]
    for query in ({}, {"archived": "true"}):  # not even archived: nothing to restore
        with pytest.raises(ObjectsApiException) as excinfo:
            get(hub, "contacts", gone.id, **query)
        assert excinfo.value.status == 404
    assert new_contact(hub, email="forget.me@example.com").id != gone.id  # the email is free

    # An archived record can be purged by id; an unknown one is 404; objectId is required.
    raw(fake, "DELETE", f"{OBJECTS}/contacts/{kept.id}")
    assert raw(fake, "POST", path, {"objectId": kept.id}).status_code == 204
    assert raw(fake, "GET", f"{OBJECTS}/contacts/{kept.id}?archived=true").status_code == 404
    assert raw(fake, "POST", path, {"objectId": "999999"}).status_code == 404
    assert raw(fake, "POST", path, {"objectId": 101}).status_code == 400
    assert raw(fake, "POST", path, {}).status_code == 400
    reader = "pat-na1-reader"
    fake.add_token(reader, scopes=["crm.objects.contacts.read"])
    assert raw(fake, "POST", path, {"objectId": "101"}, token=reader).status_code == 403


# --- credentials ----------------------------------------------------------------------------


def test_unknown_token_is_401_with_fresh_correlation_ids(fake):
    bad = hub_for(fake, token="pat-na1-00000000-0000-0000-0000-000000000000")
    ids = []
    for _ in range(2):
        with pytest.raises(ObjectsApiException) as excinfo:
            get_page(bad, "contacts")
        assert excinfo.value.status == 401
        body = error_of(excinfo)
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")
        ids.append(body["correlationId"])
    assert ids[0] != ids[1]
    assert raw(fake, "GET", ACCOUNT, token=None).status_code == 401


def test_missing_scope_is_403_naming_the_scope(fake):
    fake.add_token("pat-na1-readonly", scopes=["crm.objects.contacts.read"])
    reader = hub_for(fake, token="pat-na1-readonly")
    assert get_page(reader, "contacts").results == []
    with pytest.raises(ObjectsApiException) as excinfo:
        new_contact(reader, email="x@example.com")
    assert excinfo.value.status == 403
    body = error_of(excinfo)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.contacts.write"]
    with pytest.raises(ObjectsApiException) as excinfo:
        get_page(reader, "tickets")
    assert error_of(excinfo)["errors"][0]["context"]["requiredGranularScopes"] == ["tickets"]
    # account-info needs a valid token, nothing more.
    assert reader.client.api_request({"method": "GET", "path": ACCOUNT}).ok


def test_every_credential_kind_is_accepted(fake):
    assert CREDENTIAL_KINDS == ("private_app", "service_key", "app_static_token", "oauth")
    assert FAKE_TOKEN.startswith("pat-")
    # Formats of the newer kinds are undocumented: nothing may go by prefix.
    assert not FAKE_SERVICE_KEY.startswith("pat-") and not FAKE_APP_TOKEN.startswith("pat-")
    assert fake.credential(FAKE_SERVICE_KEY).kind == "service_key"
    assert fake.credential(FAKE_APP_TOKEN).kind == "app_static_token"
    fake.add_token("CAESEOauthAccessToken", scopes=["crm.objects.contacts.read"], kind="oauth")
    for token in (FAKE_TOKEN, FAKE_SERVICE_KEY, FAKE_APP_TOKEN):
        user = hub_for(fake, token)
        contact = new_contact(user, email=f"{token[:6].lower()}@example.com")
        assert get(user, "contacts", contact.id).id == contact.id
        assert user.client.api_request({"method": "GET", "path": ACCOUNT}).json()["portalId"]
        assert call(
            user.owners,
            "GET",
            f"/crm/owners/{V}",
            returns={200: "CollectionResponsePublicOwnerForwardPaging"},
        ).results
        visitor = f"/visitor-identification/{V}/tokens/create"
        assert raw(fake, "POST", visitor, {"email": "v@example.com"}, token=token).ok
    oauth = hub_for(fake, "CAESEOauthAccessToken")
    assert len(get_page(oauth, "contacts").results) == 3
    with pytest.raises(ObjectsApiException) as excinfo:  # scopes still apply to every kind
        new_contact(oauth, email="o@example.com")
    assert excinfo.value.status == 403
    with pytest.raises(ValueError):
        fake.add_token("x", kind="api_key")


def test_token_info_answers_for_private_app_tokens_only(fake):
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
    # A service key, app token or OAuth token is not a private-app token: the same answer as
    # for a token HubSpot never issued, though each works on every other route.
    fake.add_token("CAESEOauth", scopes=["tickets"], kind="oauth")
    for token in (FAKE_SERVICE_KEY, FAKE_APP_TOKEN, "CAESEOauth"):
        other = raw(fake, "POST", path, {"tokenKey": token}, token=None)
        assert (other.status_code, other.json()["category"]) == (401, unknown.json()["category"])
        assert other.json()["message"] == unknown.json()["message"]


def test_account_info_through_api_request(fake, hub):
    answer = hub.client.api_request({"method": "GET", "path": ACCOUNT})
    assert answer.status_code == 200
    assert answer.json()["portalId"] == FAKE_PORTAL_ID
    assert answer.json()["uiDomain"] == "app.hubspot.com"
    fake.account["dataHostingLocation"] = "eu1"
    fake.account["uiDomain"] = "app-eu1.hubspot.com"
    eu = hub.client.api_request({"method": "GET", "path": ACCOUNT}).json()
    assert (eu["dataHostingLocation"], eu["uiDomain"]) == ("eu1", "app-eu1.hubspot.com")
    assert raw(fake, "GET", "/account-info/2026-03/details").json() == eu


def test_daily_api_usage_counts_the_real_calls(fake, hub):
    path = f"/account-info/{V}/api-usage/daily/private-apps"
    for _ in range(3):
        get_page(hub, "contacts")
    answer = raw(fake, "GET", path)
    assert answer.status_code == 200
    (usage,) = answer.json()["results"]
    assert set(usage) == {
        "name",
        "usageLimit",
        "currentUsage",
        "collectedAt",
        "fetchStatus",
        "resetsAt",
    }
    assert usage["name"] == "api-calls-daily" and usage["fetchStatus"] == "SUCCESS"
    assert (usage["currentUsage"], usage["usageLimit"]) == (4, 250_000)  # this call included
    assert ISO_MS.match(usage["collectedAt"]) and usage["resetsAt"] > usage["collectedAt"]
    assert usage["resetsAt"].endswith("T05:00:00.000Z")  # midnight in US/Eastern (-05:00)
    # The limit is the one configured; the count agrees with the rate-limit headers.
    fake.rate_limit(max_per_window=100, window_seconds=10, daily=1000)
    _, _, headers = page_with_http_info(hub)
    usage = raw(fake, "GET", path).json()["results"][0]
    assert (usage["currentUsage"], usage["usageLimit"]) == (2, 1000)
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "999"


# --- tickets, pipelines, associations, properties --------------------------------------------


def test_ticket_with_contact_association_and_pipeline_rules(fake, hub):
    contact = new_contact(hub, email="cus@example.com")
    to_contact = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]
    ticket = create(
        hub, "tickets", ticket_props(), [{"to": {"id": contact.id}, "types": to_contact}]
    )
    got = get(hub, "tickets", ticket.id, associations=["contacts"])
    links = got.associations["contacts"].results
    assert [(link.id, link.type) for link in links] == [(contact.id, "ticket_to_contact")]
    back = get(hub, "contacts", contact.id, associations=["tickets"])
    assert back.associations["tickets"].results[0].type == "contact_to_ticket"
    # "My tickets": search tickets by their associated contact.
    mine = search(
        hub,
        "tickets",
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
        },
    )
    assert [t.id for t in mine.results] == [ticket.id]

    def refused(props, associations=()):
        with pytest.raises(ObjectsApiException) as excinfo:
            create(hub, "tickets", props, associations)
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
    ghost = {"to": {"id": "987654"}, "types": to_contact}
    assert "987654" in refused(ticket_props(), [ghost])
    assert len(fake.objects("tickets")) == 1


def test_pipelines_shape(fake, hub):
    def pipelines(object_type):
        path = f"/crm/pipelines/{V}/{object_type}"
        return call(
            hub.pipelines, "GET", path, returns={200: "CollectionResponsePipelineNoPaging"}
        ).results

    tickets = pipelines("tickets")
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

    deals = pipelines("deals")
    assert len(deals) == 2 and all(len(p.stages) >= 4 for p in deals)
    assert deals[0].stages[0].metadata == {"probability": "0.2", "isClosed": "false"}
    one = call(
        hub.pipelines, "GET", f"/crm/pipelines/{V}/deals/{deals[1].id}", returns={200: "Pipeline"}
    )
    assert one.label == deals[1].label
    assert raw(fake, "GET", f"/crm/pipelines/{V}/deals/0").status_code == 404

    fake.set_pipelines("tickets", [{"id": "555", "label": "Only", "stages": [{"id": "556"}]}])
    assert [p.id for p in pipelines("tickets")] == ["555"]


def test_associations(fake, hub):
    contact = new_contact(hub, email="v4@example.com")
    company = fake.create_object("companies", {"name": "Acme", "domain": "acme.example"})
    base = f"{OBJECTS}/contacts/{contact.id}/associations"
    spec = AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=279)
    pair = call(
        hub.associations,
        "PUT",
        f"{base}/companies/{company['id']}",
        [spec],
        returns={201: "LabelsBetweenObjectPair"},
    )
    assert (pair.from_object_type_id, pair.to_object_type_id) == ("0-1", "0-2")
    assert (pair.from_object_id, pair.to_object_id) == (contact.id, company["id"])

    deal = fake.create_object("deals", {"dealname": "Big one"})
    default = call(
        hub.associations,
        "PUT",
        f"{OBJECTS}/deals/{deal['id']}/associations/default/contacts/{contact.id}",
        returns={200: "BatchResponsePublicDefaultAssociation"},
    )
    assert default.status == "COMPLETE"
    assert {r.association_spec.association_type_id for r in default.results} == {3, 4}

    listed_type = {200: "CollectionResponseMultiAssociatedObjectWithLabelForwardPaging"}
    listed = call(hub.associations, "GET", f"{base}/companies", returns=listed_type)
    assert [r.to_object_id for r in listed.results] == [company["id"]]
    assert listed.results[0].association_types[0].type_id == 279
    deals = call(hub.associations, "GET", f"{base}/deals", returns=listed_type)
    assert [r.to_object_id for r in deals.results] == [deal["id"]]
    wrong = raw(
        fake,
        "PUT",
        f"{base}/companies/{company['id']}",
        [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
    )
    assert wrong.status_code == 400

    removed = raw(fake, "DELETE", f"{base}/companies/{company['id']}")
    assert removed.status_code == 204
    assert call(hub.associations, "GET", f"{base}/companies", returns=listed_type).results == []


def test_batch_associations(fake, hub):
    contacts = [new_contact(hub, email=f"b{i}@example.com").id for i in range(2)]
    companies = [fake.create_object("companies", {"name": f"Co {i}"})["id"] for i in range(2)]
    batch = f"/crm/associations/{V}/contacts/companies/batch"
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}  # primary
    created_type = {
        200: "BatchResponseLabelsBetweenObjectPair",
        201: "BatchResponseLabelsBetweenObjectPair",
        207: "BatchResponseLabelsBetweenObjectPairWithErrors",
    }
    body = {"inputs": [{"from": {"id": contacts[0]}, "to": {"id": companies[0]}, "types": [spec]}]}
    created, status, _ = call(
        hub.associations, "POST", f"{batch}/create", body, returns=created_type, http_info=True
    )
    assert status == 200  # 2026-09; 2026-03 (like v4) answers 201
    assert [(r.from_object_id, r.to_object_id, r.labels) for r in created.results] == [
        (contacts[0], companies[0], ["Primary"])
    ]
    older = raw(fake, "POST", "/crm/associations/2026-03/contacts/companies/batch/create", body)
    assert older.status_code == 201
    bad = {
        "inputs": [
            {"from": {"id": contacts[1]}, "to": {"id": "999999"}, "types": [spec]},
            {"from": {"id": contacts[1]}, "to": {"id": companies[1]}, "types": [spec]},
        ]
    }
    partial, status, _ = call(
        hub.associations, "POST", f"{batch}/create", bad, returns=created_type, http_info=True
    )
    assert status == 207 and partial.num_errors == 1 and len(partial.results) == 1

    defaults = call(
        hub.associations,
        "POST",
        f"{batch}/associate/default",
        {"inputs": [{"from": {"id": contacts[0]}, "to": {"id": companies[1]}}]},
        returns={200: "BatchResponsePublicDefaultAssociation"},
    )
    assert {r.association_spec.association_type_id for r in defaults.results} == {279, 280}

    read_type = {
        200: "BatchResponsePublicAssociationMultiWithLabel",
        207: "BatchResponsePublicAssociationMultiWithLabelWithErrors",
    }
    nobody = fake.create_object("contacts", {"email": "alone@example.com"})["id"]
    read_body = {"inputs": [{"id": contacts[0]}, {"id": nobody}]}
    read, status, _ = call(
        hub.associations, "POST", f"{batch}/read", read_body, returns=read_type, http_info=True
    )
    assert status == 207 and read.errors[0].context == {"fromObjectId": [nobody]}
    (first,) = read.results
    assert first._from.id == contacts[0]
    assert {t.to_object_id: sorted(a.type_id for a in t.association_types) for t in first.to} == {
        companies[0]: [1, 279],
        companies[1]: [279],
    }

    archive = {"inputs": [{"from": {"id": contacts[0]}, "to": [{"id": companies[0]}]}]}
    archived = raw(fake, "POST", f"{batch}/archive", archive)
    assert archived.status_code == 200 and archived.json()["results"] == []
    after = call(
        hub.associations,
        "POST",
        f"{batch}/read",
        {"inputs": [{"id": contacts[0]}]},
        returns=read_type,
    )
    assert [t.to_object_id for t in after.results[0].to] == [companies[1]]
    reader = "pat-na1-assoc-reader"
    fake.add_token(reader, scopes=["crm.objects.contacts.read", "crm.objects.companies.read"])
    assert raw(fake, "POST", f"{batch}/read", read_body, token=reader).status_code == 207
    assert raw(fake, "POST", f"{batch}/archive", archive, token=reader).status_code == 403


def test_properties_endpoints(fake, hub):
    path = f"/crm/properties/{V}"
    priority = call(
        hub.properties, "GET", f"{path}/tickets/hs_ticket_priority", returns={200: "ModelProperty"}
    )
    assert priority.type == "enumeration"
    assert [o.value for o in priority.options] == ["LOW", "MEDIUM", "HIGH", "URGENT"]
    listed = call(
        hub.properties,
        "GET",
        f"{path}/contacts",
        returns={200: "CollectionResponsePropertyNoPaging"},
    )
    names = {p.name for p in listed.results}
    assert {"email", "firstname", "lastname", "phone", "lifecyclestage"} <= names
    assert raw(fake, "GET", f"{path}/contacts/nope").status_code == 404

    spec = PropertyCreate(
        name="skypanel_customer_id",
        label="SkyPanel customer ID",
        type="string",
        field_type="text",
        group_name="contactinformation",
    )
    created = call(hub.properties, "POST", f"{path}/contacts", spec, returns={201: "ModelProperty"})
    assert created.name == "skypanel_customer_id"
    with pytest.raises(PropertiesApiException) as excinfo:
        call(hub.properties, "POST", f"{path}/contacts", spec, returns={201: "ModelProperty"})
    assert excinfo.value.status == 409
    assert new_contact(hub, email="p@example.com", skypanel_customer_id="42").id

    fake.define_property("tickets", "plan", type="enumeration", options=["free", "pro"])
    with pytest.raises(ObjectsApiException):
        create(hub, "tickets", ticket_props(plan="gold"))
    assert create(hub, "tickets", ticket_props(plan="pro")).id


# --- owners, forms, visitor identification -------------------------------------------------------


def test_owners(fake, hub):
    owners_type = {200: "CollectionResponsePublicOwnerForwardPaging"}
    owners = call(hub.owners, "GET", f"/crm/owners/{V}", returns=owners_type).results
    assert len(owners) == 3
    assert all(o.id and o.email and o.user_id for o in owners)
    email = owners[1].email.upper()
    one = call(hub.owners, "GET", f"/crm/owners/{V}", query={"email": email}, returns=owners_type)
    assert [o.id for o in one.results] == [owners[1].id]
    by_id = call(hub.owners, "GET", f"/crm/owners/{V}/{owners[2].id}", returns={200: "PublicOwner"})
    assert by_id.email == owners[2].email
    assert raw(fake, "GET", f"/crm/owners/{V}/1").status_code == 404


def test_forms_list_and_submission(fake, hub):
    forms = call(
        hub.forms,
        "GET",
        "/marketing/v3/forms",
        returns={200: "CollectionResponseFormDefinitionBaseForwardPaging"},
    ).results
    assert {f.id for f in forms} == {f["id"] for f in fake.forms()}
    assert len(forms) == 2
    one = call(
        hub.forms,
        "GET",
        f"/marketing/v3/forms/{CONTACT_FORM_ID}",
        returns={200: "FormDefinitionBase"},
    )
    assert one.name == "Contact us"

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
    secure = path.replace("/integration/submit/", "/integration/secure/submit/")
    assert raw(fake, "POST", secure, body, token=None).status_code == 401
    assert raw(fake, "POST", secure, body).status_code == 200
    assert len(fake.form_submissions) == 2


def test_visitor_identification(fake, hub):
    path = f"/visitor-identification/{V}/tokens/create"
    returns = {200: "IdentificationTokenResponse"}
    request = {"email": "cus@example.com", "firstName": "Cus", "lastName": "Tomer"}
    token = call(hub.visitor, "POST", path, request, returns=returns).token
    assert token and fake.identification_tokens == [
        {"email": "cus@example.com", "token": token, "firstName": "Cus", "lastName": "Tomer"}
    ]
    assert call(hub.visitor, "POST", path, request, returns=returns).token != token  # fresh
    assert raw(fake, "POST", path, {"firstName": "No email"}).status_code == 400

    fake.visitor_identification_allowed = False  # e.g. a Starter plan
    with pytest.raises(VisitorApiException) as excinfo:
        call(hub.visitor, "POST", path, request, returns=returns)
    assert excinfo.value.status == 403

    fake.visitor_identification_allowed = True
    fake.add_token("pat-na1-nochat", scopes=["crm.objects.contacts.read"])
    limited = hub_for(fake, token="pat-na1-nochat")
    with pytest.raises(VisitorApiException) as excinfo:
        call(limited.visitor, "POST", path, request, returns=returns)
    assert excinfo.value.status == 403
    assert error_of(excinfo)["category"] == "MISSING_SCOPES"


# --- rate limits ----------------------------------------------------------------------------


def test_rate_limit_headers_are_always_sent_except_on_search(fake, hub):
    _, status, headers = page_with_http_info(hub)
    assert status == 200
    assert {h: headers[h] for h in RATE_HEADERS} == {
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "99",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Daily": "250000",
        "X-HubSpot-RateLimit-Daily-Remaining": "249999",
    }
    _, _, headers = search(hub, "contacts", PublicObjectSearchRequest(), http_info=True)
    assert not any(h in headers for h in RATE_HEADERS)


def test_rolling_window_refuses_then_recovers(fake, hub):
    fake.rate_limit(max_per_window=3, window_seconds=1.0, retry_after=1)
    remaining = [page_with_http_info(hub)[2]["X-HubSpot-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    with pytest.raises(ObjectsApiException) as excinfo:
        get_page(hub, "contacts")
    assert excinfo.value.status == 429
    assert excinfo.value.headers["Retry-After"] == "1"
    assert excinfo.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    body = error_of(excinfo)
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert body["category"] == "RATE_LIMITS"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    time.sleep(1.05)
    assert get_page(hub, "contacts").results == []


def test_daily_and_search_limits(fake, hub):
    fake.search_rate_limit(per_second=2)
    search(hub, "contacts", PublicObjectSearchRequest())
    search(hub, "contacts", PublicObjectSearchRequest())
    with pytest.raises(ObjectsApiException) as excinfo:
        search(hub, "contacts", PublicObjectSearchRequest())
    assert excinfo.value.status == 429 and error_of(excinfo)["policyName"] == "SECONDLY"
    assert "X-HubSpot-RateLimit-Remaining" not in excinfo.value.headers

    fake.rate_limit(max_per_window=100, window_seconds=10, daily=2)
    get_page(hub, "contacts")
    get_page(hub, "contacts")
    with pytest.raises(ObjectsApiException) as excinfo:
        get_page(hub, "contacts")
    assert error_of(excinfo)["policyName"] == "DAILY"


# --- faults ---------------------------------------------------------------------------------


def test_fail_next_only_hits_matching_paths(fake, hub):
    fake.faults.fail_next(2, status=503, path_prefix=f"{OBJECTS}/contacts")
    assert get_page(hub, "tickets").results == []  # other paths unaffected
    for _ in range(2):
        with pytest.raises(ObjectsApiException) as excinfo:
            get_page(hub, "contacts")
        assert excinfo.value.status == 503
        assert error_of(excinfo)["category"] == "INTERNAL_ERROR"
        assert error_of(excinfo)["correlationId"]
    assert get_page(hub, "contacts").results == []
    assert fake.count("GET", f"{OBJECTS}/contacts") == 3
    assert [r.status for r in fake.requests] == [200, 503, 503, 200]


def test_fail_rate_is_deterministic(fake):
    def pattern():
        fake.faults.clear()
        fake.faults.fail_rate(0.5, status=500, seed=7)
        return [raw(fake, "GET", ACCOUNT).status_code for _ in range(20)]

    first = pattern()
    assert first == pattern()
    assert set(first) == {200, 500}


def test_drop_after_store_keeps_the_write(fake, hub):
    fake.faults.drop_next(1, after_store=True, path_prefix=f"{OBJECTS}/contacts")
    with pytest.raises(urllib3.exceptions.HTTPError):
        new_contact(hub, email="lost@example.com")
    # HubSpot applied the write; only the answer was lost. A blind retry would now conflict.
    assert [c["properties"]["email"] for c in fake.objects("contacts")] == ["lost@example.com"]
    assert fake.requests[-1].status == 0
    with pytest.raises(ObjectsApiException) as excinfo:
        new_contact(hub, email="lost@example.com")
    assert excinfo.value.status == 409

    fake.faults.drop_next(1, after_store=False)
    with pytest.raises(urllib3.exceptions.HTTPError):
        new_contact(hub, email="never@example.com")
    assert len(fake.objects("contacts")) == 1

    fake.faults.drop_rate(1.0, after_store=False)
    with pytest.raises(requests.ConnectionError):
        raw(fake, "GET", ACCOUNT)
    fake.faults.clear()
    assert raw(fake, "GET", ACCOUNT).ok  # and the server lives on


def test_latency_causes_a_client_read_timeout(fake, hub):
    fake.faults.latency(3.0, path_prefix=f"{OBJECTS}/contacts")
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.HTTPError) as excinfo:
        get_page(hub, "contacts", _request_timeout=(1, 0.2))
    # Gave up long before the answer would have come (a wide margin: loaded machines are slow).
    assert time.monotonic() - started < 2.5
    assert "timed out" in str(excinfo.value).lower()
    owners_type = {200: "CollectionResponsePublicOwnerForwardPaging"}
    owners = call(
        hub.owners, "GET", f"/crm/owners/{V}", returns=owners_type, _request_timeout=(1, 0.2)
    )
    assert owners.results  # not slowed
    fake.faults.latency(0, path_prefix=f"{OBJECTS}/contacts")
    assert get_page(hub, "contacts", _request_timeout=(1, 0.5)).results == []


def test_down_and_up(fake, hub):
    fake.faults.down()
    with pytest.raises(ObjectsApiException) as excinfo:
        get_page(hub, "contacts")
    assert excinfo.value.status == 503
    assert raw(fake, "GET", ACCOUNT).status_code == 503
    fake.faults.up()
    assert get_page(hub, "contacts").results == []


def test_burst_429_with_retry_after(fake, hub):
    fake.faults.burst_429(2, retry_after=3)
    for _ in range(2):
        with pytest.raises(ObjectsApiException) as excinfo:
            get_page(hub, "contacts")
        assert excinfo.value.status == 429
        assert excinfo.value.headers["Retry-After"] == "3"
        assert error_of(excinfo)["policyName"] == "TEN_SECONDLY_ROLLING"
        assert error_of(excinfo)["category"] == "RATE_LIMITS"
    assert get_page(hub, "contacts").results == []


# --- seeding, HTTP details, lifecycle ---------------------------------------------------------


def test_seeding_is_searchable(fake, hub):
    # Its speed is not asserted here: a timed test fails on a loaded machine, not on slow code.
    ids = fake.seed_contacts(2500)
    assert len(ids) == len(set(ids)) == 2500
    customers = search(
        hub,
        "contacts",
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}
                    ]
                }
            ],
            limit=200,
        ),
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
    missing = raw(fake, "GET", f"/crm/{V}/nothing-here")
    assert missing.status_code == 404 and missing.json()["status"] == "error"
    broken = requests.post(
        fake.url + f"{OBJECTS}/contacts",
        data=b"{not json",
        headers={"Authorization": f"Bearer {FAKE_TOKEN}", "Content-Type": "application/json"},
        timeout=5,
    )
    assert broken.status_code == 400 and broken.json()["category"] == "VALIDATION_ERROR"
    with requests.Session() as session:  # keep-alive: many answers on one pooled connection
        session.headers["Authorization"] = f"Bearer {FAKE_TOKEN}"
        for _ in range(3):
            answer = session.get(fake.url + f"/crm/owners/{V}", timeout=5)
            assert answer.status_code == 200 and answer.raw.version == 11
    recorded = fake.requests[-1]
    assert recorded.path == f"/crm/owners/{V}" and recorded.headers["authorization"]
    assert recorded.params == {"v": V}


def test_concurrent_writes_are_consistent(fake, hub):
    errors = []

    def create_one(i):
        try:
            new_contact(hub, email=f"user{i}@example.com")
        except Exception as err:  # collected, so the assertion shows them
            errors.append(err)

    threads = [threading.Thread(target=create_one, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [c["id"] for c in fake.objects("contacts")]
    assert len(ids) == len(set(ids)) == 20


def test_reset_restores_a_fresh_account(fake):
    fake.add_token("pat-na1-extra", scopes=["tickets"])
    fake.add_token(FAKE_SERVICE_KEY, scopes=[], kind="service_key")  # narrowed, then restored
    fake.account["dataHostingLocation"] = "eu1"
    fake.visitor_identification_allowed = False
    fake.faults.down()
    fake.create_object("contacts", {"email": "gone@example.com"})
    fake.reset()
    assert fake.objects("contacts") == [] and fake.requests == []
    assert fake.account["dataHostingLocation"] == "na1"
    assert fake.visitor_identification_allowed is True
    assert raw(fake, "GET", ACCOUNT, token="pat-na1-extra").status_code == 401
    for token in (FAKE_TOKEN, FAKE_SERVICE_KEY, FAKE_APP_TOKEN):
        assert raw(fake, "GET", f"{OBJECTS}/tickets", token=token).status_code == 200


def test_extension_point_adds_routes_and_resets_with_the_fake(monkeypatch):
    calls = []
    module = types.ModuleType("fake_hubspot_test_extension")

    def register_routes(routes):
        routes.append(
            fake_server.route(
                "POST",
                f"/extension/{fake_server.VERSION}/ping",
                lambda fake, call: (200, {"pong": True, "version": call.params["v"]}),
            )
        )

    module.register_routes = register_routes
    module.reset = lambda fake: calls.append("reset")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(fake_server, "EXTRA_ROUTE_MODULES", [module.__name__])
    monkeypatch.setattr(fake_server, "ROUTES", list(fake_server.ROUTES))
    monkeypatch.setattr(fake_server, "_extras", None)
    with FakeHubSpot() as other:
        answer = requests.post(other.url + f"/extension/{V}/ping", timeout=5)
        assert answer.json() == {"pong": True, "version": V}
        assert requests.post(other.url + "/extension/v1/ping", timeout=5).status_code == 404
        other.reset()
    assert calls == ["reset"]


def test_standalone_server_prints_what_a_person_needs():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_hubspot", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        printed = "".join(process.stdout.readline() for _ in range(11))
        for needed in (FAKE_TOKEN, FAKE_SERVICE_KEY, FAKE_APP_TOKEN, str(FAKE_PORTAL_ID)):
            assert needed in printed
        assert CONTACT_FORM_ID in printed and "restart" in printed
        for token in (FAKE_TOKEN, FAKE_SERVICE_KEY):
            answer = requests.get(
                url + ACCOUNT, headers={"Authorization": f"Bearer {token}"}, timeout=5
            )
            assert answer.json()["portalId"] == FAKE_PORTAL_ID
    finally:
        process.terminate()
        process.wait(timeout=5)
