"""The error hierarchy: one root, and every decision made by the error's class.

Each class carries its HTTP status (`status_code`, what the API answers when the error ends a
request), whether a retry may succeed (`transient`, what the outbox does with the operation it
ended) and whether the request itself is at fault (`caller_fault`, how a failed write is refused),
and is the matching Django exception where one fits. `kind` is only a name, read by API clients
in `details.kind`.
"""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import (
    ImproperlyConfigured,
    PermissionDenied,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.handlers.exception import response_for_exception
from django.http import Http404
from django.test import RequestFactory
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from hubspot_integration import crypto, errors, webhooks
from hubspot_integration.api.outcomes import outcome_response
from hubspot_integration.models import OutboxOperation
from hubspot_integration.oauth import flow
from hubspot_integration.services import (
    conversations,
    import_csv,
    imports,
    outbox,
    support_requests,
)
from hubspot_integration.tickets import service as tickets
from tests.helpers import client_for

Kind = OutboxOperation.Kind
UNEXPECTED = "The server hit an unexpected error; it has been logged."

# Every error class of the app and the status the API answers it with.
STATUS = {
    errors.HubSpotError: 502,
    errors.NotConfigured: 409,
    errors.SecretUndecryptable: 409,
    tickets.TicketsDisabled: 403,
    support_requests.SupportUnavailable: 409,
    errors.AuthError: 502,
    errors.ReconnectNeeded: 409,
    errors.ForbiddenError: 502,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.ValidationFailed: 400,
    errors.RateLimited: 503,
    errors.Unavailable: 503,
    crypto.DecryptionError: 500,
    import_csv.ImportFileError: 400,
    imports.Superseded: 409,
    flow.ConnectError: 400,
    webhooks.Refused: 400,
    webhooks.NoSecret: 503,
    webhooks.BadSignature: 401,
    webhooks.Replayed: 409,
    webhooks.BadBody: 400,
    conversations.NoHubSpotUser: 409,
}
CLASSES = sorted(STATUS, key=lambda cls: cls.__qualname__)
HUBSPOT_CLASSES = [cls for cls in CLASSES if issubclass(cls, errors.HubSpotError)]


def name(cls) -> str:
    return cls.__qualname__


def app_error_classes() -> set[type]:
    found, todo = set(), [errors.PanelError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("hubspot_integration.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_error_class_is_under_the_one_root_and_in_the_table():
    # A new error class must say here which status it answers with.
    assert app_error_classes() == set(STATUS)
    assert issubclass(errors.HubSpotError, errors.PanelError)


@pytest.mark.parametrize(
    "cls",
    [
        crypto.DecryptionError,
        import_csv.ImportFileError,
        imports.Superseded,
        flow.ConnectError,
        webhooks.Refused,
        conversations.NoHubSpotUser,
    ],
    ids=name,
)
def test_errors_that_are_not_hubspots_are_not_caught_as_hubspot_failing(cls):
    # `except errors.HubSpotError` means "HubSpot failed, say so or retry later".
    assert not issubclass(cls, errors.HubSpotError)
    with pytest.raises(errors.PanelError):
        raise cls()


@pytest.mark.parametrize("cls", CLASSES, ids=name)
def test_each_kind_names_one_class(cls):
    assert "kind" in vars(cls)
    assert errors.error_class(cls.kind) is cls


def test_a_kind_no_class_claims_reads_as_hubspot_failing():
    assert errors.error_class("") is errors.HubSpotError
    assert errors.error_class("gone_since_an_upgrade") is errors.HubSpotError


def test_a_second_class_cannot_take_a_kind():
    with pytest.raises(TypeError, match="reuses the kind 'auth'"):

        class Impostor(errors.HubSpotError):
            kind = "auth"


# --- the API's envelope -----------------------------------------------------------------------
class Raises(APIView):
    """A view of the API that fails with whatever error it is given."""

    authentication_classes = []
    permission_classes = [AllowAny]
    error = None

    def get(self, request):
        raise self.error


def answer(error):
    return Raises.as_view(error=error)(APIRequestFactory().get("/api/raises"))


@pytest.mark.parametrize("cls", CLASSES, ids=name)
def test_the_api_answers_each_error_with_its_class_status(cls, caplog):
    error = cls()
    response = answer(error)
    assert response.status_code == cls.status_code == STATUS[cls]
    body = response.data
    assert body["success"] is False
    if cls.status_code >= 500 and not issubclass(cls, errors.HubSpotError):
        # The panel's own failure: logged with its traceback, answered without its message.
        assert body == {"success": False, "message": UNEXPECTED, "details": {}}
        [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert f"{cls.__module__}.{cls.__qualname__}: {error}" in record.getMessage()  # traceback
    else:
        assert body["message"] == str(error)
        assert body["details"]["kind"] == cls.kind


def test_support_unavailable_answers_as_not_configured_not_as_hubspot_failing():
    # It had no entry in the kind table and fell through to 502 ("HubSpot failed").
    error = support_requests.SupportUnavailable("The contact form is not set up.")
    response = answer(error)
    assert response.status_code == 409
    assert response.data["message"] == "The contact form is not set up."
    assert response.data["details"]["kind"] == "support_unavailable"


def test_a_rate_limit_says_when_to_come_back():
    response = answer(errors.RateLimited(retry_after=9.5))
    assert response.status_code == 503 and response["Retry-After"] == "10"


def test_a_hubspot_error_keeps_hubspots_own_details():
    error = errors.ValidationFailed(
        "Property values were not valid", status=400, category="VALIDATION_ERROR",
        correlation_id="abc-123",
    )  # fmt: skip
    assert answer(error).data["details"] == {
        "kind": "validation",
        "status": 400,
        "category": "VALIDATION_ERROR",
        "correlationId": "abc-123",
        "message": "Property values were not valid",
    }


@pytest.mark.django_db
def test_a_real_endpoint_answers_by_class(hubspot_staff, hubspot_settings):
    response = client_for(hubspot_staff).get("/api/admin/settings/hubspot/tickets")
    assert response.status_code == 403
    assert response.json()["details"]["kind"] == "tickets_disabled"


# --- the Django exception each one also is ----------------------------------------------------
@pytest.mark.parametrize(
    "cls, django_exception",
    [
        (errors.NotConfigured, ImproperlyConfigured),
        (tickets.TicketsDisabled, ImproperlyConfigured),
        (tickets.TicketsDisabled, PermissionDenied),
        (support_requests.SupportUnavailable, ImproperlyConfigured),
        (errors.NotFound, Http404),
        (crypto.DecryptionError, ImproperlyConfigured),
        (webhooks.NoSecret, ImproperlyConfigured),
        (webhooks.BadSignature, SuspiciousOperation),
        (webhooks.Replayed, SuspiciousOperation),
        (webhooks.BadBody, SuspiciousOperation),
    ],
    ids=lambda value: value.__qualname__,
)
def test_each_error_is_the_matching_django_exception(cls, django_exception):
    with pytest.raises(django_exception) as caught:
        raise cls("why, for a person")
    assert str(caught.value).startswith("why, for a person")


@pytest.mark.parametrize(
    "cls", [errors.AuthError, errors.ReconnectNeeded, errors.ForbiddenError], ids=name
)
def test_hubspot_refusing_the_panels_credential_is_not_the_callers_permission_denied(cls):
    assert not issubclass(cls, PermissionDenied)
    assert cls.status_code != 403


def test_hubspot_rejecting_data_is_not_a_forms_validation_error():
    assert not issubclass(errors.ValidationFailed, DjangoValidationError)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error, status",
    [(tickets.TicketsDisabled(), 403), (errors.NotFound(), 404), (webhooks.BadSignature(), 400)],
    ids=lambda value: type(value).__qualname__ if isinstance(value, Exception) else str(value),
)
def test_django_itself_answers_an_error_that_escapes_a_page_as_its_django_exception(error, status):
    assert response_for_exception(RequestFactory().get("/"), error).status_code == status


# --- the outbox decides by class --------------------------------------------------------------
def fail_with(monkeypatch, error):
    def handler(client, payload, operation):
        raise error

    monkeypatch.setitem(outbox.HANDLERS, Kind.UPDATE_CONTACT, handler)
    return outbox.submit(Kind.UPDATE_CONTACT, {"id": "101", "properties": {"firstname": "A"}})


@pytest.mark.django_db
@pytest.mark.parametrize("cls", HUBSPOT_CLASSES, ids=name)
def test_the_outbox_retries_or_fails_an_operation_by_its_errors_class(
    cls, hubspot_settings, monkeypatch
):
    outcome = fail_with(monkeypatch, cls())
    operation = outcome.operation
    assert operation.status == ("pending" if cls.transient else "failed")
    assert operation.last_error_kind == cls.kind  # the name is stored, for people and clients
    assert outcome.error_class is cls
    response = outcome_response(outcome, "contact")
    if cls.transient:
        assert response.status_code == 202 and response.data["queued"] is True
    else:
        assert response.status_code == (400 if cls.caller_fault else 502)
        assert response.data["details"]["kind"] == cls.kind


def test_only_hubspot_refusing_the_change_itself_is_the_callers_fault():
    faulted = {cls for cls in CLASSES if cls.caller_fault}
    assert faulted == {
        errors.NotFound,
        errors.Conflict,
        errors.ValidationFailed,
        import_csv.ImportFileError,
    }


@pytest.mark.django_db
def test_a_transient_error_on_the_last_attempt_fails_the_operation(
    hubspot_settings, monkeypatch, settings
):
    settings.HUBSPOT_OUTBOX_MAX_ATTEMPTS = 1
    outcome = fail_with(monkeypatch, errors.Unavailable())
    assert outcome.operation.status == "failed"
    assert outcome_response(outcome, "contact").status_code == 502


@pytest.mark.django_db
def test_an_error_that_is_not_hubspots_keeps_the_operation_as_an_internal_error(
    hubspot_settings, monkeypatch
):
    # Nothing is lost: the row waits, loudly, for whoever fixes the panel (a restored key).
    outcome = fail_with(monkeypatch, crypto.DecryptionError())
    assert outcome.operation.status == "pending"
    assert outcome.operation.last_error == "Internal error: DecryptionError"
    assert outcome.error_class is errors.Unavailable
