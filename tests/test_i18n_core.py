"""The panel's core texts in German: the settings form, the connection check, import reports,
HubSpot's outages and refusals, and the model labels behind the admin pages.

Each test asks in German (Accept-Language: de, or `translation.override("de")` where a service is
called directly) and reads what a person would: a label, a field's error, a check's verdict. The
English texts are the other tests' (they run in English).
"""

import pytest
from django.urls import reverse
from django.utils import translation

from hubspot_integration.forms import HubSpotSettingsForm
from hubspot_integration.models import (
    ContactImport,
    CredentialType,
    HubSpotSettings,
    OutboxOperation,
    SettingsAuditEntry,
)
from hubspot_integration.services import imports
from hubspot_integration.services.connection import check_connection
from hubspot_integration.services.import_csv import ImportFileError
from tests.fake_hubspot import FAKE_TOKEN
from tests.helpers import client_for
from tests.test_import import run, write_csv
from tests.test_settings_admin import CHANGE_URL, TEST_URL, form_data

pytestmark = pytest.mark.django_db
GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de"}
UPSERT = "/crm/objects/2026-09/contacts/batch/upsert"


@pytest.fixture(autouse=True)
def _back_to_english():
    """LocaleMiddleware leaves the language of a German request active in the thread: the next
    test (in this file or the next one this worker runs) must start in English again."""
    yield
    translation.deactivate()


def by_name(report):
    return {c.name: c for c in report.checks}


# --- the settings form ---------------------------------------------------------------------------
def test_the_settings_page_labels_its_fields_in_german(hubspot_admin):
    page = client_for(hubspot_admin).get(CHANGE_URL, **GERMAN).content.decode()
    for label in (
        "HubSpot aktiviert",
        "Portal-ID",
        "Art des Zugangs",
        "Service-Key oder Zugriffstoken",
        "Webhook-Client-Secret",
        "Tickets aktiviert",
        "Abgeschlossene Schreibvorgänge im Postausgang behalten (Tage)",
    ):
        # A checkbox's label follows it without a colon; every other field's ends with one.
        assert f">{label}:</label>" in page or f">{label}</label>" in page, label
    # Help texts and choices too, e.g. the credential kinds and the rate-limit tiers.
    assert "Leer lassen, um den Host der Region des Accounts zu verwenden." in page
    assert "Service-Key (empfohlen für neue Accounts; keine Webhooks)" in page
    assert "100 Aufrufe / 10 s (Free, Starter)" in page
    assert "Service key or access token" not in page


def test_the_form_speaks_the_language_of_the_request_not_of_the_import():
    with translation.override("de"):
        german = HubSpotSettingsForm(instance=HubSpotSettings())
        assert german.fields["new_token"].label == "Service-Key oder Zugriffstoken"
        assert german.fields["new_token"].help_text.startswith("Es ist kein Token gespeichert.")
        assert "Benutzerfelder: " in str(german.fields["user_property_map"].help_text)
    english = HubSpotSettingsForm(instance=HubSpotSettings())
    assert english.fields["new_token"].label == "Service key or access token"


@pytest.mark.parametrize(
    "data,field,words",
    [
        ({"portal_id": "12ab"}, "portal_id", "Geben Sie die Portal-ID nur als Ziffern ein"),
        ({"new_token": "two words"}, "new_token", "keine Leerzeichen oder Zeilenumbrüche"),
        ({"ticket_form_id": "abc"}, "ticket_form_id", "Geben Sie eine HubSpot-Formular-ID ein"),
        (
            {"enabled": "on", "portal_id": "1"},
            "new_token",
            "Geben Sie den Zugang (Service-Key) ein, bevor Sie HubSpot aktivieren.",
        ),
        ({"retention_audit_days": "99999"}, "retention_audit_days", "höchstens 36.500 Tage"),
    ],
)
def test_a_bad_value_is_refused_in_german_naming_the_field(hubspot_admin, data, field, words):
    response = client_for(hubspot_admin).post(CHANGE_URL, form_data(**data), **GERMAN)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert words in " ".join(errors[field])
    assert words.replace("(", "").split()[0] in response.content.decode()
    assert HubSpotSettings.objects.get().enabled is False


