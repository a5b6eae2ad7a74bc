"""The support page, the contact page and "My tickets": what a customer sees, and what HubSpot gets."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hubspot_integration.models import CustomerTicket, OutboxOperation
from hubspot_integration.services import outbox
from tests.fake_hubspot import CONTACT_FORM_ID, TICKET_PIPELINE_ID
from tests.helpers import client_for

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
HUTK = "0123456789abcdef0123456789abcdef"


def request_data(**overrides):
    data = {
        "subject": "My site is down",
        "description": "Since this morning example.com answers 502.",
        "priority": "HIGH",
        "email": "cus@example.com",
        "website": "",
    }
    data.update(overrides)
    return data


def make_due():
    OutboxOperation.objects.filter(status=OutboxOperation.Status.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_support_page_names_the_customers_address_instead_of_asking(tickets_on, customer):
    html = client_for(customer).get("/support/").content.decode()
    assert "We answer at <strong>cus@example.com</strong>" in html
    for name in ("subject", "description", "priority"):
        assert f'name="{name}"' in html
    assert 'name="email"' not in html  # only a visitor types one
    assert 'name="email"' in Client().get("/support/").content.decode()


def test_support_request_creates_the_ticket_with_contact_and_default_pipeline(
    tickets_on, fake_hubspot, verified_customer
):
    customer = verified_customer
    c = client_for(customer)
    response = c.post("/support/", request_data(), follow=True)
    assert "Your request was received" in response.content.decode()
    ticket = CustomerTicket.objects.get()
    assert ticket.user == customer and ticket.hubspot_id and ticket.stage_label == "New"
    created = fake_hubspot.objects("tickets")
    assert len(created) == 1
    props = created[0]["properties"]
    assert props["subject"] == "My site is down"
    assert props["hs_pipeline"] == TICKET_PIPELINE_ID and props["hs_ticket_priority"] == "HIGH"
    contacts = fake_hubspot.objects("contacts")
    assert [c["properties"]["email"] for c in contacts] == ["cus@example.com"]
    linked = created[0]["associations"]["contacts"]["results"]
    assert [str(a["id"]) for a in linked] == [contacts[0]["id"]]
    page = c.get("/support/tickets/").content.decode()
    assert "My site is down" in page and "New" in page


def test_support_request_is_received_while_hubspot_is_down_and_delivered_later(
    tickets_on, fake_hubspot, customer
):
    fake_hubspot.faults.down()
    c = client_for(customer)
    response = c.post("/support/", request_data(), follow=True)
    assert response.status_code == 200
    assert "Your request was received" in response.content.decode()
    ticket = CustomerTicket.objects.get()
    assert ticket.hubspot_id == "" and ticket.operation.status == "pending"
    assert "Received, being filed" in c.get("/support/tickets/").content.decode()

    fake_hubspot.faults.up()
    make_due()
    assert outbox.process_due() == 1
    ticket.refresh_from_db()
    assert ticket.hubspot_id and ticket.stage_label == "New"
    assert len(fake_hubspot.objects("tickets")) == 1
    assert "New" in c.get("/support/tickets/").content.decode()


def test_anonymous_visitor_can_send_a_request(tickets_on, fake_hubspot, client):
    response = client.post("/support/", request_data(email="anon@example.com"), follow=True)
    assert "Your request was received" in response.content.decode()
    assert CustomerTicket.objects.get().user is None


def test_invalid_request_shows_errors_and_keeps_the_text(tickets_on, fake_hubspot, client):
    response = client.post("/support/", request_data(subject="", email="not-an-email"))
    html = response.content.decode()
    assert "This field is required." in html and "Enter a valid email address." in html
    assert "Since this morning example.com answers 502." in html
    assert not CustomerTicket.objects.exists() and fake_hubspot.count("POST") == 0


def test_support_is_unavailable_when_tickets_are_off(hubspot_settings, client):
    response = client.post("/support/", request_data())
    assert "cannot be sent from this page right now" in response.content.decode()
    assert not CustomerTicket.objects.exists()


def test_xss_in_every_form_field_is_escaped(tickets_on, fake_hubspot, customer):
    c = client_for(customer)
    c.post("/support/", request_data(subject=XSS, description=XSS), follow=True)
    for url in ("/support/tickets/",):
        html = c.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert" in html
    # Echoed back on a validation error (a visitor's email field): still escaped.
    html = Client().post("/support/", request_data(subject=XSS, email=XSS)).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    tickets_on.contact_form_id = CONTACT_FORM_ID
    tickets_on.save()
    data = {"name": XSS, "email": XSS, "company": XSS, "message": "", "website": ""}
    html = c.post("/contact/", data).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html


def test_customer_never_sees_anothers_tickets(
    tickets_on, fake_hubspot, customer, django_user_model
):
    other = django_user_model.objects.create_user("oth", "oth@example.com", "x-pass-1234567")
    CustomerTicket.objects.create(user=other, email=other.email, subject="Other's secret problem")
    CustomerTicket.objects.create(user=None, email=customer.email, subject="Anonymous same email")
    CustomerTicket.objects.create(user=customer, email=customer.email, subject="Mine")
    html = client_for(customer).get("/support/tickets/").content.decode()
    assert "Mine" in html
    assert "Other&#x27;s secret problem" not in html and "secret problem" not in html
    assert "Anonymous same email" not in html


def test_my_tickets_needs_login(db, client):
    response = client.get("/support/tickets/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/support/tickets/")


def test_csrf_is_enforced(tickets_on, fake_hubspot):
    c = Client(enforce_csrf_checks=True)
    response = c.post("/support/", request_data())
    assert response.status_code == 403
    assert not CustomerTicket.objects.exists()


def test_honeypot_refuses_with_a_clear_message(tickets_on, fake_hubspot, client):
    response = client.post("/support/", request_data(website="http://spam.example"))
    assert response.status_code == 429
    assert "looked automated" in response.content.decode()
    assert not CustomerTicket.objects.exists() and fake_hubspot.count("POST") == 0


def test_rate_limit_per_ip(tickets_on, fake_hubspot, client):
    for _ in range(5):
        assert client.post("/support/", request_data()).status_code == 302
    response = client.post("/support/", request_data())
    assert response.status_code == 429
    assert "several requests in a short time" in response.content.decode()
    assert CustomerTicket.objects.count() == 5


def test_rate_limit_per_user_across_addresses(tickets_on, fake_hubspot, customer):
    c = client_for(customer)
    for i in range(5):
        assert c.post("/support/", request_data(), REMOTE_ADDR=f"10.0.0.{i}").status_code == 302
    response = c.post("/support/", request_data(), REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 429


def test_oversized_request_is_refused(tickets_on, fake_hubspot, client):
    response = client.post("/support/", request_data(description="x" * 40_000))
    assert response.status_code == 429
    assert "too large" in response.content.decode()
    assert not CustomerTicket.objects.exists()


def test_field_size_limits(tickets_on, fake_hubspot, client):
    html = client.post("/support/", request_data(subject="s" * 201)).content.decode()
    assert "Ensure this value has at most 200 characters" in html


# --- contact page -----------------------------------------------------------------------------------
@pytest.fixture
def contact_on(hubspot_settings):
    hubspot_settings.contact_form_id = CONTACT_FORM_ID
    hubspot_settings.save()
    return hubspot_settings


def contact_data(**overrides):
    data = {
        "name": "Ann Smith",
        "email": "Ann@Example.com",
        "company": "Acme",
        "message": "Do you host Django?",
        "website": "",
    }
    data.update(overrides)
    return data


def test_contact_message_goes_to_hubspot_forms_with_context(contact_on, fake_hubspot, client):
    client.cookies["hubspotutk"] = HUTK
    response = client.post("/contact/", contact_data(), follow=True)
    assert "your message was received" in response.content.decode()
    [submission] = fake_hubspot.form_submissions
    assert submission["formGuid"] == CONTACT_FORM_ID
    fields = {f["name"]: f["value"] for f in submission["body"]["fields"]}
    assert fields["email"] == "ann@example.com"
    assert fields["firstname"] == "Ann" and fields["lastname"] == "Smith"
    # The form has no company field: what the visitor typed goes into the message.
    assert "company: Acme" in fields["message"] and "Do you host Django?" in fields["message"]
    context = submission["body"]["context"]
    assert context["hutk"] == HUTK
    assert context["pageUri"] == "http://testserver/contact/"
    assert context["pageName"] == "Contact"
    assert context["ipAddress"] == "127.0.0.1"
    assert OutboxOperation.objects.get().kind == "submit_form"


def test_contact_without_consent_sends_no_tracking_context(contact_on, fake_hubspot, client):
    contact_on.wait_for_consent = True
    contact_on.save()
    client.cookies["hubspotutk"] = HUTK
    client.post("/contact/", contact_data())
    context = fake_hubspot.form_submissions[0]["body"]["context"]
    assert "hutk" not in context and "ipAddress" not in context
    client.cookies["skypanel_consent"] = "granted"
    client.post("/contact/", contact_data())
    assert fake_hubspot.form_submissions[1]["body"]["context"]["hutk"] == HUTK


def test_contact_message_queued_while_hubspot_is_down(contact_on, fake_hubspot, client):
    fake_hubspot.faults.down()
    response = client.post("/contact/", contact_data(), follow=True)
    assert "your message was received" in response.content.decode()
    assert fake_hubspot.form_submissions == []
    fake_hubspot.faults.up()
    make_due()
    outbox.process_due()
    assert len(fake_hubspot.form_submissions) == 1


def test_contact_page_without_a_form_id(hubspot_settings, client):
    html = client.get("/contact/").content.decode()
    assert "The contact form is not available" in html
    assert 'id="contact-form"' not in html


# --- accounts ---------------------------------------------------------------------------------------
def test_signup_asks_to_confirm_the_email_before_signing_in(tickets_on, client, mailoutbox):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": "a-Long-pass-phrase-42",
            "password2": "a-Long-pass-phrase-42",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Check your inbox" in html and "Signed in as" not in html
    assert [m.to for m in mailoutbox] == [["newbie@example.com"]]


def test_login_and_logout_pages(customer, client):
    from tests.helpers import PASSWORD

    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/", {"username": "cus", "password": PASSWORD}, follow=True
    )
    assert "My tickets" in response.content.decode()
    response = client.post("/accounts/logout/")
    assert "You are signed out" in response.content.decode()
    assert '"clearIdentity": true' not in response.content.decode()  # chat off: no widget at all


def test_admin_still_uses_its_own_login(db, client):
    response = client.get("/admin/")
    assert response["Location"].startswith("/admin/login/")
