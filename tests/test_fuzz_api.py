"""A bounded fuzz run: schemathesis generates requests from the schema and sends them to the API
(with the fake HubSpot behind it); no answer may be a 5xx or contradict the schema.

The settings update (PUT) is left out: a random token or a disabled HubSpot would turn the rest of
the run into 502/409 answers that say nothing about the endpoints; its validation has its own tests.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_schema(wsgi_openapi):
    return wsgi_openapi


SKIPPED = {("PUT", "/api/admin/settings/hubspot")}
SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def auth(hubspot_settings, fake_hubspot, superuser, monkeypatch):
    # The fuzzer calls far faster than people do; the panel's own rate limiter would then answer
    # 503 "retry shortly" (correct, and tested with the limiter). Here the endpoints are under test.
    from hubspot_integration.ratelimit import RateLimiter

    monkeypatch.setattr(RateLimiter, "acquire", lambda self, **kwargs: None)
    fake_hubspot.seed_contacts(30)
    fake_hubspot.seed_deals(20, pipelines=2)
    fake_hubspot.seed_tickets(6)
    hubspot_settings.tickets_enabled = True
    hubspot_settings.save()
    token = Token.objects.create(user=superuser)
    return {"Authorization": f"Token {token.key}"}


def test_no_server_errors_and_answers_match_the_schema(api_schema, auth, fake_hubspot):
    # schemathesis' pytest plugin does not run under pytest 9 yet, so each operation gets its own
    # Hypothesis run here; the first failing operation stops the test with its failing request.
    ran = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @SETTINGS
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(headers=auth)
            case.validate_response(response, checks=CHECKS)

        run()
        ran.append(f"{operation.method.upper()} {operation.path}")
    assert len(ran) >= 18, ran
    assert fake_hubspot.server_errors == []
