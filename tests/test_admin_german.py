"""The HubSpot admin pages in German, for a browser that asks for German (Accept-Language): the
settings page and its connection check, the dashboard with its charts, the live lists with their
filters and bulk actions, the import pages and the outbox, with the messages after each action.

The model fields' labels are another part's translation: these tests read only the pages' own
words."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.utils import formats, timezone, translation

from hubspot_integration.models import ConnectionWatch, OutboxOperation
from hubspot_integration.services.sweep import sweep
from tests.fake_hubspot import FAKE_TOKEN
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}
SETTINGS = "/admin/hubspot_integration/hubspotsettings/1/change/"
TEST_CONNECTION = "/admin/hubspot_integration/hubspotsettings/test-connection/"
DASHBOARD = "/admin/hubspot_integration/crmdashboard/"
CONTACTS = "/admin/hubspot_integration/hubspotcontact/"
TICKETS = "/admin/hubspot_integration/hubspotticket/"
OUTBOX = "/admin/hubspot_integration/outboxoperation/"
IMPORT = "/admin/hubspot_integration/contactimport/add/"
CLOSED = "81234571"


def page(client, url, **params):
    response = client.get(url, params, **GERMAN)
    assert response.status_code == 200, response
    assert response.headers["Content-Language"] == "de"
    return response.content.decode()


def shown(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def people(fake, *names):
    return [
        fake.create_object(
            "contacts", {"email": f"{n.lower()}@example.com", "firstname": n, "lastname": "Lee"}
        )
        for n in names
    ]


# --- the settings page and the connection check -------------------------------------------------
def test_the_settings_page_in_german(hubspot_admin, hubspot_settings):
    html = page(client_for(hubspot_admin), SETTINGS)
    assert "Verbindung testen (gespeicherte Einstellungen)" in html
    assert "Testet die Einstellungen so, wie sie gespeichert sind" in html
    assert 'value="Speichern und testen"' in html
    for heading in ("Funktionen", "Einwilligung", "Aufbewahrung", "Vom Verbindungstest ermittelt"):
        assert f"<h2>{heading}</h2>" in html or f'">{heading}</' in html, heading
    assert "Test connection" not in html and "Save and test" not in html


def test_the_connection_check_reads_in_german(hubspot_admin, hubspot_settings):
    response = client_for(hubspot_admin).post(TEST_CONNECTION, **GERMAN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>HubSpot-Verbindungstest" in html
    assert "HubSpot-Einstellungen</a> &rsaquo; Verbindungstest" in html
    assert "<th>Prüfung</th><th>Ergebnis</th><th>Details</th>" in html
    assert "Zurück zu den Einstellungen" in html
    assert "Back to the settings" not in html


def test_the_permission_denied_page_in_german(plain_staff, hubspot_settings):
    response = client_for(plain_staff).get(DASHBOARD, **GERMAN)
    assert response.status_code == 403
    assert "Sie haben keine Berechtigung, diese Seite zu öffnen." in response.content.decode()


def test_the_connection_banner_in_german_with_a_german_date(
    superuser, hubspot_settings, fake_hubspot, settings
):
    settings.HUBSPOT_CONNECTION_CHECK_INTERVAL = 900
    fake_hubspot.revoke_token(FAKE_TOKEN)
    sweep()
    since = ConnectionWatch.objects.get().failing_since
    html = page(client_for(superuser), "/admin/")
    with translation.override("de"):
        german_date = formats.date_format(timezone.localtime(since), "DATETIME_FORMAT")
    assert re.match(r"\d+\. \w+ \d{4} \d\d:\d\d$", german_date), german_date
    assert f"Die HubSpot-Verbindung schlägt seit {german_date} fehl:" in html
    assert "Öffnen Sie die HubSpot-Einstellungen</a>, um es zu beheben" in html


# --- the dashboard --------------------------------------------------------------------------------
def test_the_dashboard_and_its_charts_in_german(hubspot_staff, hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(30)
    fake_hubspot.seed_deals(12, pipelines=1)
    fake_hubspot.seed_tickets(20)
    html = page(client_for(hubspot_staff), DASHBOARD)
    assert "<title>CRM-Dashboard" in html
    for text in (
        "<h2>CRM-Übersicht</h2>",
        "<dt>Offene Tickets</dt>",
        "<h2>Deal-Pipeline</h2>",
        "<h2>Support, letzte 30 Tage</h2>",
        "<h3>Offene Tickets nach Priorität</h3>",
        'id="dashboard-refresh">Aktualisieren<',
        "<strong>30 Tage</strong>",
        "Abgerufen ",
    ):
        assert text in html, text
    # The SVG charts: their names, legends and the bars' titles.
    assert 'aria-label="Eröffnete und geschlossene Tickets pro Tag"' in html
    assert 'class="legend-label">Eröffnet</text>' in html
    assert 'class="legend-label">Geschlossen</text>' in html
    assert re.search(r"<title>\d{4}-\d\d-\d\d: \d+ Tickets eröffnet</title>", html)
    assert re.search(r'class="axis-label date-label">\d\d\.\d\d\.</text>', html)  # 03.11.
    assert re.search(r'aria-label="Deals je Phase in [^"]+"', html)
    assert re.search(r"<title>[^<]+: \d+ Deals?, ", html)
    assert "tickets opened" not in html and "Deals pipeline" not in html


def test_the_dashboard_refresh_message_in_german(hubspot_staff, hubspot_settings):
    response = client_for(hubspot_staff).post(DASHBOARD + "refresh/", **GERMAN)
    assert shown(response) == ["Das Dashboard wurde aus HubSpot aktualisiert."]


# --- the live lists: filters, bulk actions and their confirmation ---------------------------------
def test_a_contact_list_with_its_filter_in_german(hubspot_staff, hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(1234)
    client = client_for(hubspot_staff)
    html = page(client, CONTACTS)
    assert "<title>HubSpot-Kontakte" in html
    assert 'id="result-count">1.234 Kontakte<' in html  # grouped as German writes numbers
    assert ">HubSpot-Kontakt hinzufügen<" in html
    assert 'data-column="email">E-Mail</a>' in html
    assert '<option value="archive">Ausgewählte Kontakte archivieren</option>' in html
    assert ">Als CSV exportieren<" in html and 'id="action-go">Ausführen<' in html
    assert "<summary>Nach Erstellungsdatum</summary>" in html
    assert ">Letzte 7 Tage</a>" in html and ">Seite 1<" in html
    filtered = page(client, CONTACTS, created="past_7_days")
    assert "Alle Filter zurücksetzen" in filtered
    empty = page(client, CONTACTS, q="nobody-like-this")
    assert "Kein Kontakt passt zu „nobody-like-this“." in empty


def test_a_bulk_archive_confirms_and_reports_in_german(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    abe, bea = people(fake_hubspot, "Abe", "Bea")
    client = client_for(hubspot_staff)
    chosen = {"action": "archive", "_selected_action": [abe["id"], bea["id"]]}
    html = client.post(CONTACTS + "actions/", chosen, **GERMAN).content.decode()
    assert "Ausgewählte Kontakte archivieren: 2 Kontakte." in html
    assert "HubSpot bewahrt archivierte Kontakte 90 Tage lang auf" in html
    assert 'value="Ja, ich bin sicher"' in html and ">Nein, zurück<" in html
    assert not OutboxOperation.objects.exists()
    done = client.post(CONTACTS + "actions/", {**chosen, "post": "yes"}, **GERMAN)
    assert shown(done) == ["2 Kontakte in HubSpot archiviert."]


def test_nothing_selected_is_said_in_german(hubspot_staff, hubspot_settings):
    response = client_for(hubspot_staff).post(
        CONTACTS + "actions/", {"action": "archive"}, **GERMAN
    )
    assert shown(response) == [
        "Es müssen Einträge ausgewählt werden, um Aktionen mit ihnen auszuführen. "
        "Es wurden keine Einträge geändert."
    ]


def test_the_ticket_list_filters_and_set_stage_in_german(hubspot_staff, tickets_on, fake_hubspot):
    fake_hubspot.seed_tickets(8)
    client = client_for(hubspot_staff)
    html = page(client, TICKETS, stage=CLOSED)
    assert "<summary>Nach Phase</summary>" in html and "<summary>Nach Priorität</summary>" in html
    assert '<a href="?stage=81234571&amp;priority=HIGH">Hoch</a>' in html
    assert 'id="result-count">2 Tickets<' in html and ">Pipelines aktualisieren<" in html
    assert '<option value="set_stage">Phase der ausgewählten Tickets festlegen</option>' in html
    ids = re.findall(r'name="_selected_action" value="(\d+)"', html)
    confirm = client.post(
        TICKETS + "actions/", {"action": "set_stage", "_selected_action": ids}, **GERMAN
    ).content.decode()
    assert "Phase der ausgewählten Tickets festlegen: 2 Tickets." in confirm
    assert '<label for="bulk-stage">Neue Phase</label>' in confirm
    refused = client.post(
        TICKETS + "actions/",
        {"action": "set_stage", "_selected_action": ids, "post": "yes", "stage": "nope"},
        **GERMAN,
    )
    assert "Wählen Sie: Neue Phase." in shown(refused)


# --- the import pages ---------------------------------------------------------------------------
def test_the_import_upload_page_in_german(hubspot_staff, hubspot_settings):
    html = page(client_for(hubspot_staff), IMPORT)
    assert "<title>Kontakte aus CSV importieren" in html
    assert 'value="Hochladen und importieren"' in html
    assert "Jede Zeile wird zu HubSpot hinzugefügt" in html
    assert ">CSV-Datei:</label>" in html


# --- the outbox admin ---------------------------------------------------------------------------
def test_the_outbox_admin_and_its_actions_in_german(hubspot_admin):
    failed = OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_CONTACT,
        payload={"properties": {"email": "x@example.com"}},
        status=OutboxOperation.Status.FAILED,
        hubspot_object_id="501",
        last_error="HubSpot rejected the request (400)",
    )
    done = OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_CONTACT,
        payload={"properties": {"email": "y@example.com"}},
        status=OutboxOperation.Status.SUCCEEDED,
    )
    client = client_for(hubspot_admin)
    html = page(client, OUTBOX)
    assert "Ausgewählte fehlgeschlagene Vorgänge erneut versuchen" in html
    assert "Ausgewählte Vorgänge verwerfen" in html
    assert ">Letzter Fehler<" in html and ">HubSpot-Datensatz<" in html
    assert ">Kontakt 501 in HubSpot</a>" in html and ">Seite im Panel</a>" in html
    response = client.post(
        OUTBOX,
        {"action": "retry_operations", "_selected_action": [failed.pk, done.pk]},
        follow=True,
        **GERMAN,
    )
    assert shown(response) == [
        "1 Vorgang für einen weiteren Versuch in die Warteschlange gestellt.",
        "1 übersprungen: Nur fehlgeschlagene Vorgänge können erneut versucht werden.",
    ]
