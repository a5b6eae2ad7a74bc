"""Staff upload a CSV in the admin and watch the progress bar move while the worker imports it.

The upload only queues the task (the database task backend, as in production). The test then runs
the real worker (`db_worker --batch`) in its own thread of control while Chromium keeps polling
the live server: every value the bar shows is recorded in sessionStorage, which survives the
page's reload at the end, so the test sees the bar go from 0 through partial values to 100 %.
"""

import signal

import pytest
from django.core.management import call_command

from hubspot_integration.models import ContactImport
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UPSERT = "/crm/objects/2026-09/contacts/batch/upsert"
RECORD_BAR = """() => {
  const bar = document.getElementById("import-progress");
  const seen = () => JSON.parse(sessionStorage.getItem("seen") || "[]");
  const note = () => {
    const values = seen();
    if (values[values.length - 1] !== bar.value) values.push(bar.value);
    sessionStorage.setItem("seen", JSON.stringify(values));
  };
  note();
  setInterval(note, 50);
}"""


def csv_bytes(n: int) -> bytes:
    rows = ["email,First Name,Last Name,Company"]
    rows += [f"user{i}@example.com,User,{i},Acme" for i in range(n)]
    rows.insert(5, "not-an-email,Bad,Row,Acme")  # line 6
    return ("\n".join(rows) + "\n").encode()


def run_worker():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_upload_shows_the_bar_moving_to_100_and_the_summary(
    page, hubspot_staff, hubspot_settings, fake_hubspot
):
    # Slow HubSpot down so the six batches take a few seconds: several polls land mid-import.
    fake_hubspot.faults.latency(0.6, path_prefix=UPSERT)
    login(page, hubspot_staff, next_url="/admin/hubspot_integration/contactimport/add/")
    page.set_input_files(
        "#id_file", files=[{"name": "team.csv", "mimeType": "text/csv", "buffer": csv_bytes(600)}]
    )
    page.click("#import-upload input[type=submit]")
    page.wait_for_selector("#import-progress")

    # Queued, nothing sent yet: the worker has not run.
    assert page.get_attribute("#import-progress", "value") == "0"
    assert page.inner_text("#import-status") == "Queued"
    assert fake_hubspot.count("POST", UPSERT) == 0
    page.evaluate(RECORD_BAR)

    run_worker()  # blocks until the import is done; the browser polls meanwhile

    page.wait_for_selector("#import-done", timeout=15_000)
    assert page.get_attribute("#import-progress", "value") == "100"
    assert page.inner_text("#import-percent") == "100 %"
    assert "Import finished: 600 created, 0 updated, 1 rejected, 0 failed." in page.inner_text(
        "#import-done"
    )
    assert page.inner_text("#import-errors") == (
        "line 6: email 'not-an-email' is not a valid email address"
    )
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen'))")
    assert seen[0] == 0 and seen[-1] == 100
    assert any(0 < value < 100 for value in seen), seen
    assert seen == sorted(seen)  # it only ever moves forward

    contact_import = ContactImport.objects.get()
    assert contact_import.status == ContactImport.Status.DONE
    assert len(fake_hubspot.objects("contacts")) == 600
    assert fake_hubspot.count("POST", UPSERT) == 6
