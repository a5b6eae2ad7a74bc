"""The CRM dashboard admin page: permissions, exact figures, the chart, caching and Refresh."""

from decimal import Decimal

import pytest

from tests.helpers import client_for

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
    assert f'id="total-deal-value">${total:,.2f}<' in page  # the account's currency, separated
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


# --- when HubSpot cannot be asked ------------------------------------------------------------------
HTML = "<html><body><h1>Sign in to the guest Wi-Fi</h1></body></html>"
CARD_IDS = ["summary", "tickets", "analytics", "pipeline", "recent-contacts", "forms"]


def _messages(response) -> list[tuple[str, str]]:
    from django.contrib.messages import get_messages

    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def _loaded_minutes_ago(monkeypatch, client, minutes: int) -> None:
    """Load the dashboard as if `minutes` ago: the figures are cached with that time."""
    from datetime import timedelta
    from types import SimpleNamespace

    from django.utils import timezone

    from hubspot_integration.services import report_cache

    earlier = timezone.now() - timedelta(minutes=minutes)
    monkeypatch.setattr(report_cache, "timezone", SimpleNamespace(now=lambda: earlier))
    assert 'id="contacts-count">2500<' in client.get(URL).content.decode()
    monkeypatch.undo()


def test_refresh_while_hubspot_is_down_keeps_the_figures_and_says_it_failed(
    seeded, hubspot_staff, monkeypatch
):
    client = client_for(hubspot_staff)
    _loaded_minutes_ago(monkeypatch, client, 12)
    seeded.faults.down()
    response = client.post(REFRESH, follow=True)
    assert response.status_code == 200
    shown = _messages(response)
    assert [level for level, _ in shown] == ["warning"]
    assert shown[0][1].startswith("The refresh failed for 7 of 7 cards: ")
    assert "last figures HubSpot gave" in shown[0][1]
    assert "refreshed from HubSpot" not in response.content.decode()
    page = response.content.decode()
    # The figures of a second ago are still there, marked with their age and the error.
    assert 'id="contacts-count">2500<' in page and 'id="deals-count">350<' in page
    assert page.count('class="pipeline-chart"') == 2
    assert page.count("Figures from 12\xa0minutes ago") == 7
    assert "server error (503)" in page
    assert "Unavailable:" not in page

    seeded.faults.up()
    response = client.post(REFRESH, follow=True)
    assert _messages(response) == [("success", "The dashboard was refreshed from HubSpot.")]
    assert "Figures from" not in response.content.decode()


def test_a_card_without_earlier_figures_shows_unavailable(seeded, hubspot_staff):
    seeded.faults.down()
    response = client_for(hubspot_staff).post(REFRESH, follow=True)
    assert [level for level, _ in _messages(response)] == ["warning"]
    page = response.content.decode()
    assert page.count("Unavailable: HubSpot answered with a server error (503)") == 7


@pytest.mark.parametrize("failures", [1, 3, 40])
def test_an_html_answer_makes_cards_unavailable_not_a_500(seeded, hubspot_staff, failures):
    """A captive portal's or a proxy's HTML page, with status 200: "unavailable", no 500."""
    seeded.faults.fail_next(failures, status=200, body=HTML)
    response = client_for(hubspot_staff).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unavailable: HubSpot answered with something that is not JSON" in page
    for card in CARD_IDS:
        assert f'id="card-{card}"' in page
    assert "Traceback" not in page and "Sign in to the guest" not in page
    assert seeded.server_errors == []


def test_a_legacy_report_of_the_wrong_shape_makes_its_card_unavailable(seeded, hubspot_staff):
    """The analytics reports are read without an SDK model: JSON that is not an object used to
    end the whole page in a 500."""
    seeded.faults.fail_next(10, status=200, body='"not an object"', path_prefix="/analytics/v2")
    response = client_for(hubspot_staff).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("did not have the shape this report reads") == 2  # both reports
    assert 'id="contacts-count">2500<' in page
