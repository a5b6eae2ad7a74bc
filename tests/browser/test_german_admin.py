"""The HubSpot settings page in a German browser: the admin's chrome, the page's own headings and
buttons and the connection check's result page all read in German."""

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETTINGS_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"


def test_a_german_admin_tests_the_connection_in_german(
    german_page, hubspot_admin, hubspot_settings
):
    page = german_page
    login(page, hubspot_admin, next_url=SETTINGS_URL)
    assert page.get_attribute("html", "lang") == "de"
    assert (
        "ABMELDEN" in page.inner_text("#user-tools").upper()
    )  # Django's own chrome (upper case by CSS)
    button = page.inner_text("#test-connection")
    assert button == "Verbindung testen (gespeicherte Einstellungen)"
    assert page.get_attribute("#save-and-test", "value") == "Speichern und testen"
    headings = page.locator("fieldset h2").all_text_contents()
    for heading in ("Funktionen", "Einwilligung", "Aufbewahrung", "Vom Verbindungstest ermittelt"):
        assert heading in headings, headings
    assert "Mit HubSpot verbinden (projektbasierte App, OAuth)" in headings

    page.click("#test-connection")
    page.wait_for_selector("#connection-checks")
    assert page.title().startswith("HubSpot-Verbindungstest")
    # text_content: the words as written (the admin's CSS shows table headings in capitals).
    assert page.locator("#connection-checks thead th").all_text_contents() == [
        "Prüfung",
        "Ergebnis",
        "Details",
    ]
    results = page.locator("#connection-checks tbody tr td:nth-child(2)").all_inner_texts()
    assert results and all("OK" in r for r in results)
    assert "Verbindungstest" in page.inner_text("div.breadcrumbs")

    page.click("text=Zurück zu den Einstellungen")
    page.wait_for_selector("#test-connection")
    assert page.inner_text("#test-connection").startswith("Verbindung testen")
