"""The settings API: admins only, the token write-only, one error envelope."""

import pytest
from rest_framework.authtoken.models import Token

from hubspot_integration.models import HubSpotSettings, SettingsAuditEntry
from tests.fake_hubspot import FAKE_TOKEN
from tests.helpers import client_for

CONFIG = "/api/admin/settings/hubspot/config"
UPDATE = "/api/admin/settings/hubspot"
TEST = "/api/admin/settings/hubspot/test-connection"
TOKEN = "pat-eu1-aaaabbbb-cccc-dddd-eeee-ffff00009876"

MATRIX = [
    (None, 401),
    ("customer", 403),
    ("plain_staff", 403),
    ("staff", 403),
    ("admin", 200),
    ("superuser", 200),
]


@pytest.mark.django_db
@pytest.mark.parametrize("who,expected", MATRIX)
def test_config_permissions(users, who, expected):
    response = client_for(users.get(who) if who else None).get(CONFIG)
    assert response.status_code == expected
    body = response.json()
    if expected != 200:
        assert body["success"] is False and body["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("who,expected", MATRIX)
def test_update_permissions(users, who, expected):
    client = client_for(users.get(who) if who else None)
    response = client.put(UPDATE, {"portalId": "77"}, content_type="application/json")
    assert response.status_code == expected
    assert (HubSpotSettings.load().portal_id == "77") is (expected == 200)


@pytest.mark.django_db
@pytest.mark.parametrize("who,expected", MATRIX)
def test_test_connection_permissions(users, who, expected, hubspot_settings):
    assert client_for(users.get(who) if who else None).post(TEST).status_code == expected


@pytest.mark.django_db
def test_config_never_returns_the_token(hubspot_admin):
    s = HubSpotSettings.load()
    s.access_token = TOKEN
    s.portal_id = "99"
    s.save()
    response = client_for(hubspot_admin).get(CONFIG)
    text = response.content.decode()
    assert TOKEN not in text and "aaaabbbb" not in text
    data = response.json()["data"]
    assert data["hasApiKey"] is True
    assert data["apiKeyMasked"] == "pat-…9876"
    assert data["portalId"] == "99"
    assert "apiKey" not in data


@pytest.mark.django_db
def test_put_sets_keeps_and_clears_the_token(hubspot_admin):
    client = client_for(hubspot_admin)
    body = {
        "enabled": True,
        "portalId": "12345",
        "apiKey": TOKEN,
        "chatEnabled": True,
        "ticketEnabled": True,
        "ticketFormId": "1a2b3c4d-0000-4000-8000-123456789abc",
        "contactFormId": "",
    }
    response = client.put(UPDATE, body, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert TOKEN not in response.content.decode()
    s = HubSpotSettings.objects.get()
    assert (s.enabled, s.portal_id, s.access_token, s.chat_enabled, s.tickets_enabled) == (
        True,
        "12345",
        TOKEN,
        True,
        True,
    )

    response = client.put(UPDATE, {"chatEnabled": False}, content_type="application/json")
    assert response.status_code == 200
    s = HubSpotSettings.objects.get()
    assert s.access_token == TOKEN and s.chat_enabled is False and s.enabled is True

    response = client.put(
        UPDATE, {"enabled": False, "clearApiKey": True}, content_type="application/json"
    )
    assert response.status_code == 200
    assert HubSpotSettings.objects.get().access_token == ""

    summaries = [e.summary for e in SettingsAuditEntry.objects.order_by("pk")]
    assert "token changed" in summaries[0] and "token changed" in summaries[2]
    assert all(e.source == "api" for e in SettingsAuditEntry.objects.all())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body,field",
    [
        ({"portalId": "12ab"}, "portalId"),
        ({"portalId": 123}, None),  # a number is coerced to "123" by DRF and accepted
        ({"apiKey": "not a token"}, "apiKey"),
        ({"credentialType": "oauth"}, "credentialType"),
        ({"credentialType": "api_key"}, "credentialType"),
        ({"ticketFormId": "nope"}, "ticketFormId"),
        ({"enabled": True}, "portalId"),
        ({"enabled": "yes please"}, "enabled"),
        ({"rateLimitPer10s": 150}, "rateLimitPer10s"),
    ],
)
def test_put_validation_names_the_field(hubspot_admin, body, field):
    response = client_for(hubspot_admin).put(UPDATE, body, content_type="application/json")
    if field is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    payload = response.json()
    assert payload["success"] is False
    assert field in payload["details"], payload
    assert field in payload["message"]
    assert "not a token" not in response.content.decode()


@pytest.mark.django_db
def test_malformed_json_gets_the_envelope(hubspot_admin):
    response = client_for(hubspot_admin).put(UPDATE, "{oops", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["success"] is False


@pytest.mark.django_db
def test_api_token_authentication(hubspot_admin, customer):
    from django.test import Client

    key = Token.objects.create(user=hubspot_admin).key
    ok = Client().get(CONFIG, HTTP_AUTHORIZATION=f"Token {key}")
    assert ok.status_code == 200
    other = Token.objects.create(user=customer).key
    assert Client().get(CONFIG, HTTP_AUTHORIZATION=f"Token {other}").status_code == 403
    assert Client().get(CONFIG, HTTP_AUTHORIZATION="Token wrong").status_code == 401


@pytest.mark.django_db
def test_session_writes_need_csrf(hubspot_admin):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(hubspot_admin)
    response = client.put(UPDATE, {"portalId": "5"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


@pytest.mark.django_db
def test_test_connection_answer_shape(hubspot_admin, hubspot_settings):
    response = client_for(hubspot_admin).post(TEST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"success", "message", "checks", "account"}
    assert body["success"] is True
    assert all(set(c) == {"name", "ok", "message"} for c in body["checks"])
    assert body["account"]["portalId"] == int(hubspot_settings.portal_id)
    assert FAKE_TOKEN not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body,field,words",
    [
        ({"defaultTicketPipeline": "0"}, "defaultTicketPipeline", "no ticket pipeline '0'"),
        (
            {"defaultTicketPipeline": "81234567", "defaultTicketStage": "1"},
            "defaultTicketStage",
            "has no stage '1'",
        ),
        ({"defaultTicketStage": "81234568"}, "defaultTicketStage", "pipeline this stage is in"),
    ],
)
def test_a_pipeline_or_stage_hubspot_lacks_is_refused_when_saved(
    hubspot_settings, hubspot_admin, body, field, words
):
    response = client_for(hubspot_admin).put(UPDATE, body, content_type="application/json")
    assert response.status_code == 400, response.json()
    assert words in " ".join(response.json()["details"][field])
    stored = HubSpotSettings.objects.get()
    assert (stored.default_ticket_pipeline, stored.default_ticket_stage) == ("", "")


@pytest.mark.django_db
def test_a_pipeline_and_stage_hubspot_has_are_saved(hubspot_settings, hubspot_admin):
    body = {"defaultTicketPipeline": "81234567", "defaultTicketStage": "81234569"}
    response = client_for(hubspot_admin).put(UPDATE, body, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert HubSpotSettings.objects.get().default_ticket_stage == "81234569"


@pytest.mark.django_db
def test_the_pipeline_is_accepted_unchecked_while_hubspot_cannot_be_asked(
    hubspot_settings, hubspot_admin, fake_hubspot
):
    fake_hubspot.faults.down()
    body = {"defaultTicketPipeline": "81234567"}
    response = client_for(hubspot_admin).put(UPDATE, body, content_type="application/json")
    assert response.status_code == 200
