"""Bad input gets a clear refusal: never a 500, never an import stuck in "Queued".

Deeply nested JSON to the API, a non-integer primary key in an admin URL, a CSV whose first line
never ends, and request bodies over the caps.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from hubspot_integration.models import ContactImport, WebhookEvent
from hubspot_integration.services import imports
from hubspot_integration.services.import_csv import ImportFileError
from tests.helpers import client_for

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


# --- (c) a CSV whose first line never ends ---------------------------------------------------------
def endless_first_line(size: int = TEN_MB) -> bytes:
    return b"email," + b"x" * size  # no newline anywhere


def test_the_service_fails_fast_on_a_10_mb_first_line(hubspot_settings, tmp_path):
    path = tmp_path / "dump.csv"
    path.write_bytes(endless_first_line())
    contact_import = imports.start_import(path.name)
    started = time.monotonic()
    with pytest.raises(ImportFileError) as err:
        imports.run_import(contact_import, str(path))
    assert time.monotonic() - started < 5
    assert "The first line is longer than 65,536 bytes; is this a CSV?" in str(err.value)
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.FAILED
    assert "is this a CSV?" in contact_import.errors[0]["reason"]


def test_a_stored_upload_with_an_endless_line_fails_instead_of_staying_queued(
    hubspot_settings, settings
):
    """The worker's path: the file is already stored (the form's sniff saw a short header)."""
    from hubspot_integration.tasks import run_contact_import

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    content = b"email,firstname\nann@example.com,Ann\n" + b"bo@example.com," + b"y" * 200_000
    contact_import = imports.start_import(
        "later.csv", upload=SimpleUploadedFile("later.csv", content)
    )
    run_contact_import.enqueue(contact_import.pk)
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.FAILED
    assert "Line 3 is longer than 65,536 bytes" in contact_import.errors[0]["reason"]

    stuck = imports.start_import(
        "dump.csv", upload=SimpleUploadedFile("dump.csv", endless_first_line())
    )
    run_contact_import.enqueue(stuck.pk)
    stuck.refresh_from_db()
    assert stuck.status == ContactImport.Status.FAILED
    assert "The first line is longer than" in stuck.errors[0]["reason"]


def test_the_admin_upload_refuses_an_endless_first_line_at_once(hubspot_staff, hubspot_settings):
    response = client_for(hubspot_staff).post(
        f"{IMPORTS}add/",
        {"file": SimpleUploadedFile("dump.csv", endless_first_line(), content_type="text/csv")},
    )
    assert response.status_code == 200
    assert "The first line is longer than 65,536 bytes; is this a CSV?" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_the_command_exits_2_with_the_message(hubspot_settings, tmp_path):
    path = tmp_path / "dump.csv"
    path.write_bytes(endless_first_line())
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("hubspot_import_contacts", str(path), "--no-progress", stderr=err)
    assert exit_.value.code == 2
    assert "The first line is longer than 65,536 bytes; is this a CSV?" in err.getvalue()


def test_the_line_limit_is_tunable_and_counted_in_bytes(
    hubspot_settings, fake_hubspot, tmp_path, settings
):
    settings.HUBSPOT_IMPORT_MAX_LINE_BYTES = 40
    path = tmp_path / "short.csv"
    fits = "a@example.com," + "é" * 13  # 14 + 26 = 40 bytes
    path.write_text(f"email,firstname\n{fits}\n", encoding="utf-8")
    result = imports.run_import(imports.start_import(path.name), str(path))
    assert result.total == 1
    path.write_text(f"email,firstname\n{fits}é\n", encoding="utf-8")  # 42 bytes
    with pytest.raises(ImportFileError, match="Line 2 is longer than 40 bytes"):
        imports.run_import(imports.start_import(path.name), str(path))


# --- (d) request bodies over the caps --------------------------------------------------------------
def test_a_json_body_over_the_cap_is_a_413_before_it_is_read(hubspot_admin, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_for(hubspot_admin).put(
        SETTINGS_API,
        json.dumps({"portalId": "1", "pad": "x" * 2000}),
        content_type="application/json",
    )
    assert response.status_code == 413
    body = response.json()
    assert body["success"] is False and "too large" in body["message"]
    assert body["details"] == {"limit": 1000}


def test_a_form_post_over_the_cap_is_a_413_page(tickets_on, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client().post("/support/", {"subject": "x", "description": "y" * 5000})
    assert response.status_code == 413
    assert "The request is too large" in response.content.decode()


def test_an_upload_over_the_request_cap_is_a_413_page(hubspot_staff, settings):
    settings.MAX_REQUEST_BODY_BYTES = 10_000
    response = client_for(hubspot_staff).post(
        f"{IMPORTS}add/",
        {"file": SimpleUploadedFile("big.csv", b"email\n" + b"a@example.com\n" * 2000)},
    )
    assert response.status_code == 413
    assert "at most 9.8\xa0KB" in response.content.decode()


def test_a_webhook_over_the_cap_is_a_413_json(hubspot_settings, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client().post(
        "/hubspot/webhooks/", b"[" + b" " * 5000 + b"]", content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["success"] is False


def test_django_s_own_too_big_is_a_clear_413_not_a_bare_400(rf, settings):
    """What Django raises reading a multipart form's fields over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    from django.core.exceptions import RequestDataTooBig

    from skypanel.request_limits import bad_request

    response = bad_request(rf.post("/support/"), RequestDataTooBig("too big"))
    assert response.status_code == 413 and b"The request is too large" in response.content
    response = bad_request(rf.post("/api/x"), RequestDataTooBig("too big"))
    assert response.status_code == 413 and json.loads(response.content)["success"] is False


def test_a_multipart_form_with_oversized_fields_is_refused_clearly(hubspot_staff, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # fields; the file itself does not count
    response = client_for(hubspot_staff).post(
        f"{IMPORTS}add/",
        {"note": "n" * 5000, "file": SimpleUploadedFile("a.csv", b"email\na@example.com\n")},
    )
    assert response.status_code == 413
    assert "The request is too large" in response.content.decode()


def test_the_caps_are_set_explicitly_from_the_environment(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "skypanel.settings",
        "DATA_UPLOAD_MAX_MEMORY_SIZE": "1111",
        "FILE_UPLOAD_MAX_MEMORY_SIZE": "2222",
        "HUBSPOT_IMPORT_MAX_UPLOAD_BYTES": "3333",
        "HUBSPOT_IMPORT_MAX_LINE_BYTES": "4444",
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DATA_UPLOAD_MAX_MEMORY_SIZE, s.FILE_UPLOAD_MAX_MEMORY_SIZE,"
        " s.HUBSPOT_IMPORT_MAX_UPLOAD_BYTES, s.HUBSPOT_IMPORT_MAX_LINE_BYTES, s.MAX_REQUEST_BODY_BYTES)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["1111", "2222", "3333", "4444", str(3333 + 1024 * 1024)]
