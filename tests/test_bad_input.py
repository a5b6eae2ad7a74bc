"""Bad input gets a clear refusal: never a 500, never an import stuck in "Queued".

Deeply nested JSON to the API, a non-integer primary key in an admin URL, a CSV whose first line
never ends, and request bodies over the caps.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client

from hubspot_integration.models import WebhookEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

SETTINGS_API = "/api/admin/settings/hubspot"
CONTACTS_API = "/api/admin/settings/hubspot/contacts"
IMPORTS = "/admin/hubspot_integration/contactimport/"
TEN_MB = 10 * 1024 * 1024


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- (a) JSON nested too deeply --------------------------------------------------------------------
@pytest.mark.parametrize("depth", [100_000, 2_000, 33])
def test_deeply_nested_json_to_the_settings_api_is_a_400(hubspot_admin, depth):
    response = client_for(hubspot_admin).put(
        SETTINGS_API, nested(depth), content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert "nested too deeply (more than 32 levels" in body["message"]


def test_every_api_endpoint_parses_with_the_depth_limit(hubspot_staff):
    body = '{"email": "a@example.com", "firstname": ' + nested(40) + "}"
    response = client_for(hubspot_staff).post(CONTACTS_API, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["message"]


def test_ordinary_json_still_goes_through(hubspot_admin):
    response = client_for(hubspot_admin).put(
        SETTINGS_API, {"portalId": "4242"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content


def test_the_depth_limit_is_tunable(hubspot_admin, settings):
    settings.HUBSPOT_API_MAX_JSON_DEPTH = 1
    response = client_for(hubspot_admin).put(
        SETTINGS_API, {"portalId": "4242", "x": [1]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "more than 1 levels" in response.json()["message"]


def test_a_signed_webhook_nested_too_deeply_is_a_400(hubspot_settings):
    from tests.test_webhooks import SECRET, sign

    hubspot_settings.webhook_secret = SECRET
    hubspot_settings.save()
    body = nested(100_000).encode()
    timestamp = int(time.time() * 1000)
    response = Client().post(
        "/hubspot/webhooks/",
        body,
        content_type="application/json",
        HTTP_X_HUBSPOT_SIGNATURE_V3=sign(
            "POST", "http://testserver/hubspot/webhooks/", body, timestamp
        ),
        HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=str(timestamp),
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


# --- (b) a primary key that is not a number --------------------------------------------------------
@pytest.mark.parametrize("pk", ["abc", "1.5", "999999", "%20"])
def test_an_import_page_for_a_bad_or_missing_pk_is_the_admins_not_found(superuser, pk):
    c = client_for(superuser)
    response = c.get(f"{IMPORTS}{pk}/change/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    page = c.get(response["Location"]).content.decode()
    assert "doesn’t exist. Perhaps it was deleted?" in page


def test_the_import_page_needs_the_permission_before_it_looks(plain_staff):
    assert client_for(plain_staff).get(f"{IMPORTS}abc/change/").status_code == 403
