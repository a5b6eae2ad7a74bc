"""One client address for the whole site: X-Forwarded-For believed for the configured hops only.

The throttles of the public forms, django-axes, the Forms API context and the webhook log all ask
`hubspot_integration.client_address.client_address`; behind the documented proxy every visitor
arrives from the proxy's address, so anything keyed by REMOTE_ADDR alone locks everyone out at once.
"""

from __future__ import annotations

import logging

import pytest
from django.test import Client, RequestFactory, override_settings

from hubspot_integration.client_address import client_address
from tests.fake_hubspot import CONTACT_FORM_ID
from tests.helpers import PASSWORD, client_for

PROXY = "10.0.0.2"
rf = RequestFactory()


def request(forwarded: str | None = None, remote: str = PROXY):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return rf.get("/", **extra)


# --- the function ---------------------------------------------------------------------------------
@pytest.mark.parametrize("forwarded", [None, "203.0.113.9", "6.6.6.6, 203.0.113.9", "garbage"])
def test_no_trusted_proxy_means_the_socket_peer_even_when_the_header_is_sent(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request(forwarded)) == PROXY


def test_one_proxy_takes_the_address_it_appended(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request("203.0.113.9")) == "203.0.113.9"
    assert client_address(request("203.0.113.9 ,  198.51.100.7 ")) == "198.51.100.7"


def test_two_proxies_take_the_address_the_outer_one_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    # client -> outer proxy (appends the client) -> inner proxy (appends the outer one) -> us
    assert client_address(request("203.0.113.9, 192.0.2.1", remote="10.0.0.3")) == "203.0.113.9"


@pytest.mark.parametrize("count", [1, 2])
def test_spoofed_left_hand_entries_are_ignored(settings, count):
    settings.TRUSTED_PROXY_COUNT = count
    real = ["203.0.113.9", "192.0.2.1"][:count]
    spoofed = "1.1.1.1, 8.8.8.8, 127.0.0.1"
    assert client_address(request(", ".join([spoofed, *real]))) == "203.0.113.9"


def test_a_header_shorter_than_the_hop_count_is_not_believed(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(request("203.0.113.9")) == PROXY  # one hop missing: not our proxies
    assert client_address(request("")) == PROXY
    assert client_address(request(None)) == PROXY


@pytest.mark.parametrize(
    "garbage",
    [
        "not-an-ip",
        "203.0.113.999",
        "1.2.3.4.5",
        "<script>alert(1)</script>",
        "203.0.113.9; DROP TABLE",
        "unknown",
        "٢٠٣.٠.١١٣.٩",  # Arabic-Indic digits
        "9" * 400,
        ",,,",
    ],
)
def test_garbage_falls_back_to_the_socket_peer(settings, garbage):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request(garbage)) == PROXY


def test_ipv6_is_accepted_and_normalised(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request("2001:DB8:0:0::1")) == "2001:db8::1"
    assert client_address(request("[2001:db8::1]:443")) == "2001:db8::1"


def test_negative_hop_counts_trust_nobody(settings):
    settings.TRUSTED_PROXY_COUNT = -1
    assert client_address(request("203.0.113.9")) == PROXY


# --- the throttle of the public forms -------------------------------------------------------------
@pytest.fixture
def contact_on(hubspot_settings):
    hubspot_settings.contact_form_id = CONTACT_FORM_ID
    hubspot_settings.save()
    return hubspot_settings


def contact_data(**overrides):
    data = {"name": "Ann Smith", "email": "ann@example.com", "message": "Hello", "website": ""}
    data.update(overrides)
    return data


def post_contact(client, visitor: str, **extra):
    return client.post(
        "/contact/", contact_data(), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=visitor, **extra
    )


def test_behind_one_proxy_a_throttled_visitor_does_not_lock_out_the_next(
    settings, contact_on, fake_hubspot
):
    settings.TRUSTED_PROXY_COUNT = 1
    first, second = Client(), Client()
    assert [post_contact(first, "203.0.113.9").status_code for _ in range(5)] == [302] * 5
    assert post_contact(first, "203.0.113.9").status_code == 429
    # Same proxy address, another visitor: not counted against the first one's budget.
    assert post_contact(second, "198.51.100.7").status_code == 302


