"""The public pages render through the base template, for anonymous visitors and customers."""

import pytest

from tests.helpers import client_for

PAGES = ["/", "/support/", "/contact/", "/accounts/login/", "/accounts/signup/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_for_anonymous_visitors(db, client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<a class="brand" href="/">SkyPanel</a>' in html
    assert 'href="/accounts/login/"' in html and "My tickets" not in html


@pytest.mark.parametrize("url", ["/", "/support/", "/contact/", "/support/tickets/"])
def test_pages_render_for_customers(customer, url):
    html = client_for(customer).get(url).content.decode()
    assert "Signed in as cus" in html
    assert 'action="/accounts/logout/"' in html and "data-logout" in html


@pytest.mark.parametrize("url", ["/", "/support/", "/contact/"])
def test_anonymous_pages_cost_no_sql_with_a_warm_cache(
    hubspot_settings, client, url, django_assert_num_queries, fake_hubspot
):
    hubspot_settings.chat_enabled = True
    hubspot_settings.tickets_enabled = True
    hubspot_settings.save()
    client.get(url)
    before = fake_hubspot.count()
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200
    assert fake_hubspot.count() == before


def test_logout_is_post_only_and_clears_the_widget_identity(hubspot_settings, customer):
    hubspot_settings.chat_enabled = True
    hubspot_settings.save()
    c = client_for(customer)
    assert c.get("/accounts/logout/").status_code == 405
    html = c.post("/accounts/logout/").content.decode()
    assert "You are signed out" in html
    assert '"clearIdentity": true' in html


def test_received_page_needs_a_request(db, client):
    response = client.get("/support/received/")
    assert response.status_code == 302 and response["Location"] == "/support/"


def test_webhook_endpoint_is_post_only(db, client):
    assert client.get("/hubspot/webhooks/").status_code == 405


def test_static_assets_exist():
    from django.contrib.staticfiles import finders

    for name in ("hubspot.js", "forms.js", "site.css"):
        assert finders.find(f"hubspot_integration/{name}"), name
