"""The account page in Chromium: change the name, switch ticket emails off, download my data,
record the cookie banner's answer, delete the account (HubSpot's contact GDPR-deleted)."""

import json

import pytest
from django.contrib.auth.models import User

from hubspot_integration.models import ConsentRecord, CustomerProfile, OutboxOperation
from tests.browser.conftest import sign_in
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GDPR_PATH = "/crm/objects/2026-09/contacts/gdpr-delete"


@pytest.fixture
def setup(hubspot_settings, verified_customer, fake_hubspot):
    hubspot_settings.chat_enabled = True
    hubspot_settings.wait_for_consent = True
    hubspot_settings.save()
    fake_hubspot.create_object("contacts", {"email": verified_customer.email})
    return verified_customer


def test_the_account_page_end_to_end(page, setup, fake_hubspot):
    customer = setup
    page.context.route(
        "https://*.hs-scripts.com/**",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=""),
    )
    sign_in(page, customer)
    page.click("#account-link")
    page.wait_for_selector("h1:has-text('Your account')")

    # The cookie banner's answer is kept on the account.
    page.click("#consent-accept")
    page.wait_for_function("document.cookie.includes('skypanel_consent=granted')")
    for _ in range(50):
        if ConsentRecord.objects.filter(user=customer).exists():
            break
        page.wait_for_timeout(100)
    assert ConsentRecord.objects.get(user=customer).choice == "accept"

    page.fill("#id_first_name", "Cara")
    page.fill("#id_last_name", "Lee")
    page.click("#save-name")
    page.wait_for_selector("text=Your name is saved.")
    assert User.objects.get(pk=customer.pk).get_full_name() == "Cara Lee"

    assert page.is_checked("#id_ticket_emails")  # on by default
    page.uncheck("#id_ticket_emails")
    page.click("#save-notifications")
    page.wait_for_selector("text=Your email settings are saved.")
    assert not page.is_checked("#id_ticket_emails")
    assert CustomerProfile.objects.get(user=customer).ticket_emails is False

    with page.expect_download() as info:
        page.click("#download-data")
    with open(info.value.path(), encoding="utf-8") as fh:
        data = json.load(fh)
    assert data["account"]["firstName"] == "Cara"
    assert data["account"]["ticketEmails"] is False
    assert [c["choice"] for c in data["consent"]] == ["accept"]

    page.click("#delete-account-link")
    page.fill("#id_password", "not my password")
    page.click("#confirm-delete")
    page.wait_for_selector("text=That is not your password. Nothing was deleted.")
    assert User.objects.filter(pk=customer.pk).exists()

    page.fill("#id_password", PASSWORD)
    page.click("#confirm-delete")
    page.wait_for_selector("#account-deleted")
    assert page.locator("text=Signed in as").count() == 0
    assert not User.objects.filter(pk=customer.pk).exists()
    assert fake_hubspot.count("POST", GDPR_PATH) == 1
    assert fake_hubspot.objects("contacts") == [] or all(
        c["properties"].get("email") != customer.email for c in fake_hubspot.objects("contacts")
    )
    [op] = OutboxOperation.objects.filter(kind="gdpr_delete_contact")
    assert op.status == OutboxOperation.Status.SUCCEEDED
