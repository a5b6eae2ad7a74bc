"""The admin names things: a ticket's contacts by name, customer tickets' pipeline, stage and
priority labels, outbox rows linked to their record, audit entries in words, money in the
account's currency, recent contacts linked and dated. Through the fake HubSpot."""

from __future__ import annotations

import re

import pytest

from hubspot_integration.models import CustomerTicket, OutboxOperation, SettingsAuditEntry
from hubspot_integration.services.money import format_money
from tests.fake_hubspot import FAKE_PORTAL_ID
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

SUPPORT, CLOSED = "81234567", "81234571"
ADMIN = "/admin/hubspot_integration/"


def test_a_ticket_page_names_its_contact_and_links_it(hubspot_staff, tickets_on, fake_hubspot):
    ann = fake_hubspot.create_object(
        "contacts", {"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee"}
    )
    ticket = fake_hubspot.create_object(
        "tickets",
        {"subject": "Cannot log in", "hs_pipeline": SUPPORT, "hs_pipeline_stage": CLOSED},
        associations={"contacts": [ann["id"]]},
    )
    page = client_for(hubspot_staff).get(f"{ADMIN}hubspotticket/{ticket['id']}/change/")
    html = page.content.decode()
    contact_page = f"{ADMIN}hubspotcontact/{ann['id']}/change/"
    assert f'<a href="{contact_page}">Ann Lee &lt;ann@example.com&gt;</a>' in html
    assert f"Contact {ann['id']}" not in html


def test_customer_tickets_show_labels(superuser, tickets_on, fake_hubspot):
    CustomerTicket.objects.create(
        email="cus@example.com",
        subject="Printer",
        hubspot_id="9",
        pipeline=SUPPORT,
        stage=CLOSED,
        priority="HIGH",
    )
    html = client_for(superuser).get(f"{ADMIN}customerticket/").content.decode()
    cells = dict(re.findall(r'<td class="field-(\w+)">([^<]*)</td>', html))
    assert cells["pipeline_name"] == "Support Pipeline"
    assert cells["stage_name"] == "Closed"
    assert cells["priority_name"] == "High"


def test_outbox_rows_link_to_their_record(superuser, hubspot_settings):
    OutboxOperation.objects.create(
        kind="update_contact", payload={"id": "101"}, hubspot_object_id="101", status="succeeded"
    )
    OutboxOperation.objects.create(kind="archive_contact", payload={"id": "102"}, status="pending")
    html = client_for(superuser).get(f"{ADMIN}outboxoperation/").content.decode()
    hubspot = f"https://app.hubspot.com/contacts/{FAKE_PORTAL_ID}/record/0-1/"
    assert f'href="{hubspot}101"' in html and "Contact 101 in HubSpot" in html
    assert f'href="{ADMIN}hubspotcontact/101/change/">panel page</a>' in html
    assert f'href="{hubspot}102"' in html  # an archive names its record too, in HubSpot only
    assert f"{ADMIN}hubspotcontact/102/change/" not in html


def test_audit_entries_list_changed_fields_in_words(superuser, db):
    SettingsAuditEntry.objects.create(
        source="admin", changed_fields=["portal_id", "tickets_enabled", "gone_field"], summary="x"
    )
    html = client_for(superuser).get(f"{ADMIN}settingsauditentry/").content.decode()
    assert '<td class="field-changed">portal ID, tickets enabled, gone field</td>' in html


@pytest.mark.parametrize(
    "value, code, shown",
    [
        ("1234567.5", "EUR", "€1,234,567.50"),
        (1200, "USD", "$1,200.00"),
        ("98765", "JPY", "¥98,765"),
        ("-12.3", "CHF", "-CHF 12.30"),
        ("5", "", "5.00"),
        ("n/a", "EUR", "n/a"),
        (None, "EUR", ""),
    ],
)
def test_money_formatting(value, code, shown):
    assert format_money(value, code) == shown


def test_the_dashboard_shows_money_in_the_accounts_currency(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    fake_hubspot.account["companyCurrency"] = "EUR"
    fake_hubspot.seed_deals(20, pipelines=1)
    total = sum(float(d["properties"]["amount"]) for d in fake_hubspot.objects("deals"))
    html = client_for(hubspot_staff).get(f"{ADMIN}crmdashboard/").content.decode()
    assert f'id="total-deal-value">€{total:,.2f}<' in html


def test_recent_contacts_link_to_their_page_with_dates(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    ann = fake_hubspot.create_object(
        "contacts", {"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee"}
    )
    html = client_for(hubspot_staff).get(f"{ADMIN}crmdashboard/").content.decode()
    row = re.search(
        rf'<tr class="recent-contact" data-id="{ann["id"]}">.*?</tr>', html, re.S
    ).group(0)
    assert f'<a href="{ADMIN}hubspotcontact/{ann["id"]}/change/">Ann Lee</a>' in row
    created = re.search(r'<td class="created"><time datetime="([^"]+)">([^<]+)</time>', row)
    assert created and "T" in created.group(1) and "T" not in created.group(2)  # a date, not ISO
