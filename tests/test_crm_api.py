"""The contacts, tickets and pipelines API: shapes, status codes, permissions."""

import pytest

from hubspot_integration.models import OutboxOperation
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
BASE = "/api/admin/settings/hubspot"


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


@pytest.mark.parametrize(
    "who,contacts_status,tickets_status",
    [
        (None, 401, 401),
        ("customer", 403, 403),
        ("plain_staff", 403, 403),
        ("staff", 200, 200),
        ("admin", 200, 200),
        ("superuser", 200, 200),
    ],
)
def test_permission_matrix(users, tickets_on, who, contacts_status, tickets_status):
    client = client_for(users.get(who) if who else None)
    assert client.get(f"{BASE}/contacts").status_code == contacts_status
    assert client.get(f"{BASE}/tickets").status_code == tickets_status
    assert client.get(f"{BASE}/pipelines").status_code == tickets_status
    assert client.get(f"{BASE}/contacts/1").status_code in (contacts_status, 404)
    expected_write = 401 if who is None else (403 if contacts_status == 403 else None)
    if expected_write:
        assert post(client, f"{BASE}/contacts", {"email": "x@example.com"}).status_code == (
            expected_write
        )
        assert client.delete(f"{BASE}/contacts/1").status_code == expected_write
        assert not OutboxOperation.objects.exists()


