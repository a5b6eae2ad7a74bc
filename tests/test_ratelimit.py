"""The deployment-wide rate limiter, kept in the cache."""

import pytest

from hubspot_integration import errors
from hubspot_integration.ratelimit import RateLimiter


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def make(clock, calls=100):
    return RateLimiter(scope="t", calls_per_10s=calls, clock=clock, sleep=clock.sleep)


def test_stays_under_the_window_with_a_margin():
    clock = Clock()
    limiter = make(clock)
    for _ in range(90):
        limiter.acquire(max_wait=0)
    with pytest.raises(errors.RateLimited) as err:
        limiter.acquire(max_wait=0)
    assert err.value.transient and err.value.retry_after > 0


def test_rolling_window_never_exceeds_the_limit_in_any_10_seconds():
    clock = Clock()
    limiter = make(clock, calls=100)
    stamps = []
    for _ in range(400):
        limiter.acquire(max_wait=60)
        stamps.append(clock.now)
    for i, start in enumerate(stamps):
        in_window = sum(1 for t in stamps[i:] if t < start + 10)
        assert in_window <= 100


def test_two_limiters_share_the_count_through_the_cache():
    clock = Clock()
    a, b = make(clock), make(clock)
    for _ in range(45):
        a.acquire(max_wait=0)
        b.acquire(max_wait=0)
    with pytest.raises(errors.RateLimited):
        a.acquire(max_wait=0)


def test_a_429_makes_every_process_wait():
    clock = Clock()
    a, b = make(clock), make(clock)
    a.block_for(3)
    with pytest.raises(errors.RateLimited):
        b.acquire(max_wait=1)
    b.acquire(max_wait=5)  # waits the block out
    assert clock.now >= 1_000_003


def test_search_is_held_to_five_per_second():
    clock = Clock()
    limiter = make(clock)
    for _ in range(4):
        limiter.acquire(search=True, max_wait=0)
    with pytest.raises(errors.RateLimited):
        limiter.acquire(search=True, max_wait=0)
    limiter.acquire(search=False, max_wait=0)  # other calls are not held back


@pytest.mark.django_db
def test_the_client_keeps_a_burst_under_the_fakes_window(hubspot_settings, fake_hubspot, settings):
    """Through the real SDK: 100 calls against a fake that allows 100 per 10 s: no 429."""
    fake_hubspot.rate_limit(max_per_window=20, window_seconds=2)
    from hubspot_integration.client import HubSpotClient

    client = HubSpotClient(
        hubspot_settings.access_token, portal_id="burst", calls_per_10s=100, max_wait=10
    )
    client.limiter.limit = 18  # scale the 10-second window down to the fake's 2 s for speed
    from hubspot_integration import ratelimit

    original = ratelimit.WINDOW_SECONDS
    ratelimit.WINDOW_SECONDS = 2.0
    try:
        for _ in range(40):
            client.list_objects("contacts", limit=1)
    finally:
        ratelimit.WINDOW_SECONDS = original
    statuses = [r.status for r in fake_hubspot.requests]
    assert 429 not in statuses and len(statuses) == 40


def test_a_search_waiting_for_its_own_budget_keeps_the_window_s_calls(settings):
    """A search that waits for the search budget must not spend one of the account's window
    calls on every retry: before, a long export used up the 10-second window and was refused."""
    from hubspot_integration.ratelimit import RateLimiter

    clock = [1000.0]
    limiter = RateLimiter(
        scope="search-leak",
        calls_per_10s=100,
        clock=lambda: clock[0],
        sleep=lambda s: clock.__setitem__(0, clock[0] + s),
    )
    for _ in range(40):  # ten seconds of searches at the search budget (4 a second)
        limiter.acquire(search=True, max_wait=5)
    assert limiter.usage() <= 40  # one window call per search, none for the waiting
