"""The OpenAPI schema: it validates, documents every endpoint with examples, its docs pages are
served without a CDN, and what the endpoints answer matches it."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate
from rest_framework.authtoken.models import Token

from tests.helpers import client_for

pytestmark = pytest.mark.django_db

PANEL_PATHS = {
    "/api/admin/settings/hubspot/config": ["get"],
    "/api/admin/settings/hubspot": ["put"],
    "/api/admin/settings/hubspot/test-connection": ["post"],
    "/api/admin/settings/hubspot/contacts": ["get", "post"],
    "/api/admin/settings/hubspot/contacts/{contact_id}": ["get", "patch", "delete"],
    "/api/admin/settings/hubspot/tickets": ["get", "post"],
    "/api/admin/settings/hubspot/tickets/{ticket_id}": ["get", "patch"],
    "/api/admin/settings/hubspot/pipelines": ["get"],
    "/api/hubspot/crm/summary": ["get"],
    "/api/hubspot/contacts/recent": ["get"],
    "/api/hubspot/deals/pipeline": ["get"],
    "/api/hubspot/analytics": ["get"],
    "/api/hubspot/forms": ["get"],
    "/api/health": ["get"],
}


@pytest.fixture(scope="module")
def spec():
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    result = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "schema generation warned or failed: fix the view's docs"
    return result


def test_schema_validates(spec):
    validate(spec)  # raises on an invalid OpenAPI 3 document


def test_every_panel_endpoint_is_documented_with_examples(spec):
    for path, methods in PANEL_PATHS.items():
        assert path in spec["paths"], path
        for method in methods:
            operation = spec["paths"][path][method]
            ok = [c for c in operation["responses"] if c.startswith("2")]
            assert ok, (path, method)
            content = operation["responses"][ok[0]].get("content", {}).get("application/json", {})
            request = operation.get("requestBody", {}).get("content", {}).get("application/json")
            has_example = "examples" in content or (request and "examples" in request)
            assert has_example, f"{method.upper()} {path} has no example"
            for code in ("401", "403", "503"):
                ref = operation["responses"][code]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/ErrorEnvelope"}


def test_schema_and_docs_are_served_without_a_cdn(db):
    client = client_for(None)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert "/api/hubspot/crm/summary" in response.json()["paths"]
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url).content.decode()
        assert "drf_spectacular_sidecar" in page, url
        assert "cdn." not in page and "jsdelivr" not in page, url


@pytest.fixture
def openapi(wsgi_openapi):
    return wsgi_openapi


def _seed(fake):
    fake.seed_contacts(60)
    fake.seed_companies(5)
    fake.seed_deals(40, pipelines=2)
    fake.seed_tickets(12)


@pytest.mark.parametrize(
    "path, query",
    [
        ("/api/hubspot/crm/summary", {}),
        ("/api/hubspot/contacts/recent", {"limit": 3}),
        ("/api/hubspot/deals/pipeline", {}),
        ("/api/hubspot/analytics", {"days": 7}),
        ("/api/hubspot/forms", {}),
        ("/api/health", {}),
        ("/api/admin/settings/hubspot/config", {}),
        ("/api/admin/settings/hubspot/contacts", {"limit": 2}),
        ("/api/admin/settings/hubspot/tickets", {"limit": 2}),
    ],
)
def test_answers_match_the_schema(openapi, hubspot_settings, fake_hubspot, superuser, path, query):
    _seed(fake_hubspot)
    hubspot_settings.tickets_enabled = True
    hubspot_settings.save()
    token = Token.objects.create(user=superuser)
    case = openapi[path]["GET"].Case(query=query, headers={"Authorization": f"Token {token.key}"})
    response = case.call()
    assert response.status_code == 200, response.text
    case.validate_response(response)


def test_errors_match_the_schema(openapi, hubspot_settings, plain_staff):
    case = openapi["/api/hubspot/crm/summary"]["GET"].Case()
    response = case.call()
    assert response.status_code == 401
    case.validate_response(response)
    token = Token.objects.create(user=plain_staff)
    case = openapi["/api/hubspot/forms"]["GET"].Case(
        headers={"Authorization": f"Token {token.key}"}
    )
    response = case.call()
    assert response.status_code == 403
    assert response.json()["success"] is False
    case.validate_response(response)


def test_drf_validation_and_throttling_use_the_envelope(hubspot_settings, superuser, settings):
    client = client_for(superuser)
    response = client.put(
        "/api/admin/settings/hubspot", {"portalId": "abc"}, content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and "portalId" in body["message"] and body["details"]
    response = client.put(
        "/api/admin/settings/hubspot", "{not json", content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["success"] is False

    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"user": "1/min"},
    }
    api_settings.reload()
    UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        from hubspot_integration.api.report_views import HealthView

        HealthView.throttle_classes = [UserRateThrottle]
        client.get("/api/health")
        response = client.get("/api/health")
        assert response.status_code == 429
        body = response.json()
        assert body["success"] is False and body["details"]["retryAfter"] > 0
    finally:
        del HealthView.throttle_classes  # back to APIView's default
        settings.REST_FRAMEWORK = {
            k: v for k, v in settings.REST_FRAMEWORK.items() if "THROTTLE" not in k
        }
        api_settings.reload()
        UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