def test_contact_list_shape_and_paging(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.seed_contacts(25)
    client = client_for(hubspot_staff)
    first = client.get(f"{BASE}/contacts?limit=10").json()
    assert first["success"] is True and len(first["contacts"]) == 10
    assert set(first["contacts"][0]) == {"id", "properties"}
    assert "email" in first["contacts"][0]["properties"]
    nxt = first["paging"]["next"]
    second = client.get(f"{BASE}/contacts?limit=10&after={nxt}").json()
    assert {c["id"] for c in first["contacts"]}.isdisjoint({c["id"] for c in second["contacts"]})
    last = client.get(f"{BASE}/contacts?limit=100").json()
    assert last["paging"]["next"] is None


def test_a_list_gives_its_total_when_asked(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.seed_contacts(25)
    fake_hubspot.create_object("contacts", {"email": "needle@haystack.io", "company": "Haystack"})
    client = client_for(hubspot_staff)
    plain = client.get(f"{BASE}/contacts?limit=10").json()
    assert "total" not in plain  # not asked: no extra search
    asked = client.get(f"{BASE}/contacts?limit=10&total=true").json()
    assert asked["total"] == 26 and len(asked["contacts"]) == 10
    searched = client.get(f"{BASE}/contacts?q=haystack&total=1").json()
    assert searched["total"] == 1
    assert [c["properties"]["email"] for c in searched["contacts"]] == ["needle@haystack.io"]


def test_a_ticket_list_gives_its_total_when_asked(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.seed_tickets(7)
    body = client_for(hubspot_staff).get(f"{BASE}/tickets?limit=5&total=true").json()
    assert body["total"] == 7 and len(body["tickets"]) == 5


def test_contact_search(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.seed_contacts(10)
    fake_hubspot.create_object("contacts", {"email": "needle@haystack.io", "company": "Haystack"})
    body = client_for(hubspot_staff).get(f"{BASE}/contacts?q=haystack").json()
    assert [c["properties"]["email"] for c in body["contacts"]] == ["needle@haystack.io"]


def test_create_contact_201_then_200_for_the_same_email(hubspot_staff, tickets_on, fake_hubspot):
    client = client_for(hubspot_staff)
    body = {"email": "new@example.com", "firstname": "New", "company": "Co"}
    first = post(client, f"{BASE}/contacts", body)
    assert first.status_code == 201
    assert first.json()["created"] is True
    assert first.json()["contact"]["properties"]["email"] == "new@example.com"
    second = post(client, f"{BASE}/contacts", body)
    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["contact"]["id"] == first.json()["contact"]["id"]
    assert len(fake_hubspot.objects("contacts")) == 1


def test_create_contact_202_when_hubspot_is_down(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.faults.down()
    response = post(client_for(hubspot_staff), f"{BASE}/contacts", {"email": "q@example.com"})
    assert response.status_code == 202
    body = response.json()
    assert body == {
        "success": True,
        "queued": True,
        "operation": OutboxOperation.objects.get().pk,
        "message": body["message"],
    }


def test_invalid_contact_is_refused_naming_the_field(hubspot_staff, tickets_on, fake_hubspot):
    response = post(client_for(hubspot_staff), f"{BASE}/contacts", {"email": "not-email"})
    assert response.status_code == 400
    assert response.json()["success"] is False and "email" in response.json()["details"]
    assert fake_hubspot.count() == 0


def test_get_patch_delete_contact(hubspot_staff, tickets_on, fake_hubspot):
    contact = fake_hubspot.create_object("contacts", {"email": "g@example.com"})
    client = client_for(hubspot_staff)
    url = f"{BASE}/contacts/{contact['id']}"
    assert client.get(url).json()["contact"]["properties"]["email"] == "g@example.com"
    patched = client.patch(url, {"phone": "123"}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["contact"]["properties"]["phone"] == "123"
    assert client.delete(url).json() == {"success": True, "archived": True}
    missing = client.get(url)
    assert missing.status_code == 404 and missing.json()["success"] is False


def test_create_ticket_and_read_it_back(hubspot_staff, tickets_on, fake_hubspot):
    client = client_for(hubspot_staff)
    response = post(
        client,
        f"{BASE}/tickets",
        {"subject": "Help", "content": "Please", "email": "req@example.com", "priority": "urgent"},
    )
    assert response.status_code == 201, response.json()
    ticket = response.json()["ticket"]
    assert ticket["properties"]["hs_ticket_priority"] == "URGENT"
    detail = client.get(f"{BASE}/tickets/{ticket['id']}").json()["ticket"]
    contact_id = fake_hubspot.objects("contacts")[0]["id"]
    assert detail["contacts"] == [contact_id]
    listed = client.get(f"{BASE}/tickets").json()
    assert [t["id"] for t in listed["tickets"]] == [ticket["id"]]


def test_patch_ticket_stage(hubspot_staff, tickets_on, fake_hubspot):
    client = client_for(hubspot_staff)
    ticket = post(client, f"{BASE}/tickets", {"subject": "S", "email": "a@example.com"}).json()
    stage = fake_hubspot.pipelines("tickets")[0]["stages"][-1]
    response = client.patch(
        f"{BASE}/tickets/{ticket['ticket']['id']}",
        {"stage": stage["id"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["ticket"]["properties"]["hs_pipeline_stage"] == stage["id"]


def test_ticket_validation_names_fields(hubspot_staff, tickets_on):
    response = post(
        client_for(hubspot_staff), f"{BASE}/tickets", {"subject": "", "priority": "NOW"}
    )
    assert response.status_code == 400
    details = response.json()["details"]
    assert {"subject", "email", "priority"} <= set(details)


def test_tickets_disabled_is_said(hubspot_staff, hubspot_settings):
    client = client_for(hubspot_staff)
    for response in (
        client.get(f"{BASE}/tickets"),
        client.get(f"{BASE}/pipelines"),
        post(client, f"{BASE}/tickets", {"subject": "x", "email": "a@example.com"}),
    ):
        assert response.status_code == 403
        assert "switched off" in response.json()["message"]


def test_pipelines_endpoint(hubspot_staff, tickets_on, fake_hubspot):
    body = client_for(hubspot_staff).get(f"{BASE}/pipelines").json()
    assert [p["id"] for p in body["pipelines"]] == [
        p["id"] for p in fake_hubspot.pipelines("tickets")
    ]
    assert body["pipelines"][0]["stages"][0]["label"]


def test_hubspot_outage_on_a_read_is_an_envelope_not_a_traceback(
    hubspot_staff, tickets_on, fake_hubspot
):
    fake_hubspot.faults.down()
    response = client_for(hubspot_staff).get(f"{BASE}/contacts")
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False and "HubSpot" in body["message"]
    assert "Traceback" not in response.content.decode()


def test_not_configured_is_said(hubspot_staff, db, fake_hubspot):
    response = client_for(hubspot_staff).get(f"{BASE}/contacts")
    assert response.status_code == 409
    assert "switched off" in response.json()["message"]
