"""Big CSV imports through HubSpot's CRM imports API, via the real SDK and the fake HubSpot.

Above the settings' threshold a file is uploaded in one multipart call, the worker polls HubSpot's
state until it is done and reads its row errors into the report; below it the batch path is as it
was. An outage while polling is retried; a credential without `crm.import` falls back to batch
upserts, saying so.
"""

import io
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from hubspot_integration import tasks
from hubspot_integration.models import ContactImport, HubSpotSettings
from hubspot_integration.services import connection, import_api, imports
from tests.fake_hubspot.server import ALL_SCOPES
from tests.helpers import client_for
from tests.test_settings_admin import CHANGE_URL, form_data

pytestmark = pytest.mark.django_db

IMPORTS = "/crm/imports/2026-09"
UPSERT = "/crm/objects/2026-09/contacts/batch/upsert"
ADD_URL = "/admin/hubspot_integration/contactimport/add/"
NO_IMPORT_TOKEN = "pat-na1-00000000-1111-2222-3333-444444444444"

Status = ContactImport.Status


@pytest.fixture
def big_above_5(hubspot_settings, settings):
    """A threshold of 5 rows, and polls that do not wait (the fake finishes in three)."""
    hubspot_settings.import_api_threshold_rows = 5
    hubspot_settings.save()
    settings.HUBSPOT_IMPORT_API_POLL_SECONDS = 0.01
    settings.HUBSPOT_IMPORT_API_POLL_MAX_SECONDS = 0.05
    return hubspot_settings


def csv_text(n, *, bad_line_after=None, extra_column=True):
    header = "email,firstname,lastname,Notes" if extra_column else "email,firstname,lastname"
    lines = [header]
    for i in range(n):
        row = f"big{i}@example.com,First{i},Last{i}" + (",note" if extra_column else "")
        lines.append(row)
        if bad_line_after == i:
            lines.append("not-an-email,Bad,Row" + (",x" if extra_column else ""))
    return "\n".join(lines) + "\n"


