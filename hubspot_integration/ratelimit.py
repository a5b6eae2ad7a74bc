"""One rate limiter for the whole deployment, kept in the cache backend.

With Redis as the cache every process on every machine counts against the same numbers. The window
is HubSpot's rolling 10 seconds, bounded from above by ten one-second buckets, plus the search API's own 5 requests per second. A margin below the account limit
leaves room for clock skew between machines and for calls HubSpot counts that we do not.

Page renders' share (`CHAT_IDENTIFICATION_SHARE`, 30% by default). A customer's page render mints
a chat identification token; a burst of logins could otherwise spend the whole window on tokens
and starve staff pages, imports and the outbox. So a render's call (`render=True`):
- spends from its own counter, at most the share of the window (the window's counter counts it
  too, so the account's limit holds for everything together);
- never waits: with the share spent, the window full or a 429 being waited out, it is refused at
  once (policy LOCAL) and counted as deferred; the page renders the anonymous widget and a later
  page, when the share has room again, identifies the customer.
Staff and background calls take the window as before, less the part of the share that customers
are asking for: what renders asked for in the last window (bounded by the share) and have not
spent yet. So while customers log in, the share is theirs and the other 70% is the rest's; once
no customer has asked for a window, background work may use the whole window again (an import
alone runs at full speed). Slots the rest took before the customers came leave within one window.
A share of 1 switches this off: renders then take the window like any call, waiting up to
CHAT_RENDER_MAX_WAIT, and nothing is held back from the rest (the behaviour before the share).
"""

from __future__ import annotations

import time

from django.core.cache import cache

from . import errors, metrics
from .conf import app_settings

# HubSpot's, not ours: the length of its rolling rate-limit window and the search endpoints'
# own per-second limit. Our tunables (the margin, the tier recheck) are in conf.py.
WINDOW_SECONDS = 10.0
SEARCH_PER_SECOND = 5
# How finely the window is counted: a layout of the counter, not a limit.
SLOTS = 10