# --- the connection check ------------------------------------------------------------------------
def test_a_healthy_connection_reads_in_german(hubspot_settings, fake_hubspot):
    fake_hubspot.account["dataHostingLocation"] = "eu1"
    with translation.override("de"):
        report = check_connection()
    assert report.success, report
    assert report.message == "Mit HubSpot verbunden: Alle Prüfungen bestanden."
    checks = by_name(report)
    assert checks["token"].message == "HubSpot hat den Zugang akzeptiert (Service-Key)."
    assert checks["region"].message == "Die Daten des Accounts werden in eu1 gehalten."
    assert checks["scopes"].message.startswith(
        "Der Zugang hat jede Berechtigung (Scope), die die aktivierten Funktionen brauchen."
    )
    assert "übrig in diesem Zeitfenster" in checks["rate_limit"].message
    # Numbers are grouped the German way.
    assert "von 250.000 Aufrufen heute verbraucht" in checks["rate_limit"].message
    assert checks["round_trip"].message.startswith("Antwortzeit ")
    # Check names stay the machine-readable keys the API and the page's anchors use.
    assert "portal_id" in checks


def test_missing_scopes_and_what_to_do_read_in_german(hubspot_settings, fake_hubspot):
    limited = "pat-na1-99999999-2222-3333-4444-555555555555"
    fake_hubspot.add_token(limited, scopes=["crm.objects.contacts.read"])
    hubspot_settings.access_token = limited
    hubspot_settings.tickets_enabled = True
    hubspot_settings.save()
    with translation.override("de"):
        report = check_connection()
    scopes = by_name(report)["scopes"]
    assert not scopes.ok
    # Scope names are HubSpot's and stay as they are; the sentence around them is German.
    assert "Fehlende Berechtigungen (Scopes): " in scopes.message
    assert "crm.objects.contacts.write (für contacts)" in scopes.message
    assert report.message.startswith("Verbindungstest fehlgeschlagen (scopes): ")


def test_the_test_connection_button_answers_in_german(hubspot_admin, hubspot_settings):
    html = client_for(hubspot_admin).post(TEST_URL, **GERMAN).content.decode()
    assert "Mit HubSpot verbunden: Alle Prüfungen bestanden." in html
    assert "every check passed" not in html
    assert FAKE_TOKEN not in html


def test_a_wrong_token_is_named_in_german(hubspot_admin, hubspot_settings):
    hubspot_settings.access_token = "pat-na1-00000000-0000-0000-0000-000000000000"
    hubspot_settings.save()
    html = client_for(hubspot_admin).post(TEST_URL, **GERMAN).content.decode()
    assert "Falsches Token: HubSpot hat den Zugang (Service-Key) abgelehnt (401)." in html
    assert "00000000-0000" not in html


# --- import reports --------------------------------------------------------------------------------
def test_an_import_report_line_reads_in_german(hubspot_settings, fake_hubspot, tmp_path):
    fake_hubspot.define_property("contacts", "phone", unique=True)
    fake_hubspot.create_object("contacts", {"email": "old@example.com", "phone": "+1 555 0000"})
    path = write_csv(
        tmp_path,
        "email,phone\nnew@example.com,+1 555 0001\n,+1 555 0002\nclash@example.com,+1 555 0000\n",
    )
    with translation.override("de"):
        result, _import = run(path)
    lines = {e["line"]: e["reason"] for e in result.errors}
    assert lines[3] == "E-Mail fehlt"
    # HubSpot's own words stay HubSpot's (English); the panel's sentence around them is German.
    assert lines[4].startswith("Von HubSpot abgelehnt: ")
    assert "HubSpot refused" not in lines[4]
    assert (result.created, result.rejected, result.failed) == (1, 1, 1)


def test_a_file_that_cannot_be_imported_says_why_in_german(hubspot_settings, tmp_path):
    path = write_csv(tmp_path, "name,phone\nAnn,+1 555 0100\n")
    with translation.override("de"):
        contact_import = imports.start_import(path.name)
        with pytest.raises(ImportFileError) as raised:
            imports.run_import(contact_import, str(path))
    assert str(raised.value).startswith(
        "Die Datei hat keine E-Mail-Spalte (ihre erste Zeile nennt: name, phone)."
    )
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.FAILED
    assert contact_import.errors[0]["reason"] == str(raised.value)


