"""The CRM dashboard admin page: permissions, exact figures, the chart, caching and Refresh."""

from decimal import Decimal

import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/admin/hubspot_integration/crmdashboard/"
REFRESH = URL + "refresh/"


@pytest.fixture
def seeded(hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(2500)
    fake_hubspot.seed_deals(350, pipelines=2)
    fake_hubspot.seed_tickets(120)
    return fake_hubspot


@pytest.mark.parametrize(
    "who, expected",
    [("superuser", 200), ("admin", 200), ("staff", 200), ("plain_staff", 403), ("customer", 302)],
)
def test_permissions(hubspot_settings, users, who, expected):
    assert client_for(users[who]).get(URL).status_code == expected


def test_anonymous_goes_to_login(hubspot_settings):
    response = client_for(None).get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_index_lists_the_dashboard_for_staff_only(hubspot_settings, hubspot_staff, plain_staff):
    assert "CRM dashboard" in client_for(hubspot_staff).get("/admin/").content.decode()
    assert "CRM dashboard" not in client_for(plain_staff).get("/admin/").content.decode()


def test_dashboard_shows_exact_figures_and_chart(seeded, hubspot_staff):
    page = client_for(hubspot_staff).get(URL).content.decode()
    total = sum(Decimal(d["properties"]["amount"]) for d in seeded.objects("deals"))
    assert 'id="contacts-count">2500<' in page
    assert 'id="deals-count">350<' in page
    assert f'id="total-deal-value">{total}<' in page
    assert page.count('class="pipeline-chart"') == 2
    assert "Sales Pipeline" in page and "Renewals" in page
    assert "Appointment scheduled" in page
    assert "Fetched " in page and "errornote" not in page
    assert seeded.server_errors == []


def test_second_load_cached_refresh_asks_again(seeded, hubspot_staff):
    client = client_for(hubspot_staff)
    client.get(URL)
    calls = seeded.count()
    page = client.get(URL).content.decode()
    assert seeded.count() == calls
    assert "(cached)" in page
    assert client.get(REFRESH).status_code == 405  # a GET never triggers HubSpot calls
    response = client.post(REFRESH, follow=True)
    assert response.status_code == 200
    assert "refreshed" in response.content.decode()
    assert seeded.count() > calls


def test_refresh_needs_the_permission(hubspot_settings, plain_staff):
    assert client_for(plain_staff).post(REFRESH).status_code == 403


def test_one_failing_card(seeded, hubspot_staff):
    seeded.faults.fail_next(50, status=503, path_prefix="/crm/objects/2026-09/deals")
    response = client_for(hubspot_staff).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "server error (503)" in page
    assert 'id="tickets-open">' in page and "recent-contact" in page
    assert "Traceback" not in page


def test_not_configured_shows_messages(db, hubspot_staff):
    response = client_for(hubspot_staff).get(URL)
    assert response.status_code == 200
    assert "switched off" in response.content.decode()
