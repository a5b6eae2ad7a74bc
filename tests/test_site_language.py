"""The customer site in German: pages for a German browser, the language chosen on the account
page (over the browser's), and emails in the language of whoever receives them."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from hubspot_integration.models import (
    ConnectionWatch,
    CustomerProfile,
    CustomerTicket,
    TicketNotification,
)
from hubspot_integration.services import connection_watch, ticket_notifications, user_language
from tests.helpers import client_for, make_user

GERMAN = "de-DE,de;q=0.9,en;q=0.5"
ENGLISH = "en-GB,en;q=0.9"


def page(client, url, accept=GERMAN, **kwargs):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=accept, **kwargs)
    assert response.status_code == 200, response.status_code
    return response, response.content.decode()


def field_block(html, name):
    """The <p class="field"> holding the form field `name` (its label, input and errors)."""
    match = re.search(
        rf'<p class="field[^"]*">(?:(?!</p>).)*name="{name}"(?:(?!</p>).)*</p>', html, re.S
    )
    assert match, f"no field {name}"
    return match.group(0)


def choose(user, code):
    user_language.set_language(user, code)


def post_language(client, code, accept=ENGLISH):
    """The account page's language form, sent from a browser asking for `accept`."""
    return client.post(
        "/accounts/profile/", {"action": "language", "language": code}, HTTP_ACCEPT_LANGUAGE=accept
    )


# --- pages for a German browser --------------------------------------------------------------------
def test_the_support_form_speaks_german_to_a_german_browser(tickets_on, client):
    response, html = page(client, "/support/")
    assert response["Content-Language"] == "de"
    assert '<html lang="de">' in html
    assert "<h1>Supportanfrage</h1>" in html
    assert ">Betreff:</label>" in html and ">Beschreibung:</label>" in html
    assert ">Anfrage senden</button>" in html
    assert "Support request" not in html and "Send request" not in html

    # Sent empty: the errors are German, beside the field they name.
    response = client.post("/support/", {"website": ""}, HTTP_ACCEPT_LANGUAGE=GERMAN)
    html = response.content.decode()
    subject = field_block(html, "subject")
    assert "Betreff" in subject and "Dieses Feld ist zwingend erforderlich." in subject
    assert "This field is required." not in html


def test_the_support_form_stays_english_for_an_english_browser(tickets_on, client):
    response, html = page(client, "/support/", accept=ENGLISH)
    assert response["Content-Language"] == "en"
    assert "<h1>Support request</h1>" in html and ">Subject:</label>" in html


def test_sign_up_in_german(db, client):
    _, html = page(client, "/accounts/signup/")
    assert "<h1>Erstellen Sie Ihr Konto</h1>" in html
    assert ">E-Mail:</label>" in html
    assert "Wir senden einen Link, um sie zu bestätigen." in html
    assert ">Registrieren</button>" in html
    # The footer's switcher, for a visitor: posts to set_language, German selected.
    assert 'action="/i18n/setlang/"' in html
    assert re.search(r'<option value="de" lang="de" selected>Deutsch</option>', html)

    response = client.post(
        "/accounts/signup/",
        {"username": "", "email": "not an address", "password1": "", "password2": ""},
        HTTP_ACCEPT_LANGUAGE=GERMAN,
    )
    html = response.content.decode()
    assert "Geben Sie eine gültige E-Mail-Adresse ein." in field_block(html, "email")


def test_my_tickets_in_german(tickets_on, customer):
    CustomerTicket.objects.create(
        user=customer, email=customer.email, subject="Seite ist langsam", content="Seit gestern."
    )
    c = client_for(customer)
    _, html = page(c, "/support/tickets/")
    assert "<h1>Meine Tickets</h1>" in html
    assert "<th>Betreff</th>" in html and "<th>Letzte Aktualisierung</th>" in html
    assert "Eingegangen, wird angelegt" in html  # not filed in HubSpot yet
    assert "Angemeldet als cus" in html and ">Abmelden</button>" in html

    ticket = CustomerTicket.objects.get()
    _, html = page(c, f"/support/tickets/{ticket.pk}/")
    assert "<h2>Was Sie geschrieben haben</h2>" in html and "<dt>Referenz</dt>" in html
    assert "Seit gestern." in html


def test_the_account_page_in_german(db, customer):
    _, html = page(client_for(customer), "/accounts/profile/")
    assert "<h1>Ihr Konto</h1>" in html
    assert ">Vorname:</label>" in html and ">Neue E-Mail-Adresse:</label>" in html
    assert "<h2>Sprache</h2>" in html and ">Sprache speichern</button>" in html
    assert '<option value="" selected>Wie in meinem Browser eingestellt</option>' in html
    assert "Meine Daten herunterladen" in html and "Mein Konto löschen" in html
    assert "(noch nicht bestätigt)" in html
    # A signed-in customer chooses on this page; the footer's switcher is for visitors.
    assert 'id="language-switcher"' not in html


# --- the choice on the account page ---------------------------------------------------------------
def test_the_language_chosen_on_the_account_page_is_saved_and_followed(db, customer):
    c = client_for(customer)
    response = post_language(c, "de")
    assert response.status_code == 302
    assert CustomerProfile.objects.get(user=customer).language == "de"
    # The next page is German although the browser asks for English; the message too.
    response, html = page(c, "/accounts/profile/", accept=ENGLISH)
    assert response["Content-Language"] == "de"
    assert "Ihre Sprache ist gespeichert." in html and "<h1>Ihr Konto</h1>" in html
    assert '<option value="de" selected>Deutsch</option>' in html
    _, html = page(c, "/support/tickets/", accept=ENGLISH)
    assert "<h1>Meine Tickets</h1>" in html

    # Back to "as my browser says": the browser's English again.
    post_language(c, "")
    assert CustomerProfile.objects.get(user=customer).language == ""
    response, html = page(c, "/accounts/profile/", accept=ENGLISH)
    assert response["Content-Language"] == "en" and "<h1>Your account</h1>" in html