def write(tmp_path, text, name="big.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def drive(contact_import, limit=20):
    """Run the worker's poll task until HubSpot is done (the tests' queue cannot defer it)."""
    for _ in range(limit):
        contact_import.refresh_from_db()
        if contact_import.status != Status.RUNNING:
            return contact_import
        tasks.poll_contact_import.call(contact_import.pk)
    raise AssertionError("the import never finished")


def test_a_big_file_goes_up_in_one_call_and_lands_in_hubspot(big_above_5, fake_hubspot, tmp_path):
    fake_hubspot.create_object("contacts", {"email": "big0@example.com", "firstname": "Old"})
    path = write(tmp_path, csv_text(8, bad_line_after=3))
    contact_import = imports.start_import(path.name)

    result = imports.run_import(contact_import, str(path))

    # One upload, no batch upserts; HubSpot has the file and the worker polls it.
    assert fake_hubspot.count("POST", IMPORTS) == 1
    assert fake_hubspot.count("POST", UPSERT) == 0
    assert result.total == 9 and "HubSpot's imports API" in result.note
    contact_import.refresh_from_db()
    assert contact_import.status == Status.RUNNING and contact_import.hubspot_import_id

    tasks.poll_contact_import.call(contact_import.pk)  # a first poll: HubSpot is part way
    contact_import.refresh_from_db()
    assert contact_import.hubspot_state == "PROCESSING"
    assert 0 < contact_import.processed_rows < contact_import.total_rows

    drive(contact_import)
    assert contact_import.status == Status.DONE and contact_import.hubspot_state == "DONE"
    emails = sorted(c["properties"]["email"] for c in fake_hubspot.objects("contacts"))
    assert emails == [f"big{i}@example.com" for i in range(8)]
    first = next(
        c
        for c in fake_hubspot.objects("contacts")
        if c["properties"]["email"] == "big0@example.com"
    )
    assert first["properties"]["firstname"] == "First0"  # the existing contact was updated
    summary = imports.summary(contact_import)
    assert (summary.created, summary.updated, summary.rejected, summary.failed) == (7, 1, 1, 0)
    assert [(e["line"], e["reason"]) for e in summary.errors] == [
        (6, "HubSpot refused it (INVALID_EMAIL): not-an-email is invalid")
    ]
    # Polls: the status until DONE, then one page of errors; nothing else.
    paths = [r.path for r in fake_hubspot.requests if r.path.startswith(IMPORTS)]
    assert paths.count(f"{IMPORTS}/{contact_import.hubspot_import_id}/errors") == 1
    assert len(paths) == 1 + 3 + 1


def test_the_upload_is_streamed_with_a_mapping_by_email(big_above_5, fake_hubspot, tmp_path):
    path = write(tmp_path, "\ufeff" + csv_text(6))
    imports.run_import(imports.start_import("people.csv"), str(path))

    upload = next(r for r in fake_hubspot.requests if r.method == "POST" and r.path == IMPORTS)
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(upload.headers["Content-Length"]) > path.stat().st_size
    assert "chunked" not in upload.headers.get("Transfer-Encoding", "")
    file_name, content = upload.body["files"]
    assert file_name == "people.csv"
    assert content == path.read_bytes()[3:]  # the file as it is, without Excel's BOM
    request = json.loads(upload.body["importRequest"][1])
    page = request["files"][0]["fileImportPage"]
    assert request["files"][0]["fileName"] == "people.csv" and page["hasHeader"] is True
    assert page["columnMappings"] == [
        {
            "columnObjectTypeId": "0-1",
            "columnName": "email",
            "propertyName": "email",
            "idColumnType": "HUBSPOT_ALTERNATE_ID",
        },
        {"columnObjectTypeId": "0-1", "columnName": "firstname", "propertyName": "firstname"},
        {"columnObjectTypeId": "0-1", "columnName": "lastname", "propertyName": "lastname"},
        {"columnObjectTypeId": "0-1", "columnName": "Notes", "ignored": True},
    ]


def test_below_the_threshold_the_batch_path_is_unchanged(big_above_5, fake_hubspot, tmp_path):
    path = write(tmp_path, csv_text(4, bad_line_after=1))  # 5 rows: at the threshold, not above
    result = imports.run_import(imports.start_import(path.name), str(path))

    assert fake_hubspot.count(path_prefix=IMPORTS) == 0
    assert fake_hubspot.count("POST", UPSERT) == 1
    assert (result.total, result.created, result.rejected) == (5, 4, 1)
    assert result.note == ""
    assert result.errors[0]["reason"] == "email 'not-an-email' is not a valid email address"


def test_the_command_waits_for_hubspot_and_exits_by_its_verdict(
    big_above_5, fake_hubspot, tmp_path
):
    good, bad = (
        write(tmp_path, csv_text(7), "good.csv"),
        write(tmp_path, csv_text(7, bad_line_after=0), "bad.csv"),
    )

    def command(path):
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(
                "hubspot_import_contacts", str(path), "--no-progress", stdout=out, stderr=err
            )
            code = 0
        except SystemExit as stop:
            code = stop.code
        return code, out.getvalue()

    code, out = command(good)
    assert code == 0, out
    assert "Rows: 7. Created: 7, updated: 0, rejected: 0, failed: 0." in out
    assert "Every row went in." in out and "HubSpot's imports API" in out

    code, out = command(bad)
    assert code == 1
    assert "line 3: HubSpot refused it (INVALID_EMAIL): not-an-email is invalid" in out
    assert "Rows: 8. Created: 0, updated: 7, rejected: 1, failed: 0." in out
    assert fake_hubspot.count("POST", UPSERT) == 0


def test_an_outage_while_polling_is_retried_and_the_import_completes(
    big_above_5, fake_hubspot, tmp_path
):
    path = write(tmp_path, csv_text(6))
    contact_import = imports.start_import(path.name)
    imports.run_import(contact_import, str(path))
    contact_import.refresh_from_db()

    fake_hubspot.faults.fail_next(2, status=503, path_prefix=IMPORTS + "/")
    for _ in range(2):
        assert import_api.poll(contact_import.pk) > 0  # a later poll, not a failure
        contact_import.refresh_from_db()
        assert contact_import.status == Status.RUNNING
    assert contact_import.poll_failures == 2

    drive(contact_import)
    assert contact_import.status == Status.DONE
    assert (contact_import.created_count, contact_import.poll_failures) == (6, 0)
    assert len(fake_hubspot.objects("contacts")) == 6


def test_the_sweep_polls_an_import_whose_poll_was_lost(big_above_5, fake_hubspot, tmp_path):
    fake_hubspot.imports.polls_to_done = 1
    path = write(tmp_path, csv_text(6))
    contact_import = imports.start_import(path.name)
    imports.run_import(contact_import, str(path))  # its poll task is queued, never run
    ContactImport.objects.filter(pk=contact_import.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert imports.resume_stalled() == 1
    contact_import.refresh_from_db()
    assert contact_import.status == Status.DONE and contact_import.created_count == 6


def test_without_the_import_scope_the_file_goes_by_batch_upserts(
    big_above_5, fake_hubspot, tmp_path
):
    fake_hubspot.add_token(NO_IMPORT_TOKEN, [s for s in ALL_SCOPES if s != "crm.import"])
    big_above_5.access_token = NO_IMPORT_TOKEN
    big_above_5.save()
    path = write(tmp_path, csv_text(6))
    result = imports.run_import(imports.start_import(path.name), str(path))

    assert fake_hubspot.count("POST", IMPORTS) == 1  # refused with 403
    assert fake_hubspot.count("POST", UPSERT) == 1
    assert result.complete and result.created == 6
    assert "lacks the crm.import scope" in result.note and "batch upserts" in result.note

    check = connection.check_connection()
    scopes = next(c for c in check.checks if c.name == "scopes")
    assert scopes.ok and "crm.import (for big CSV imports)" in scopes.message


def test_the_admin_upload_shows_hubspots_counts_and_errors(
    users, big_above_5, fake_hubspot, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    content = csv_text(6, bad_line_after=5).encode()
    c = client_for(users["staff"])
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(ADD_URL, {"file": SimpleUploadedFile("team.csv", content)})
    contact_import = ContactImport.objects.get()
    status_url = reverse("admin:hubspot_integration_contactimport_status", args=[contact_import.pk])
    running = c.get(status_url).json()
    assert running["status"] == "running" and not running["finished"]
    assert "HubSpot's imports API" in running["note"]

    drive(contact_import)
    page = c.get(response["Location"]).content.decode()
    assert '<progress id="import-progress" max="100" value="100">' in page
    assert "Import finished: 6 created, 0 updated, 1 rejected, 0 failed." in page
    assert "line 8: HubSpot refused it (INVALID_EMAIL): not-an-email is invalid" in page
    assert fake_hubspot.count("POST", UPSERT) == 0


@pytest.mark.parametrize(
    "value, words",
    [
        ("-1", "greater than or equal to 0"),
        ("many", "whole number"),
        ("", "Enter a number of rows"),
    ],
)
def test_a_bad_threshold_is_refused_naming_the_field(hubspot_admin, value, words):
    response = client_for(hubspot_admin).post(
        CHANGE_URL, {**form_data(), "import_api_threshold_rows": value}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "import_api_threshold_rows" in errors, errors
    assert words in " ".join(errors["import_api_threshold_rows"])


def test_the_threshold_is_set_on_the_settings_page(hubspot_admin, settings):
    assert HubSpotSettings.load().import_api_threshold_rows == 20_000  # the default
    page = client_for(hubspot_admin).get(CHANGE_URL).content.decode()
    assert 'name="import_api_threshold_rows"' in page
    response = client_for(hubspot_admin).post(
        CHANGE_URL, {**form_data(), "import_api_threshold_rows": "50000"}
    )
    assert response.status_code == 302
    assert HubSpotSettings.load().import_api_threshold_rows == 50_000
    # An older script's POST without the field keeps it.
    client_for(hubspot_admin).post(CHANGE_URL, form_data())
    assert HubSpotSettings.load().import_api_threshold_rows == 50_000


def test_the_api_reads_and_sets_the_threshold(hubspot_admin):
    api = client_for(hubspot_admin)
    data = api.get("/api/admin/settings/hubspot/config").json()["data"]
    assert data["importApiThresholdRows"] == 20_000
    response = api.put(
        "/api/admin/settings/hubspot", {"importApiThresholdRows": 0}, "application/json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["importApiThresholdRows"] == 0
    assert HubSpotSettings.load().import_api_threshold_rows == 0


@pytest.mark.parametrize("value", [-1, 100_000_001, "many"])
def test_the_api_refuses_a_bad_threshold_naming_the_key(hubspot_admin, value):
    response = client_for(hubspot_admin).put(
        "/api/admin/settings/hubspot", {"importApiThresholdRows": value}, "application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Invalid input: importApiThresholdRows."
    assert body["details"]["importApiThresholdRows"]
    assert HubSpotSettings.load().import_api_threshold_rows == 20_000


def test_an_upload_hubspot_could_not_take_is_sent_again_by_the_sweep(big_above_5, fake_hubspot):
    upload = SimpleUploadedFile("later.csv", csv_text(6).encode())
    contact_import = imports.start_import("later.csv", upload=upload)
    fake_hubspot.faults.fail_next(1, status=503, path_prefix=IMPORTS)

    result = imports.run_import(contact_import)  # the worker's run: HubSpot is down
    contact_import.refresh_from_db()
    assert contact_import.status == Status.RUNNING and not contact_import.hubspot_import_id
    assert "could not take the file" in result.note and result.queued == 6
    assert fake_hubspot.count("POST", UPSERT) == 0

    ContactImport.objects.filter(pk=contact_import.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert imports.resume_stalled() == 1
    drive(contact_import)
    assert contact_import.status == Status.DONE and contact_import.created_count == 6
    assert fake_hubspot.count("POST", IMPORTS) == 2  # the refused upload, then the one that took


def test_a_file_hubspots_importer_cannot_read_goes_by_batch_upserts(
    big_above_5, fake_hubspot, tmp_path
):
    path = write(tmp_path, csv_text(6).replace(",", ";"))
    result = imports.run_import(imports.start_import(path.name), str(path))
    assert fake_hubspot.count(path_prefix=IMPORTS) == 0
    assert result.complete and result.created == 6
    assert result.note == (
        "Sent by batch upserts, not HubSpot's imports API: its columns are not separated by commas."
    )


def test_polls_thin_out_as_a_long_import_runs(settings):
    settings.HUBSPOT_IMPORT_API_POLL_SECONDS = 5
    settings.HUBSPOT_IMPORT_API_POLL_MAX_SECONDS = 60
    now = timezone.now()
    waits = [
        import_api.next_wait(ContactImport(read_finished_at=now - timedelta(seconds=age)))
        for age in (0, 30, 600)
    ]
    assert waits[0] == pytest.approx(5, abs=0.1)
    assert waits[1] == pytest.approx(15, abs=0.1)
    assert waits[2] == 60