# --- HubSpot down or refusing ------------------------------------------------------------------------
def test_a_write_queued_while_hubspot_is_down_says_so_in_german(
    hubspot_staff, tickets_on, fake_hubspot
):
    fake_hubspot.faults.down()
    response = client_for(hubspot_staff).post(
        "/api/admin/settings/hubspot/contacts",
        {"email": "q@example.com"},
        content_type="application/json",
        **GERMAN,
    )
    assert response.status_code == 202
    body = response.json()
    # The keys and the machine-readable flag stay; the sentence is German.
    assert body["queued"] is True
    assert body["message"] == (
        "In der Warteschlange: wird an HubSpot gesendet, sobald HubSpot erreichbar ist."
    )
    operation = OutboxOperation.objects.get()
    assert operation.status == OutboxOperation.Status.PENDING
    assert operation.last_error_kind == "unavailable"
    assert operation.last_error.startswith("HubSpot hat mit einem Serverfehler geantwortet (")


def test_a_refusal_keeps_hubspots_words_inside_a_german_sentence(
    hubspot_staff, tickets_on, fake_hubspot
):
    fake_hubspot.faults.fail_next(1, status=400)
    response = client_for(hubspot_staff).post(
        "/api/admin/settings/hubspot/contacts",
        {"email": "r@example.com"},
        content_type="application/json",
        **GERMAN,
    )
    assert response.status_code == 400
    message = response.json()["message"]
    # "Bad request" is what the fake HubSpot answered, kept as HubSpot wrote it.
    assert message.startswith("HubSpot hat die Anfrage abgelehnt (400): Bad request")


# --- the models' labels ------------------------------------------------------------------------------
def test_model_choices_and_names_read_in_german():
    with translation.override("de"):
        assert str(OutboxOperation.Status.FAILED.label) == "Fehlgeschlagen"
        assert str(OutboxOperation.Status.PENDING.label) == "Ausstehend"
        operation = OutboxOperation(kind="import_batch", status="succeeded")
        assert operation.get_status_display() == "Erfolgreich"
        assert operation.get_kind_display() == "Import-Stapel"
        assert str(ContactImport.Status.QUEUED.label) == "In der Warteschlange"
        assert str(CredentialType.SERVICE_KEY.label).startswith("Service-Key")
        assert str(OutboxOperation._meta.verbose_name_plural) == "HubSpot-Postausgang"
        assert str(HubSpotSettings._meta.verbose_name) == "HubSpot-Einstellungen"
        assert str(HubSpotSettings._meta.get_field("portal_id").verbose_name) == "Portal-ID"
    # The stored values are unchanged, and English is still English.
    assert OutboxOperation.Status.FAILED.value == "failed"
    assert str(OutboxOperation.Status.FAILED.label) == "Failed"


# --- Connect with HubSpot ----------------------------------------------------------------------------
def test_connect_with_hubspot_says_what_is_missing_in_german(hubspot_admin, hubspot_settings):
    url = reverse("admin:hubspot_integration_hubspotsettings_oauth_connect")
    response = client_for(hubspot_admin).post(url, follow=True, **GERMAN)
    assert response.redirect_chain[-1][0] == CHANGE_URL
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [
        "Geben Sie die OAuth-Client-ID und das Client-Secret der App ein (ihr Reiter Auth in "
        "HubSpot), speichern Sie die Einstellungen und klicken Sie dann auf „Mit HubSpot "
        "verbinden“."
    ]


def test_a_save_in_german_is_audited_in_german(hubspot_admin):
    response = client_for(hubspot_admin).post(
        CHANGE_URL, form_data(portal_id="4242", new_token="pat-na1-new-token-0001"), **GERMAN
    )
    assert response.status_code == 302
    entry = SettingsAuditEntry.objects.get()
    assert entry.summary == "Geändert: Portal-ID, Token geändert"
    assert entry.changed_fields == ["portal_id", "access_token"]


@pytest.mark.django_db
def test_a_cached_dashboard_card_is_kept_per_language(hubspot_settings):
    # The first reader fills the card in English; a German reader gets their own, not that one.
    from hubspot_integration.services import report_cache

    calls = []

    def fetch():
        calls.append(translation.get_language())
        return translation.gettext("Priority")

    with translation.override("en"):
        assert report_cache.cached("language-card", fetch).data == "Priority"
    with translation.override("de"):
        assert report_cache.cached("language-card", fetch).data == "Priorität"
    with translation.override("en"):
        assert report_cache.cached("language-card", fetch).from_cache
    assert calls == ["en", "de"]
