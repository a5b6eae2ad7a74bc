"""The account page and the person's data: name, address (re-verified), ticket emails, "my data",
deleting the account (GDPR delete in HubSpot through the outbox), the staff's GDPR delete from a
contact's page, and consent (form submissions, the banner's answer). Through the fake HubSpot."""

import json
import re

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client

from hubspot_integration.models import (
    ConsentRecord,
    CustomerEmail,
    CustomerProfile,
    CustomerTicket,
    OutboxOperation,
    SettingsAuditEntry,
)
from hubspot_integration.services import email_verification, outbox, profiles
from hubspot_integration.services.consent import BANNER_VERSION
from tests.fake_hubspot import CONTACT_FORM_ID
from tests.helpers import PASSWORD, client_for

pytestmark = pytest.mark.django_db

PROFILE = "/accounts/profile/"
GDPR_PATH = "/crm/objects/2026-09/contacts/gdpr-delete"
LINK = re.compile(r"http://testserver(/accounts/verify-email/[^/\s]+/)")
Kind = OutboxOperation.Kind


def shown(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def gdpr_calls(fake, *, delivered=True):
    """The GDPR-delete requests the fake saw (by default only those it carried out)."""
    return [
        r
        for r in fake.requests
        if r.method == "POST" and r.path == GDPR_PATH and (r.status < 300 or not delivered)
    ]


@pytest.fixture
def contact_on(hubspot_settings):
    hubspot_settings.contact_form_id = CONTACT_FORM_ID
    hubspot_settings.save()
    return hubspot_settings


@pytest.fixture
def with_records(verified_customer, django_user_model, fake_hubspot, hubspot_settings):
    """The customer's contact in HubSpot, a ticket row and a stored request, and another user's."""
    fake_hubspot.create_object("contacts", {"email": verified_customer.email, "firstname": "Cus"})
    other = django_user_model.objects.create_user("oth", "oth@example.com", PASSWORD)
    for user in (verified_customer, other):
        op = outbox.record(
            Kind.CREATE_TICKET,
            {"email": user.email, "properties": {"subject": f"help {user.username}"}},
            user=user,
        )
        OutboxOperation.objects.filter(pk=op.pk).update(status=OutboxOperation.Status.SUCCEEDED)
        CustomerTicket.objects.create(
            user=user, email=user.email, subject=f"Ticket of {user.username}", operation=op
        )
    ConsentRecord.objects.create(user=verified_customer, choice="accept", text_version="v1")
    return verified_customer, other


# --- the page ------------------------------------------------------------------------------------
def test_anonymous_visitors_are_sent_to_sign_in():
    for path in (PROFILE, PROFILE + "data/", PROFILE + "delete/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_staff_have_an_account_page_too(hubspot_staff):
    assert client_for(hubspot_staff).get(PROFILE).status_code == 200


def test_name_change(customer):
    c = client_for(customer)
    response = c.post(PROFILE, {"action": "name", "first_name": " Ann ", "last_name": "Lee"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name) == ("Ann", "Lee")
    assert 'value="Ann"' in c.get(PROFILE).content.decode()


def test_bad_or_missing_input_shows_the_page_again(customer):
    c = client_for(customer)
    assert c.post(PROFILE, {}).status_code == 200
    page = c.post(PROFILE, {"action": "email", "email": "not an address"})
    assert page.status_code == 200 and "email" in page.context["email_form"].errors
    page = c.post(PROFILE, {"action": "name", "first_name": "x" * 500})
    assert page.status_code == 200


def test_email_change_is_pending_until_the_new_address_is_verified(verified_customer, mailoutbox):
    c = client_for(verified_customer)
    response = c.post(PROFILE, {"action": "email", "email": "New@Example.com"})
    assert any("keeps using cus@example.com" in m for m in shown(response))
    verified_customer.refresh_from_db()
    assert verified_customer.email == "cus@example.com"  # the old one stays in use
    assert email_verification.is_verified(verified_customer)
    assert profiles.profile_of(verified_customer).pending_email == "new@example.com"
    assert "new@example.com" in c.get(PROFILE).content.decode()
    [message] = mailoutbox
    assert message.to == ["new@example.com"] and "new@example.com" in message.body
    link = LINK.search(message.body).group(1)
    response = c.get(link)
    assert response.status_code == 302 and response["Location"] == PROFILE
    user = User.objects.get(pk=verified_customer.pk)
    assert user.email == "new@example.com" and email_verification.is_verified(user)
    assert CustomerEmail.objects.get(user=user).email == "new@example.com"
    assert profiles.profile_of(user).pending_email == ""
    assert c.get(link).status_code in (302, 400)  # used: never a second change


def test_a_newer_change_voids_the_older_link(verified_customer, mailoutbox):
    c = client_for(verified_customer)
    c.post(PROFILE, {"action": "email", "email": "first@example.com"})
    c.post(PROFILE, {"action": "email", "email": "second@example.com"})
    first = LINK.search(mailoutbox[0].body).group(1)
    assert c.get(first).status_code == 400
    assert User.objects.get(pk=verified_customer.pk).email == "cus@example.com"


def test_an_address_of_another_account_gets_no_link_and_the_same_answer(
    verified_customer, hubspot_staff, mailoutbox
):
    response = client_for(verified_customer).post(
        PROFILE, {"action": "email", "email": hubspot_staff.email}
    )
    assert any("We sent a link" in m for m in shown(response))
    assert mailoutbox == []


def test_ticket_emails_switch_is_saved(customer):
    c = client_for(customer)
    assert profiles.ticket_emails_wanted(customer) is True  # on by default
    c.post(PROFILE, {"action": "notifications"})  # the box unticked
    assert CustomerProfile.objects.get(user=customer).ticket_emails is False
    assert profiles.ticket_emails_wanted(customer) is False
    c.post(PROFILE, {"action": "notifications", "ticket_emails": "on"})
    assert profiles.ticket_emails_wanted(customer) is True


# --- my data -------------------------------------------------------------------------------------
def test_my_data_holds_theirs_and_nobody_elses(with_records):
    me, other = with_records
    response = client_for(me).get(PROFILE + "data/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["account"]["username"] == "cus"
    assert data["account"]["email"] == "cus@example.com"
    assert data["account"]["emailVerified"] is True
    assert [t["subject"] for t in data["tickets"]] == ["Ticket of cus"]
    assert [r["sent"]["properties"]["subject"] for r in data["requests"]] == ["help cus"]
    assert [c["choice"] for c in data["consent"]] == ["accept"]
    text = response.content.decode()
    assert "oth" not in text and "password" not in text and "pbkdf2" not in text.lower()


# --- deleting the account ------------------------------------------------------------------------
def test_a_wrong_password_deletes_nothing(with_records, fake_hubspot):
    me, _ = with_records
    page = client_for(me).post(PROFILE + "delete/", {"password": "wrong"})
    assert page.status_code == 200
    assert "That is not your password. Nothing was deleted." in page.content.decode()
    assert User.objects.filter(pk=me.pk).exists()
    assert CustomerTicket.objects.filter(user=me).exists()
    assert not OutboxOperation.objects.filter(kind=Kind.GDPR_DELETE_CONTACT).exists()
    assert gdpr_calls(fake_hubspot) == []


def test_deleting_the_account_erases_it_here_and_in_hubspot(with_records, fake_hubspot):
    me, other = with_records
    c = client_for(me)
    response = c.post(PROFILE + "delete/", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/deleted/"
    page = c.get("/accounts/deleted/")
    assert "Your account is deleted" in page.content.decode()
    assert "Signed in as" not in page.content.decode()  # signed out
    assert c.get(PROFILE).status_code == 302

    [call] = gdpr_calls(fake_hubspot)  # exactly one GDPR delete
    assert call.body == {"objectId": "cus@example.com", "idProperty": "email"}
    assert [c["properties"]["email"] for c in fake_hubspot.objects("contacts")].count(
        "cus@example.com"
    ) == 0
    # Nothing local is left of them...
    assert not User.objects.filter(pk=me.pk).exists()
    assert not CustomerEmail.objects.filter(user_id=me.pk).exists()
    assert not CustomerProfile.objects.filter(user_id=me.pk).exists()
    assert not ConsentRecord.objects.filter(user_id=me.pk).exists()
    assert not CustomerTicket.objects.filter(email="cus@example.com").exists()
    assert not OutboxOperation.objects.filter(payload__email="cus@example.com").exists()
    [operation] = OutboxOperation.objects.filter(kind=Kind.GDPR_DELETE_CONTACT)
    assert operation.status == OutboxOperation.Status.SUCCEEDED
    assert "cus@example.com" not in json.dumps(operation.payload)
    # ...but the audit line, which names neither them nor their address.
    [entry] = SettingsAuditEntry.objects.filter(action="gdpr_delete")
    assert entry.source == "account" and entry.actor is None and entry.actor_name == ""
    assert "cus" not in entry.summary.replace("account holder", "")
    # The other customer keeps everything.
    assert CustomerTicket.objects.filter(user=other).count() == 1
    assert OutboxOperation.objects.filter(requested_by=other).count() == 1


def test_deleting_during_an_outage_is_queued_then_delivered_once(with_records, fake_hubspot):
    me, _ = with_records
    fake_hubspot.faults.down()
    client_for(me).post(PROFILE + "delete/", {"password": PASSWORD})
    assert not User.objects.filter(pk=me.pk).exists()  # local records go at once
    [operation] = OutboxOperation.objects.filter(kind=Kind.GDPR_DELETE_CONTACT)
    assert operation.status == OutboxOperation.Status.PENDING
    fake_hubspot.faults.up()
    OutboxOperation.objects.update(next_attempt_at=operation.created_at)
    outbox.process_due()
    outbox.process_due()
    operation.refresh_from_db()
    assert operation.status == OutboxOperation.Status.SUCCEEDED
    assert len(gdpr_calls(fake_hubspot)) == 1  # delivered once...
    assert len(gdpr_calls(fake_hubspot, delivered=False)) == 2  # ...after the refused attempt


def test_no_contact_in_hubspot_counts_as_done(customer, hubspot_settings, fake_hubspot):
    client_for(customer).post(PROFILE + "delete/", {"password": PASSWORD})
    [operation] = OutboxOperation.objects.filter(kind=Kind.GDPR_DELETE_CONTACT)
    assert operation.status == OutboxOperation.Status.SUCCEEDED  # HubSpot's 404: nothing to do
    assert [r.status for r in gdpr_calls(fake_hubspot, delivered=False)] == [404]


# --- staff: GDPR delete from a contact's page ----------------------------------------------------
@pytest.fixture
def contact(fake_hubspot, hubspot_settings):
    return fake_hubspot.create_object(
        "contacts", {"email": "cus@example.com", "firstname": "Cara", "lastname": "Us"}
    )


def gdpr_url(contact) -> str:
    return f"/admin/hubspot_integration/hubspotcontact/{contact['id']}/gdpr-delete/"


def test_staff_gdpr_delete_names_what_goes_and_deletes_it(
    hubspot_admin, with_records, fake_hubspot
):
    me, _ = with_records
    [contact] = [
        c for c in fake_hubspot.objects("contacts") if c["properties"]["email"] == me.email
    ]
    c = client_for(hubspot_admin)
    change = c.get(f"/admin/hubspot_integration/hubspotcontact/{contact['id']}/change/")
    assert "gdpr-delete-link" in change.content.decode()
    page = c.get(gdpr_url(contact)).content.decode()
    assert "Cus &lt;cus@example.com&gt;" in page
    assert "the user account “cus”" in page and "1 ticket row" in page
    assert gdpr_calls(fake_hubspot) == []  # the page only asks
    response = c.post(gdpr_url(contact), {"post": "yes"})
    assert response.status_code == 302
    assert len(gdpr_calls(fake_hubspot)) == 1
    assert not User.objects.filter(pk=me.pk).exists()
    assert not CustomerTicket.objects.filter(email="cus@example.com").exists()
    [entry] = SettingsAuditEntry.objects.filter(action="gdpr_delete")
    assert entry.actor == hubspot_admin and entry.source == "admin"


def test_staff_without_the_gdpr_permission_are_refused(
    hubspot_staff, plain_staff, contact, fake_hubspot
):
    for user in (hubspot_staff, plain_staff):
        c = client_for(user)
        assert c.get(gdpr_url(contact)).status_code == 403
        assert c.post(gdpr_url(contact), {"post": "yes"}).status_code == 403
    change = client_for(hubspot_staff).get(
        f"/admin/hubspot_integration/hubspotcontact/{contact['id']}/change/"
    )
    assert "gdpr-delete-link" not in change.content.decode()
    assert gdpr_calls(fake_hubspot) == []


def test_a_staff_account_is_not_erased_from_a_contact_page(
    hubspot_admin, superuser, hubspot_settings, fake_hubspot
):
    contact = fake_hubspot.create_object("contacts", {"email": superuser.email})
    c = client_for(hubspot_admin)
    for response in (c.get(gdpr_url(contact)), c.post(gdpr_url(contact), {"post": "yes"})):
        assert response.status_code == 302
    assert User.objects.filter(pk=superuser.pk).exists()
    assert gdpr_calls(fake_hubspot, delivered=False) == []


def test_an_unknown_contact_is_a_message_not_an_error(hubspot_admin, hubspot_settings):
    response = client_for(hubspot_admin).get(
        "/admin/hubspot_integration/hubspotcontact/999999/gdpr-delete/"
    )
    assert response.status_code == 302


# --- consent -------------------------------------------------------------------------------------
def contact_data(**overrides):
    data = {"name": "Ann Smith", "email": "ann@example.com", "message": "Hello", "website": ""}
    data.update(overrides)
    return data


def test_form_submissions_carry_no_consent_options_when_none_are_set(contact_on, fake_hubspot):
    assert Client().post("/contact/", contact_data()).status_code == 302
    [submission] = fake_hubspot.form_submissions
    assert "legalConsentOptions" not in submission["body"]


def test_form_submissions_carry_the_consent_the_sender_gave(contact_on, fake_hubspot):
    contact_on.consent_text = "I agree that SkyPanel processes my data."
    contact_on.consent_communications_text = "Send me the newsletter."
    contact_on.consent_subscription_type_id = 999
    contact_on.save()
    c = Client()
    page = c.post("/contact/", contact_data())  # not ticked: not sent
    assert page.status_code == 200 and "consent_to_process" in page.context["form"].errors
    assert fake_hubspot.form_submissions == []
    c.post("/contact/", contact_data(consent_to_process="on"))
    [submission] = fake_hubspot.form_submissions
    assert submission["body"]["legalConsentOptions"] == {
        "consent": {
            "consentToProcess": True,
            "text": "I agree that SkyPanel processes my data.",
            "communications": [
                {"value": False, "subscriptionTypeId": 999, "text": "Send me the newsletter."}
            ],
        }
    }


def test_consent_settings_go_together(hubspot_admin, hubspot_settings):
    from django.core.exceptions import ValidationError

    hubspot_settings.consent_communications_text = "Newsletter"
    with pytest.raises(ValidationError) as excinfo:
        hubspot_settings.full_clean()
    assert {"consent_text", "consent_subscription_type_id"} <= set(excinfo.value.message_dict)


def test_the_banner_answer_is_recorded_for_a_signed_in_customer(customer):
    c = client_for(customer)
    assert c.post("/accounts/consent/", {"choice": "decline"}).json() == {"recorded": True}
    [record] = ConsentRecord.objects.filter(user=customer)
    assert record.choice == "decline" and record.text_version == BANNER_VERSION
    assert c.post("/accounts/consent/", {"choice": "maybe"}).status_code == 400
    assert Client().post("/accounts/consent/", {"choice": "accept"}).json() == {"recorded": False}
    assert c.get("/accounts/consent/").status_code == 405
    assert ConsentRecord.objects.count() == 1


def test_the_banner_posts_the_answer_only_for_a_signed_in_visitor(customer, hubspot_settings):
    from django.contrib.auth.models import AnonymousUser
    from django.template import Context, Template
    from django.test import RequestFactory

    hubspot_settings.chat_enabled = True
    hubspot_settings.wait_for_consent = True
    hubspot_settings.save()
    template = Template("{% load hubspot %}{% hubspot_tracking %}")
    for user, expected in ((customer, '"/accounts/consent/"'), (AnonymousUser(), '""')):
        request = RequestFactory().get("/")
        request.user = user
        html = template.render(Context({"request": request}))
        assert f'"consentRecordUrl": {expected}' in html
