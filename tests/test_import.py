"""CSV contact import: the service, the command and the admin upload, through the fake HubSpot."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from hubspot_integration.models import ContactImport, OutboxOperation
from hubspot_integration.services import imports, outbox
from hubspot_integration.services.import_csv import ImportFileError
from tests.helpers import client_for

UPSERT = "/crm/objects/2026-09/contacts/batch/upsert"
ADD_URL = "/admin/hubspot_integration/contactimport/add/"
LIST_URL = "/admin/hubspot_integration/contactimport/"

pytestmark = pytest.mark.django_db


def write_csv(tmp_path, text, name="contacts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def generated(n, start=0):
    lines = ["email,firstname,lastname,company,phone"]
    lines += [
        f"person{i}@example.com,First{i},Last{i},Co {i % 7},+1 555 {i:04d}"
        for i in range(start, start + n)
    ]
    return "\n".join(lines) + "\n"


def run(path, **kwargs):
    contact_import = imports.start_import(path.name)
    return imports.run_import(contact_import, str(path), **kwargs), contact_import


def emails(fake):
    return sorted(c["properties"]["email"] for c in fake.objects("contacts"))


# --- the service ----------------------------------------------------------------------------
def test_good_rows_go_in_and_bad_rows_are_reported_with_their_line(
    hubspot_settings, fake_hubspot, tmp_path
):
    path = write_csv(
        tmp_path,
        "\ufeffE-mail, First Name ,LASTNAME,Company,Phone,Notes\n"  # Excel's BOM, loose headers
        "ann@example.com,Ann,Lee,Acme,+1 555 0100,vip\n"
        "x,Bad,Email,,,\n"
        ",No,Email,,,\n"
        "\n"  # blank lines are skipped, not rejected
        '"bo@example.com","Bo","Multi\nLine",,,\n'
        f"long@example.com,{'A' * 101},,,,\n"
        "CY@Example.com,Cy,,,,\n",
    )
    result, contact_import = run(path)

    assert emails(fake_hubspot) == ["ann@example.com", "bo@example.com", "cy@example.com"]
    ann = next(
        c for c in fake_hubspot.objects("contacts") if c["properties"]["email"] == "ann@example.com"
    )
    assert ann["properties"]["firstname"] == "Ann" and ann["properties"]["company"] == "Acme"
    assert (result.total, result.created, result.updated) == (6, 3, 0)
    assert (result.rejected, result.failed, result.queued) == (3, 0, 0)
    assert [f"line {e['line']}: {e['reason']}" for e in result.errors] == [
        "line 3: email 'x' is not a valid email address",
        "line 4: email is missing",
        "line 8: firstname: at most 100 characters",
    ]
    assert result.ignored_columns == ["Notes"]
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.DONE
    assert contact_import.processed_rows == contact_import.total_rows == 6
    assert contact_import.finished_at is not None


def test_contacts_go_in_batches_of_100(hubspot_settings, fake_hubspot, tmp_path):
    result, _ = run(write_csv(tmp_path, generated(250)))

    assert fake_hubspot.count("POST", UPSERT) == 3
    assert fake_hubspot.count() == 3  # nothing but the batches: no lookups, no searches
    batch_sizes = [len(r.body["inputs"]) for r in fake_hubspot.requests]
    assert batch_sizes == [100, 100, 50]
    assert (result.created, result.updated, result.rejected, result.failed) == (250, 0, 0, 0)
    assert len(fake_hubspot.objects("contacts")) == 250
    assert result.complete


def test_existing_contacts_are_updated_not_duplicated(hubspot_settings, fake_hubspot, tmp_path):
    fake_hubspot.create_object("contacts", {"email": "person1@example.com", "firstname": "Old"})
    fake_hubspot.create_object("contacts", {"email": "person3@example.com", "company": "Keep"})
    path = write_csv(tmp_path, generated(4) + "person3@example.com,,,,\n")

    result, _ = run(path)

    assert (result.created, result.updated) == (2, 3)
    assert len(fake_hubspot.objects("contacts")) == 4
    by_email = {c["properties"]["email"]: c["properties"] for c in fake_hubspot.objects("contacts")}
    assert by_email["person1@example.com"]["firstname"] == "First1"
    assert by_email["person3@example.com"]["company"] == "Co 3"  # blank cells keep values

    # The same file again: upsert by email, nothing new.
    again, _ = run(path)
    assert (again.created, again.updated) == (0, 5)
    assert len(fake_hubspot.objects("contacts")) == 4


def test_a_repeated_email_in_the_file_last_row_wins(hubspot_settings, fake_hubspot, tmp_path):
    path = write_csv(
        tmp_path,
        "email,firstname,company\n"
        "ann@example.com,Ann,Acme\n"
        "bo@example.com,Bo,\n"
        "ANN@example.com,Anna,\n",
    )
    result, _ = run(path)

    contacts = {c["properties"]["email"]: c["properties"] for c in fake_hubspot.objects("contacts")}
    assert set(contacts) == {"ann@example.com", "bo@example.com"}
    assert contacts["ann@example.com"]["firstname"] == "Anna"
    assert contacts["ann@example.com"]["company"] == "Acme"
    inputs = fake_hubspot.requests[0].body["inputs"]
    assert [i["id"] for i in inputs] == ["ann@example.com", "bo@example.com"]
    assert (result.created, result.updated, result.total) == (2, 1, 3)


def test_rows_hubspot_refuses_in_a_207_count_as_failed(hubspot_settings, fake_hubspot, tmp_path):
    fake_hubspot.define_property("contacts", "phone", unique=True)
    fake_hubspot.create_object("contacts", {"email": "old@example.com", "phone": "+1 555 0000"})
    path = write_csv(
        tmp_path,
        "email,phone\nnew@example.com,+1 555 0001\nclash@example.com,+1 555 0000\n",
    )
    result, contact_import = run(path)

    assert (result.created, result.failed) == (1, 1)
    assert [e["line"] for e in result.errors] == [3]
    assert result.errors[0]["reason"].startswith("HubSpot refused it:")
    assert not result.complete
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.DONE


def make_due():
    OutboxOperation.objects.filter(status=OutboxOperation.Status.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_transient_failure_queues_the_batch_and_the_worker_delivers_it(
    hubspot_settings, fake_hubspot, tmp_path
):
    fake_hubspot.faults.fail_next(1, status=503, path_prefix=UPSERT)
    result, contact_import = run(write_csv(tmp_path, generated(250)))

    assert (result.created, result.queued) == (150, 100)
    assert not result.complete
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.RUNNING
    assert imports.pending_batches(contact_import) == 1

    make_due()
    assert outbox.process_due() == 1

    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.DONE
    assert (contact_import.created_count, contact_import.processed_rows) == (250, 250)
    assert len(fake_hubspot.objects("contacts")) == 250
    assert fake_hubspot.count("POST", UPSERT) == 4


def test_a_batch_lost_after_hubspot_stored_it_is_retried_without_duplicates(
    hubspot_settings, fake_hubspot, tmp_path
):
    fake_hubspot.faults.drop_next(1, after_store=True, path_prefix=UPSERT)
    result, contact_import = run(write_csv(tmp_path, generated(120)))
    assert result.queued == 100

    make_due()
    outbox.process_due()

    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.DONE
    # The retry found the contacts its lost attempt had created: updates, not new contacts.
    assert (contact_import.created_count, contact_import.updated_count) == (20, 100)
    assert len(fake_hubspot.objects("contacts")) == 120


def test_a_refused_batch_fails_its_rows_and_an_admin_retry_recounts_them(
    hubspot_settings, fake_hubspot, tmp_path
):
    fake_hubspot.faults.fail_next(1, status=400, path_prefix=UPSERT)
    result, contact_import = run(write_csv(tmp_path, generated(30)), batch_size=10)

    assert (result.created, result.failed) == (20, 10)
    assert [e["line"] for e in result.errors] == list(range(2, 12))
    assert "not imported: HubSpot rejected the request (400)" in result.errors[0]["reason"]

    failed = OutboxOperation.objects.get(status=OutboxOperation.Status.FAILED)
    outbox.retry(failed)
    make_due()
    outbox.process_due()

    contact_import.refresh_from_db()
    assert (contact_import.created_count, contact_import.failed_count) == (30, 0)
    assert contact_import.errors == []


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file"),
        (b"name,company\nAnn,Acme\n", "no email column"),
        (b"", "The file is empty"),
        (b"email\nann@example.com\n\xff\xfe broken\n", "not UTF-8 text"),
    ],
)
def test_a_file_that_is_not_a_usable_csv_is_refused_before_any_call(
    hubspot_settings, fake_hubspot, tmp_path, content, message
):
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    contact_import = imports.start_import(path.name)
    with pytest.raises(ImportFileError, match=message):
        imports.run_import(contact_import, str(path))
    assert fake_hubspot.count() == 0
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.FAILED
    assert message in contact_import.errors[0]["reason"]


# --- the command ---------------------------------------------------------------------------
def command(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("hubspot_import_contacts", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def test_command_exits_0_when_every_row_went_in(hubspot_settings, fake_hubspot, tmp_path):
    code, out, err = command(str(write_csv(tmp_path, generated(25))), "--batch-size", "10")

    assert code == 0
    assert "Created: 25, updated: 0, rejected: 0, failed: 0." in out
    assert "Every row went in." in out
    assert "25/25" in err  # the progress bar, on stderr
    assert fake_hubspot.count("POST", UPSERT) == 3


def test_command_exits_1_and_lists_rejected_lines(hubspot_settings, fake_hubspot, tmp_path):
    code, out, _ = command(str(write_csv(tmp_path, generated(3) + "not-an-email,X,,,\n")))

    assert code == 1
    assert "line 5: email 'not-an-email' is not a valid email address" in out
    assert "Created: 3, updated: 0, rejected: 1, failed: 0." in out


def test_command_exits_1_when_a_batch_is_left_queued(hubspot_settings, fake_hubspot, tmp_path):
    fake_hubspot.faults.fail_next(1, status=502, path_prefix=UPSERT)
    code, out, _ = command(str(write_csv(tmp_path, generated(5))))
    assert code == 1
    assert "Queued: 5 rows could not reach HubSpot yet" in out


def test_command_exits_2_when_the_file_cannot_be_read(hubspot_settings, fake_hubspot, tmp_path):
    code, out, err = command(str(tmp_path / "missing.csv"))
    assert code == 2
    assert "Cannot open" in err and "No such file" in err
    assert "Traceback" not in out + err

    code, _, err = command(str(write_csv(tmp_path, "name\nAnn\n", name="noemail.csv")))
    assert code == 2
    assert "no email column" in err
    assert fake_hubspot.count() == 0


def test_command_refuses_a_batch_size_over_100(hubspot_settings, tmp_path):
    with pytest.raises(Exception, match="between 1 and 100"):
        call_command(
            "hubspot_import_contacts", str(write_csv(tmp_path, generated(1))), "--batch-size", "101"
        )


def test_command_without_hubspot_configured_exits_1(db, fake_hubspot, tmp_path):
    code, _, err = command(str(write_csv(tmp_path, generated(2))))
    assert code == 1
    assert "Nothing was imported: HubSpot is switched off" in err
    assert fake_hubspot.count() == 0


# --- the admin -----------------------------------------------------------------------------
@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def upload(name, content: bytes):
    return SimpleUploadedFile(name, content, content_type="text/csv")


MATRIX = [
    (None, 302),
    ("customer", 302),
    ("plain_staff", 403),
    ("staff", 200),
    ("admin", 200),
    ("superuser", 200),
]


@pytest.mark.parametrize("who, status", MATRIX)
def test_upload_page_permission_matrix(users, who, status):
    response = client_for(users.get(who)).get(ADD_URL)
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("who, status", MATRIX)
def test_import_list_permission_matrix(users, who, status):
    assert client_for(users.get(who)).get(LIST_URL).status_code == status


@pytest.mark.parametrize("who, status", MATRIX)
def test_progress_page_and_status_endpoint_permission_matrix(users, who, status):
    contact_import = ContactImport.objects.create(original_name="x.csv")
    page = f"{LIST_URL}{contact_import.pk}/change/"
    status_url = reverse("admin:hubspot_integration_contactimport_status", args=[contact_import.pk])
    c = client_for(users.get(who))
    assert c.get(page).status_code == status
    assert c.get(status_url).status_code == status


@pytest.mark.parametrize("who", [None, "customer", "plain_staff"])
def test_an_upload_without_the_permission_stores_nothing(users, immediate_tasks, who):
    response = client_for(users.get(who)).post(
        ADD_URL, {"file": upload("a.csv", b"email\na@b.co\n")}
    )
    assert response.status_code in (302, 403)
    assert not ContactImport.objects.exists()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("contacts.xlsx", b"PK\x03\x04binary", "is not a CSV file"),
        ("contacts.csv", b"name,company\nAnn,Acme\n", "The file has no email column"),
        ("contacts.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV text file"),
    ],
)
def test_upload_refuses_what_it_cannot_import_with_a_clear_message(
    users, hubspot_settings, immediate_tasks, name, content, message
):
    response = client_for(users["staff"]).post(ADD_URL, {"file": upload(name, content)})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ContactImport.objects.exists()


def test_upload_refuses_a_file_over_the_size_limit(users, settings):
    settings.HUBSPOT_IMPORT_MAX_UPLOAD_BYTES = 10
    response = client_for(users["staff"]).post(
        ADD_URL, {"file": upload("big.csv", b"email\na@b.co\n")}
    )
    assert "the limit is 10" in response.content.decode()


def test_staff_upload_runs_the_import_and_shows_the_summary(
    users, hubspot_settings, fake_hubspot, immediate_tasks, django_capture_on_commit_callbacks
):
    content = (generated(3) + "bad-email,X,,,\n").encode()
    c = client_for(users["staff"])
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(ADD_URL, {"file": upload("team.csv", content)})

    contact_import = ContactImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{LIST_URL}{contact_import.pk}/change/"
    assert contact_import.requested_by == users["staff"]
    assert contact_import.file.name.startswith("imports/")
    assert contact_import.status == ContactImport.Status.DONE
    assert len(fake_hubspot.objects("contacts")) == 3

    page = c.get(response["Location"]).content.decode()
    assert '<progress id="import-progress" max="100" value="100">' in page
    assert "Import finished: 3 created, 0 updated, 1 rejected, 0 failed." in page
    assert "line 5: email &#x27;bad-email&#x27; is not a valid email address" in page
    assert "import_progress.js" in page

    status_url = reverse("admin:hubspot_integration_contactimport_status", args=[contact_import.pk])
    data = c.get(status_url).json()
    assert data["finished"] and data["percent"] == 100
    assert (data["created"], data["rejected"], data["total"]) == (3, 1, 4)

    listing = c.get(LIST_URL).content.decode()
    assert "team.csv" in listing and "Done" in listing


def test_progress_shows_a_running_import_part_way(users, hubspot_settings):
    contact_import = ContactImport.objects.create(
        original_name="big.csv",
        status=ContactImport.Status.RUNNING,
        total_rows=400,
        processed_rows=100,
        created_count=100,
    )
    c = client_for(users["admin"])
    page = c.get(f"{LIST_URL}{contact_import.pk}/change/").content.decode()
    assert 'value="25"' in page and 'data-finished="false"' in page
    status_url = reverse("admin:hubspot_integration_contactimport_status", args=[contact_import.pk])
    data = c.get(status_url).json()
    assert (data["percent"], data["finished"], data["status"]) == (25, False, "running")