class RateLimiter:
    """`calls_per_10s` is where the limiter starts; HubSpot's own `X-HubSpot-RateLimit-Max`
    header, seen by any process (`learn`), replaces it for the whole deployment, so an account on
    the 190 or 250 tier is used to its limit without an admin choosing it."""

    def __init__(self, *, scope: str, calls_per_10s: int = 100, clock=time.time, sleep=time.sleep):
        self.scope = scope
        self.configured = calls_per_10s
        self.search_limit = max(1, SEARCH_PER_SECOND - 1)
        self._clock = clock
        self._sleep = sleep
        self._tier: tuple[int, float] | None = None  # (max calls, window seconds) from HubSpot
        self._tier_checked = float("-inf")
        self._limit_override: int | None = None

    # --- the account's tier ---------------------------------------------------------------------
    @property
    def _tier_key(self) -> str:
        return f"hubspot:rl:{self.scope}:tier"

    def learn(self, max_calls: int, interval_ms: int | None = None) -> None:
        """Record the limit HubSpot reported; shared through the cache with every process."""
        if max_calls <= 0:
            return
        window = (interval_ms / 1000.0) if interval_ms else WINDOW_SECONDS
        tier = (int(max_calls), float(window))
        if tier != self._tier:
            self._tier = tier
            cache.set(self._tier_key, tier, timeout=24 * 3600)
        self._tier_checked = self._clock()

    def tier(self) -> tuple[int, float]:
        """(calls, window seconds) in force: HubSpot's word when known, else the configured."""
        now = self._clock()
        if now - self._tier_checked >= app_settings.RATE_LIMIT_TIER_RECHECK_SECONDS:
            found = cache.get(self._tier_key)
            if found:
                self._tier = (int(found[0]), float(found[1]))
            self._tier_checked = now
        return self._tier or (self.configured, WINDOW_SECONDS)

    @property
    def limit(self) -> int:
        """Calls this deployment takes per window: the tier less the safety margin."""
        if self._limit_override is not None:
            return self._limit_override
        return max(1, int(self.tier()[0] * app_settings.RATE_LIMIT_MARGIN))

    @limit.setter
    def limit(self, value: int) -> None:
        self._limit_override = int(value)

    @property
    def window(self) -> float:
        return self.tier()[1]

    # --- public ---------------------------------------------------------------------------------
    def acquire(self, *, search: bool = False, max_wait: float = 2.0, render: bool = False) -> None:
        """Take one call from the window, waiting up to `max_wait` seconds for room.

        Raises RateLimited (transient) when no room comes in time: a write then stays queued.
        `render`: a page render's identification call, which spends from the renders' share and
        never waits (see the module's docstring).
        """
        if render and app_settings.CHAT_IDENTIFICATION_SHARE < 1:
            return self._acquire_for_render()
        started = self._clock()
        deadline = started + max_wait
        while True:
            wait = self._blocked_for()
            if wait <= 0:
                window = self.window
                limit = max(1, self.limit - self._held_for_renders(window))
                wait, taken = self._try_take(self._window_key(window), limit, window)
                if wait <= 0 and search:
                    wait, _ = self._try_take(
                        f"hubspot:rl:{self.scope}:search", self.search_limit, 1.0
                    )
                    if wait > 0:
                        # No search slot yet: hand the window's slot back, or every retry of
                        # a waiting search would use up one more of the account's calls.
                        self._give_back(taken)
            if wait <= 0:
                metrics.limiter_waited(self._clock() - started, acquired=True)
                return
            if self._clock() + wait > deadline:
                metrics.limiter_waited(self._clock() - started, acquired=False)
                raise errors.RateLimited(
                    "The panel is holding calls back to stay under HubSpot's rate limit; "
                    "try again in a few seconds.",
                    retry_after=wait,
                    policy="LOCAL",
                )
            self._sleep(min(wait, 0.5))

    # --- page renders' share ---------------------------------------------------------------------
    @property
    def render_share(self) -> int:
        """Calls per window page renders may spend on identification (at least one)."""
        return max(1, int(self.limit * app_settings.CHAT_IDENTIFICATION_SHARE))

    def _render_key(self, window: float, what: str) -> str:
        return f"{self._window_key(window)}:render:{what}"

    def _acquire_for_render(self) -> None:
        window = self.window
        # Counted before anything can refuse it: the deferred ones are demand too, and what
        # customers asked for is what the rest must leave them (`_held_for_renders`).
        self._count(self._render_key(window, "asked"), window)
        blocked = self._blocked_for()
        if blocked > 0:
            self._defer("blocked", blocked)
        wait, taken = self._try_take(self._render_key(window, "spent"), self.render_share, window)
        if wait > 0:
            self._defer("share", wait)
        wait, _ = self._try_take(self._window_key(window), self.limit, window)
        if wait > 0:
            # The window is full of calls the rest took before customers came: the share's slot
            # is handed back, as nothing was sent.
            self._give_back(taken)
            self._defer("window", wait)
        metrics.limiter_waited(0.0, acquired=True)

    def _defer(self, reason: str, wait: float):
        metrics.limiter_waited(0.0, acquired=False)
        metrics.identification_deferred(reason)
        raise errors.RateLimited(
            f"A page render's chat identification is put off ({reason}: no room in the renders' "
            "share of HubSpot's rate window); a later page identifies the customer.",
            retry_after=wait,
            policy="LOCAL",
        )

    def _held_for_renders(self, window: float) -> int:
        """The part of the renders' share the rest must leave free: what customers asked for in
        the last window, at most the share, less what renders already spent of it."""
        if app_settings.CHAT_IDENTIFICATION_SHARE >= 1:
            return 0
        asked = self._rolling(self._render_key(window, "asked"), window)
        if not asked:
            return 0  # the usual case, no customer logging in: one read, nothing held
        spent = self._rolling(self._render_key(window, "spent"), window)
        return max(0, min(self.render_share, asked) - spent)

    def render_usage(self) -> tuple[int, int]:
        """(asked, spent) by page renders in the current rolling window (bench, health)."""
        window = self.window
        return (
            self._rolling(self._render_key(window, "asked"), window),
            self._rolling(self._render_key(window, "spent"), window),
        )

    def block_for(self, seconds: float) -> None:
        """After a 429, make every process wait out HubSpot's window."""
        until = self._clock() + seconds
        cache.set(f"hubspot:rl:{self.scope}:blocked", until, timeout=int(seconds) + 1)

    def _window_key(self, window: float) -> str:
        # The bucket width follows the window, so buckets of another window never mix in.
        base = f"hubspot:rl:{self.scope}"
        return base if window == WINDOW_SECONDS else f"{base}:w{window:g}"

    def usage(self) -> int:
        """Calls counted in the current rolling window (for the bench and the health page)."""
        window = self.window
        return self._rolling(self._window_key(window), window)

    def _rolling(self, key: str, window: float) -> int:
        bucket = int(self._clock() // (window / SLOTS))
        counts = cache.get_many([f"{key}:{bucket - i}" for i in range(SLOTS + 1)])
        return int(sum(counts.values()))

    # --- internals ------------------------------------------------------------------------------
    def _blocked_for(self) -> float:
        until = cache.get(f"hubspot:rl:{self.scope}:blocked")
        return (until - self._clock()) if until else 0.0

    def _try_take(self, key: str, limit: int, window: float) -> tuple[float, str]:
        """(0, the bucket the call was counted in), or (seconds to wait, "") with nothing taken."""
        # The window is cut into SLOTS buckets; any rolling window lies inside the current bucket
        # and the SLOTS before it, so their sum bounds the true rolling count from above: the
        # account's limit can never be crossed, at the cost of at most one bucket of headroom.
        # Increment first, then check: with Redis `incr` is atomic, so two processes can never
        # both take the last slot. Over the limit, give the slot back and report how long to wait.
        width = window / SLOTS
        now = self._clock()
        bucket = int(now // width)
        bucket_key = f"{key}:{bucket}"
        current = self._incr(bucket_key, window)
        older = cache.get_many([f"{key}:{bucket - i}" for i in range(1, SLOTS + 1)])
        if current + sum(older.values()) <= limit:
            return 0.0, bucket_key
        self._give_back(bucket_key)
        # Room appears when the oldest bucket leaves the window: at the next bucket boundary.
        return max((bucket + 1) * width - now, 0.01), ""

    def _count(self, key: str, window: float) -> None:
        """One more in the current bucket of `key`, without a limit."""
        self._incr(f"{key}:{int(self._clock() // (window / SLOTS))}", window)

    @staticmethod
    def _incr(bucket_key: str, window: float) -> int:
        ttl = int(window * 2) + 1
        cache.add(bucket_key, 0, timeout=ttl)
        try:
            return cache.incr(bucket_key)
        except ValueError:  # expired between add and incr
            cache.set(bucket_key, 1, timeout=ttl)
            return 1

    @staticmethod
    def _give_back(bucket_key: str) -> None:
        try:
            cache.decr(bucket_key)
        except ValueError:
            pass  # the bucket expired meanwhile: nothing left to give back
