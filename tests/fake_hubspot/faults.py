"""Fault injection and HubSpot's rate limits.

Faults model what the network and HubSpot do to a client: errors, outages, 429 bursts, slow
answers and connections that die after the write happened (so the client never learns it
succeeded). Random faults draw from their own seeded generator, one draw per request, so a test
that sends the same requests sees the same failures every run.

The rate limiters keep a real rolling window. They always count, so the X-HubSpot-RateLimit-*
headers are truthful, but they only refuse requests once a test configures them.
"""

from __future__ import annotations

import collections
import random
import threading
import time
import uuid
from dataclasses import dataclass

from .common import error_body

_MESSAGES = {
    400: ("Bad request", "VALIDATION_ERROR"),
    401: ("Authentication credentials not found.", "INVALID_AUTHENTICATION"),
    403: ("This app hasn't been granted all required scopes to make this call.", "MISSING_SCOPES"),
    404: ("Resource not found", "OBJECT_NOT_FOUND"),
    409: ("Conflict", "CONFLICT"),
    500: ("internal error", "INTERNAL_ERROR"),
    502: ("bad gateway", "INTERNAL_ERROR"),
    503: ("service unavailable", "INTERNAL_ERROR"),
    504: ("gateway timeout", "INTERNAL_ERROR"),
}

_POLICY_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "SECONDLY": "You have reached your secondly limit.",
    "DAILY": "You have reached your daily limit.",
}


def rate_limit_body(policy, group="publicapi:private-app"):
    # HubSpot's 429 carries the Error model's required keys (category is RATE_LIMITS) beside
    # the rate-limit ones (errorType, policyName, groupName) that the SDK's models do not name.
    return {
        "status": "error",
        "message": _POLICY_MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "category": "RATE_LIMITS",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "groupName": group,
    }


def body_for_status(status):
    """The JSON HubSpot sends with an error status; 429 gets the rate-limit shape."""
    if status == 429:
        return rate_limit_body("TEN_SECONDLY_ROLLING")
    message, category = _MESSAGES.get(status, ("internal error", "INTERNAL_ERROR"))
    return error_body(message, category)


class RawText(str):
    """A body sent as it is, as text/html: not JSON, not HubSpot."""


@dataclass
class Decision:
    """What the faults want done with one request."""

    delay: float = 0.0
    status: int | None = None  # answer this instead of handling the request
    headers: dict | None = None
    body: dict | None = None
    drop: str | None = None  # "before" (nothing applied) or "after" (applied, answer lost)


class _Counted:
    """A rule that applies to the next n requests under a path prefix."""

    def __init__(self, n, path_prefix, **values):
        self.left = n
        self.path_prefix = path_prefix
        self.values = values

    def take(self, path):
        if self.left <= 0 or (self.path_prefix and not path.startswith(self.path_prefix)):
            return False
        self.left -= 1
        return True


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        with self._lock:
            self._fail_next = []
            self._drop_next = []
            self._fail_rate = None  # (p, status, Random)
            self._drop_rate = None  # (p, after_store, Random)
            self._latency = {}  # path prefix ("" for all) -> seconds
            self._down = False
            self._burst = None  # _Counted with retry_after

    def fail_next(self, n, status=503, path_prefix=None, body=None):
        """The next n requests answer `status`; `body` (a str) replaces HubSpot's JSON error, as a
        captive portal or a proxy's HTML error page would."""
        with self._lock:
            self._fail_next.append(_Counted(n, path_prefix, status=status, body=body))

    def fail_rate(self, p, status=500, seed=0):
        with self._lock:
            self._fail_rate = (p, status, random.Random(seed)) if p > 0 else None

    def drop_rate(self, p, after_store=True, seed=0):
        with self._lock:
            self._drop_rate = (p, after_store, random.Random(seed)) if p > 0 else None

    def drop_next(self, n, after_store=True, path_prefix=None):
        with self._lock:
            self._drop_next.append(_Counted(n, path_prefix, after_store=after_store))

    def latency(self, seconds, path_prefix=None):
        with self._lock:
            if seconds > 0:
                self._latency[path_prefix or ""] = seconds
            else:
                self._latency.pop(path_prefix or "", None)

    def down(self):
        with self._lock:
            self._down = True

    def up(self):
        with self._lock:
            self._down = False

    def burst_429(self, n, retry_after=None):
        with self._lock:
            self._burst = _Counted(n, None, retry_after=retry_after)

    def decide(self, path):
        """One decision per request; the order is outage, 429 burst, fail, drop."""
        with self._lock:
            decision = Decision(
                delay=max(
                    (s for prefix, s in self._latency.items() if path.startswith(prefix)),
                    default=0.0,
                )
            )
            if self._down:
                return self._fail(decision, 503)
            if self._burst and self._burst.take(path):
                retry_after = self._burst.values["retry_after"]
                headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
                return self._fail(decision, 429, headers)
            for rule in self._fail_next:
                if rule.take(path):
                    self._fail(decision, rule.values["status"])
                    if rule.values.get("body") is not None:
                        decision.body = RawText(rule.values["body"])
                    return decision
            if self._fail_rate:
                p, status, rng = self._fail_rate
                if rng.random() < p:
                    return self._fail(decision, status)
            for rule in self._drop_next:
                if rule.take(path):
                    decision.drop = "after" if rule.values["after_store"] else "before"
                    return decision
            if self._drop_rate:
                p, after_store, rng = self._drop_rate
                if rng.random() < p:
                    decision.drop = "after" if after_store else "before"
            return decision

    @staticmethod
    def _fail(decision, status, headers=None):
        decision.status = status
        decision.body = body_for_status(status)
        decision.headers = headers or {}
        return decision


class RateLimiter:
    """A rolling window (and a daily count) of requests, HubSpot's private-app limits."""

    def __init__(self, policy, max_per_window, window_seconds, daily=None):
        self._lock = threading.Lock()
        self.policy = policy
        self.configure(max_per_window, window_seconds, daily, None, enforce=False)

    def configure(self, max_per_window, window_seconds, daily=None, retry_after=None, enforce=True):
        with self._lock:
            self.max = int(max_per_window)
            self.window = float(window_seconds)
            self.daily = daily
            self.retry_after = retry_after
            self.enforce = enforce
            self._hits = collections.deque()
            self._day = 0

    def hit(self):
        """Counts one request; answers (refusing policy or None, headers for the answer)."""
        with self._lock:
            now = time.monotonic()
            while self._hits and self._hits[0] <= now - self.window:
                self._hits.popleft()
            refused = None
            if self.enforce and self.daily is not None and self._day >= self.daily:
                refused = "DAILY"
            elif self.enforce and len(self._hits) >= self.max:
                refused = self.policy
            else:
                # Refused requests do not use up the window, so a client that backs off recovers.
                self._hits.append(now)
                self._day += 1
            headers = self._headers()
            if refused and self.retry_after is not None:
                headers["Retry-After"] = str(self.retry_after)
            return refused, headers

    def daily_usage(self):
        """(requests counted today, the daily limit), as the api-usage endpoint reports them."""
        with self._lock:
            return self._day, self._daily_limit()

    def headers(self):
        with self._lock:
            now = time.monotonic()
            while self._hits and self._hits[0] <= now - self.window:
                self._hits.popleft()
            return self._headers()

    def _daily_limit(self):
        return self.daily if self.daily is not None else 250_000

    def _headers(self):
        daily = self._daily_limit()
        return {
            "X-HubSpot-RateLimit-Max": str(self.max),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.max - len(self._hits))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window * 1000)),
            "X-HubSpot-RateLimit-Daily": str(daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily - self._day)),
        }
