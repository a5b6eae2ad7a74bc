"""Page renders' share of HubSpot's rate window for chat identification tokens (issue 15, item 3).

Through the real SDK against the fake HubSpot, whose own 10-second window is set to 10 calls: the
panel takes 9 of them (its margin), page renders at most 2 (30%, rounded down).
"""

import time

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from prometheus_client import REGISTRY

from hubspot_integration import errors
from hubspot_integration.conf import app_settings
from hubspot_integration.credentials import get_client
from hubspot_integration.ratelimit import RateLimiter
from hubspot_integration.services.email_verification import mark_verified
from tests.helpers import client_for, make_user
from tests.test_chat_widget import TOKEN_PATH, _page_token
from tests.test_ratelimit import Clock

TIER = 10  # the fake's window: 10 calls / 10 s; the panel takes 9, renders 2 of those


@pytest.fixture
def chat(hubspot_settings, fake_hubspot):
    hubspot_settings.chat_enabled = True
    hubspot_settings.rate_limit_per_10s = TIER
    hubspot_settings.save()
    fake_hubspot.rate_limit(TIER, 10.0)
    return hubspot_settings


@pytest.fixture
def customers(db, django_user_model):
    found = []
    for i in range(4):
        user = make_user(django_user_model, f"burst{i}")
        mark_verified(user)
        found.append(user)
    return found


@pytest.fixture
def clock(chat):
    """The clock of the limiter every process shares (its counts are in the cache); moved by
    hand so "after the window" needs no sleeping."""
    clock = Clock(time.time())
    for max_wait in (app_settings.CHAT_RENDER_MAX_WAIT, 0.0, 2.0):
        get_client(max_wait=max_wait).limiter._clock = clock
    return clock


def deferred(reason="share") -> float:
    return (
        REGISTRY.get_sample_value(
            "skypanel_hubspot_identification_deferred_total", {"reason": reason}
        )
        or 0.0
    )


def first_pages(customers):
    """Each customer's first page: (its token or None, its status)."""
    pages = []
    for user in customers:
        response = client_for(user).get("/")
        pages.append((_page_token(response), response.status_code))
    return pages


def test_past_the_share_a_page_is_anonymous_and_hubspot_is_not_asked(
    chat, fake_hubspot, customers, clock
):
    before = deferred()
    pages = first_pages(customers[:2])
    assert all(token and status == 200 for token, status in pages)
    calls = fake_hubspot.count()

    response = client_for(customers[2]).get("/")
    assert response.status_code == 200
    assert _page_token(response) is None  # the anonymous widget, at once
    assert "hs-script-loader" in response.content.decode()
    assert fake_hubspot.count() == calls  # no HubSpot call at all for that page
    assert deferred() == before + 1
    assert not [r for r in fake_hubspot.requests if r.status == 429]


def test_the_next_page_after_the_window_identifies_the_customer(
    chat, fake_hubspot, customers, clock
):
    first_pages(customers[:2])
    late = client_for(customers[2])
    assert _page_token(late.get("/")) is None
    assert _page_token(late.get("/")) is None  # still within the window: still anonymous
    assert fake_hubspot.count("POST", TOKEN_PATH) == 2

    clock.now += 11  # the renders' calls have left the window (its buckets: 10 s, plus one)
    token = _page_token(late.get("/"))
    assert token and token == fake_hubspot.identification_tokens[-1]["token"]
    assert fake_hubspot.identification_tokens[-1]["email"] == customers[2].email
    assert fake_hubspot.count("POST", TOKEN_PATH) == 3


def test_background_work_still_calls_hubspot_with_the_share_spent(
    chat, fake_hubspot, customers, clock
):
    first_pages(customers)  # 2 identified, 2 deferred: the share is spent
    background = get_client(max_wait=0.0)
    # The rest of the panel's window (9 - 2) is still there for staff and background work.
    for _ in range(7):
        assert background.account_details().status == 200
    with pytest.raises(errors.RateLimited) as err:
        background.account_details()
    assert err.value.policy == "LOCAL"  # the panel's own limiter; HubSpot was not asked
    assert not [r for r in fake_hubspot.requests if r.status == 429]


def test_with_the_budget_off_renders_take_the_whole_window(
    chat, fake_hubspot, customers, clock, settings
):
    settings.HUBSPOT_CHAT_IDENTIFICATION_SHARE = 1
    pages = first_pages(customers)
    assert all(token for token, _ in pages)  # today's behaviour: every customer identified
    assert fake_hubspot.count("POST", TOKEN_PATH) == 4


def test_the_rest_leaves_the_share_free_while_customers_ask_for_it():
    """The limiter alone (the cache is what every process shares): without customers an import
    may use the whole window; while customers ask, their share is theirs."""
    clock = Clock(1_000_000.0)
    background = RateLimiter(scope="t-share", calls_per_10s=100, clock=clock, sleep=clock.sleep)
    renders = RateLimiter(scope="t-share", calls_per_10s=100, clock=clock, sleep=clock.sleep)
    assert background.limit == 90 and renders.render_share == 27

    for _ in range(90):  # nobody logging in: the window is the import's
        background.acquire(max_wait=0)
    clock.now += 5
    for _ in range(30):  # a burst finds the window full: deferred, but asked for
        with pytest.raises(errors.RateLimited):
            renders.acquire(render=True)
    clock.now += 6  # the import's calls have left the window, the customers' asking has not
    taken = 0
    with pytest.raises(errors.RateLimited):
        while True:
            background.acquire(max_wait=0)
            taken += 1
    assert taken == 90 - 27  # the share is held for the customers
    for _ in range(27):
        renders.acquire(render=True)
    with pytest.raises(errors.RateLimited):
        renders.acquire(render=True)  # and never more than the share
    assert renders.render_usage() == (30 + 28, 27)


def test_the_share_defaults_to_thirty_percent(settings):
    if hasattr(settings, "HUBSPOT_CHAT_IDENTIFICATION_SHARE"):
        del settings.HUBSPOT_CHAT_IDENTIFICATION_SHARE
    assert app_settings.CHAT_IDENTIFICATION_SHARE == 0.3
    assert RateLimiter(scope="t-default", calls_per_10s=100).render_share == 27  # 30% of 90


@pytest.mark.parametrize("value", [0, -0.1, 1.5, 30, "30%", "", None])
def test_the_share_is_validated(settings, value):
    settings.HUBSPOT_CHAT_IDENTIFICATION_SHARE = value
    with pytest.raises(ImproperlyConfigured, match="HUBSPOT_CHAT_IDENTIFICATION_SHARE"):
        _ = app_settings.CHAT_IDENTIFICATION_SHARE
    found = [m for m in run_checks() if m.id == "hubspot.E013"]
    assert len(found) == 1 and "HUBSPOT_CHAT_IDENTIFICATION_SHARE" in found[0].msg


def test_a_valid_share_passes_the_check(settings):
    settings.HUBSPOT_CHAT_IDENTIFICATION_SHARE = "0.5"
    assert app_settings.CHAT_IDENTIFICATION_SHARE == 0.5
    assert not [m for m in run_checks() if m.id == "hubspot.E013"]