def test_a_client_cannot_escape_the_throttle_by_forging_the_header(
    settings, contact_on, fake_hubspot
):
    settings.TRUSTED_PROXY_COUNT = 1
    c = Client()
    statuses = [post_contact(c, f"1.1.1.{i}, 203.0.113.9").status_code for i in range(6)]
    assert statuses == [302] * 5 + [429]


def test_without_a_trusted_proxy_the_header_cannot_buy_new_budgets(
    settings, contact_on, fake_hubspot
):
    settings.TRUSTED_PROXY_COUNT = 0
    c = Client()
    statuses = [post_contact(c, f"203.0.113.{i}").status_code for i in range(6)]
    assert statuses == [302] * 5 + [429]


def test_logged_in_customers_are_counted_per_account_not_per_address(
    settings, contact_on, fake_hubspot, customer, django_user_model
):
    settings.TRUSTED_PROXY_COUNT = 0
    colleague = django_user_model.objects.create_user("col", "col@example.com", PASSWORD)
    office = "192.0.2.50"  # one office, one address

    def post(user):
        return client_for(user).post("/contact/", contact_data(), REMOTE_ADDR=office)

    assert [post(customer).status_code for _ in range(5)] == [302] * 5
    assert post(customer).status_code == 429
    assert post(colleague).status_code == 302
    # ... and an anonymous visitor from the office has a budget of its own as well.
    assert Client().post("/contact/", contact_data(), REMOTE_ADDR=office).status_code == 302


def test_the_limits_are_tunable(settings, contact_on, fake_hubspot):
    settings.HUBSPOT_THROTTLE_LIMIT = 2
    c = Client()
    assert [c.post("/contact/", contact_data()).status_code for _ in range(3)] == [302, 302, 429]


# --- everything else that needs the address ------------------------------------------------------
def test_forms_api_context_carries_the_client_address(settings, contact_on, fake_hubspot):
    settings.TRUSTED_PROXY_COUNT = 1
    post_contact(Client(), "6.6.6.6, 203.0.113.9")
    assert fake_hubspot.form_submissions[0]["body"]["context"]["ipAddress"] == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 0
    post_contact(Client(), "203.0.113.9")
    assert fake_hubspot.form_submissions[1]["body"]["context"]["ipAddress"] == PROXY


def test_webhook_refusals_log_the_client_address(settings, hubspot_settings, caplog):
    settings.TRUSTED_PROXY_COUNT = 1
    with caplog.at_level(logging.WARNING, logger="hubspot_integration.webhooks"):
        response = Client().post(
            "/hubspot/webhooks/",
            b"[]",
            content_type="application/json",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
        )
    assert response.status_code in (401, 503)
    assert "from 203.0.113.9:" in caplog.text and PROXY not in caplog.text


def test_axes_uses_the_same_address(settings):
    from axes.helpers import get_client_ip_address

    settings.TRUSTED_PROXY_COUNT = 1
    for forwarded in ("203.0.113.9", "6.6.6.6, 203.0.113.9", "garbage"):
        r = request(forwarded)
        assert get_client_ip_address(r) == client_address(r)
    assert get_client_ip_address(request("6.6.6.6, 203.0.113.9")) == "203.0.113.9"


@pytest.mark.django_db
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, TRUSTED_PROXY_COUNT=1)
def test_axes_lockout_behind_a_proxy_is_per_client(hubspot_staff):
    from axes.models import AccessAttempt

    def login(visitor, password="wrong"):
        return Client().post(
            "/admin/login/",
            {"username": "sam", "password": password},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=visitor,
        )

    assert [login("6.6.6.6, 203.0.113.9").status_code for _ in range(3)] == [200, 200, 429]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
    # The same account from another client behind the same proxy is not locked out.
    assert login("198.51.100.7", password=PASSWORD).status_code == 302