def test_a_language_not_offered_is_refused_with_the_field_named(db, customer):
    c = client_for(customer)
    response = post_language(c, "xx", accept=GERMAN)
    assert response.status_code == 200
    block = field_block(response.content.decode(), "language")
    assert "Sprache" in block and "xx ist keine gültige Auswahl." in block
    assert CustomerProfile.objects.filter(user=customer, language="xx").count() == 0


def test_the_stored_choice_wins_over_a_german_browser(db, customer):
    choose(customer, "en")
    response, html = page(client_for(customer), "/accounts/profile/", accept=GERMAN)
    assert response["Content-Language"] == "en" and "<h1>Your account</h1>" in html


def test_the_choice_applies_from_the_sign_in_on(db, customer):
    from tests.helpers import PASSWORD

    choose(customer, "de")
    c = Client()
    response = c.post(
        "/accounts/login/",
        {"username": "cus", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE=ENGLISH,
        follow=True,
    )
    html = response.content.decode()
    assert "Angemeldet als cus" in html
    assert response["Content-Language"] == "de"


def test_the_footer_switcher_sets_a_visitors_language(db, client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/support/"})
    assert response.status_code == 302 and response["Location"] == "/support/"
    _, html = page(client, "/accounts/login/", accept=ENGLISH)
    assert "<h1>Anmelden</h1>" in html


# --- emails in the recipient's language -----------------------------------------------------------
def owed_email(user, subject="Seite ist langsam"):
    ticket = CustomerTicket.objects.create(
        user=user,
        email=user.email,
        subject=subject,
        hubspot_id=str(1000 + user.pk),
        stage="1",
        stage_label="Waiting on us",
        status=CustomerTicket.Status.OPEN,
    )
    return TicketNotification.objects.create(
        ticket=ticket, key=f"event-{user.pk}", kind="stage", stage_label="Waiting on us"
    )


def test_a_ticket_email_is_written_in_its_customers_language(verified_customer, settings):
    from hubspot_integration.services.email_verification import mark_verified

    settings.HUBSPOT_SITE_URL = "https://panel.example.com"
    choose(verified_customer, "de")
    english = make_user(verified_customer.__class__, "eng")
    mark_verified(english)

    german_row, english_row = owed_email(verified_customer), owed_email(english, "Site is slow")
    # The worker has no request: whatever language it last ran in must not matter.
    assert ticket_notifications.send(german_row.pk) == "sent"
    assert ticket_notifications.send(english_row.pk) == "sent"

    german, english_mail = mail.outbox
    assert german.to == [verified_customer.email]
    assert german.subject == "Ihr Ticket „Seite ist langsam“ ist jetzt: Waiting on us"
    assert "ist in eine neue Phase gewechselt: Waiting on us." in german.body
    assert "Alle Ihre Tickets unter Meine Tickets:" in german.body
    html, _ = german.alternatives[0]
    assert '<html lang="de">' in html and "Dieses Ticket öffnen" not in html
    assert "dieses Ticket öffnen" in html

    assert english_mail.subject == 'Your ticket "Site is slow" is now: Waiting on us'
    assert "has moved to a new stage: Waiting on us." in english_mail.body


def test_a_verification_email_follows_the_page_or_the_choice(db, client, mailoutbox):
    client.post(
        "/accounts/signup/",
        {
            "username": "neu",
            "email": "neu@example.com",
            "password1": "a long enough passphrase 42",
            "password2": "a long enough passphrase 42",
        },
        HTTP_ACCEPT_LANGUAGE=GERMAN,
    )
    (message,) = mailoutbox
    # No choice stored yet: the language of the page the visitor signed up on.
    assert message.subject == "Bestätigen Sie Ihre E-Mail-Adresse für SkyPanel"
    assert "bitte bestätigen Sie, dass neu@example.com Ihre E-Mail-Adresse ist" in message.body
    assert "läuft in 72 Stunden ab" in message.body


def test_connection_emails_go_out_in_each_admins_language(superuser, hubspot_admin):
    superuser.email, hubspot_admin.email = "root@example.com", "hadmin@example.com"
    superuser.save()
    hubspot_admin.save()
    choose(hubspot_admin, "de")
    watch = ConnectionWatch.objects.create(
        pk=ConnectionWatch.ROW,
        ok=False,
        message="HubSpot refused the credential (401).",
        failing_since=timezone.now(),
        checked_at=timezone.now(),
    )
    assert connection_watch._send(watch, failing=True)
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert set(by_recipient) == {("root@example.com",), ("hadmin@example.com",)}
    german = by_recipient[("hadmin@example.com",)]
    assert german.subject == "HubSpot-Verbindung schlägt fehl: Prüfung"
    assert "Die Verbindung des Panels zu HubSpot schlägt seit" in german.body
    assert "„Verbindung testen“" in german.body
    english = by_recipient[("root@example.com",)]
    assert english.subject == "HubSpot connection failing: check"


@pytest.mark.parametrize("code", ["", "xx"])
def test_no_choice_or_an_unknown_one_means_the_site_default(customer, settings, code):
    CustomerProfile.objects.update_or_create(user=customer, defaults={"language": code})
    assert user_language.language_for(customer) == settings.LANGUAGE_CODE == "en"
