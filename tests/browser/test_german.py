"""The customer site in German, in Chromium: a German browser's support form, and the language
switched on the account page."""

import pytest

from hubspot_integration.models import CustomerProfile
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_german_browser_gets_the_support_form_in_german(german_page, tickets_on):
    page = german_page
    page.goto("/support/")
    assert page.locator("h1").inner_text() == "Supportanfrage"
    assert page.get_attribute("html", "lang") == "de"
    assert page.locator("label[for=id_subject]").inner_text() == "Betreff:"
    assert page.locator("label[for=id_description]").inner_text() == "Beschreibung:"

    page.click("#support-form button[type=submit]")
    page.wait_for_selector("#support-form .has-errors")
    subject = page.locator("p.field", has=page.locator("#id_subject"))
    assert "Betreff" in subject.inner_text()
    assert subject.locator(".error").inner_text() == "Dieses Feld ist zwingend erforderlich."
    assert page.locator("text=This field is required.").count() == 0


def test_switching_to_german_on_the_account_page(page, customer):
    sign_in(page, customer)  # an English browser: the site speaks English
    page.click("#account-link")
    page.wait_for_selector("h1:has-text('Your account')")

    page.select_option("#id_language", "de")
    page.click("#save-language")
    page.wait_for_selector("text=Ihre Sprache ist gespeichert.")
    assert page.locator("h1").inner_text() == "Ihr Konto"
    assert page.locator("#id_language").input_value() == "de"
    assert CustomerProfile.objects.get(user=customer).language == "de"

    # The next page is German too, though the browser still asks for English.
    page.click("nav >> text=Meine Tickets")
    page.wait_for_selector("h1:has-text('Meine Tickets')")
    assert page.get_attribute("html", "lang") == "de"
    assert page.locator("#sign-out").inner_text() == "Abmelden"
