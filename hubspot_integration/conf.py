"""The app's settings object: each HubSpot setting the app reads, with its default and why.

Read `app_settings.NAME`; each attribute looks up `HUBSPOT_<NAME>` in Django's settings on every
access, so `override_settings` in tests and a changed environment both take effect without a
restart of this module (django-allauth's `AppSettings`, DRF's `api_settings`).
"""

from __future__ import annotations

from django.conf import settings


class AppSettings:
    prefix = "HUBSPOT_"
    # Integer limits a deployment may also set from the environment by name (HUBSPOT_<NAME>=...,
    # read in skypanel/settings.py); each has its property below, with what it means.
    INTEGER_DEFAULTS = {
        "THROTTLE_LIMIT": 5,
        "THROTTLE_WINDOW_SECONDS": 10 * 60,
        "IMPORT_MAX_UPLOAD_BYTES": 20 * 1024 * 1024,
        "IMPORT_MAX_LINE_BYTES": 64 * 1024,
        "API_MAX_JSON_DEPTH": 32,
    }

    def _get(self, name: str, default):
        return getattr(settings, self.prefix + name, default)

    def _int(self, name: str) -> int:
        return int(self._get(name, self.INTEGER_DEFAULTS[name]))

    @property
    def THROTTLE_LIMIT(self) -> int:
        """Public form submissions (support request, contact message, sign-up) allowed per window:
        per logged-in account, or per client address for anonymous visitors."""
        return self._int("THROTTLE_LIMIT")

    @property
    def THROTTLE_WINDOW_SECONDS(self) -> int:
        """The window `THROTTLE_LIMIT` counts in."""
        return self._int("THROTTLE_WINDOW_SECONDS")

    @property
    def IMPORT_MAX_UPLOAD_BYTES(self) -> int:
        """The biggest contacts CSV the admin accepts (match the proxy's body limit to it)."""
        return self._int("IMPORT_MAX_UPLOAD_BYTES")

    @property
    def IMPORT_MAX_LINE_BYTES(self) -> int:
        """The longest line any import reads before deciding the file is not a contacts CSV."""
        return self._int("IMPORT_MAX_LINE_BYTES")

    @property
    def API_MAX_JSON_DEPTH(self) -> int:
        """How deeply lists and objects may nest in an API request body (the API's own bodies
        nest two or three levels; far deeper is an attack on the parser)."""
        return self._int("API_MAX_JSON_DEPTH")

    @property
    def API_BASE_URL(self) -> str:
        """Where HubSpot's REST API lives; the fake HubSpot stands in for it in tests."""
        return str(self._get("API_BASE_URL", "https://api.hubapi.com")).rstrip("/")

    @property
    def FORMS_BASE_URL(self) -> str:
        """The Forms API host (form submissions are not on api.hubapi.com)."""
        return str(self._get("FORMS_BASE_URL", "https://api.hsforms.com")).rstrip("/")

    @property
    def API_VERSION(self) -> str:
        """HubSpot's date-based API version every call uses (a new one each March and
        September, each supported 18 months). One setting moves the whole panel."""
        return str(self._get("API_VERSION", "2026-09"))

    @property
    def TIMEOUT(self) -> tuple[float, float]:
        """(connect, read) seconds for every HubSpot call: a slow HubSpot must not hold a worker."""
        connect, read = self._get("TIMEOUT", (3.05, 10.0))
        return (float(connect), float(read))

    @property
    def OAUTH_AUTHORIZE_URL(self) -> str:
        """HubSpot's consent page for "Connect with HubSpot"; the fake serves one in tests."""
        return str(self._get("OAUTH_AUTHORIZE_URL", "https://app.hubspot.com/oauth/authorize"))

    @property
    def OAUTH_REFRESH_MARGIN_SECONDS(self) -> int:
        """Refresh an OAuth access token this long before it expires (HubSpot's last 30
        minutes), but never earlier than half-way through its life: HubSpot's access tokens
        live 30 minutes, so those are refreshed after 15."""
        return int(self._get("OAUTH_REFRESH_MARGIN_SECONDS", 30 * 60))

    @property
    def OAUTH_REFRESH_LOCK_SECONDS(self) -> int:
        """How long one process may hold the deployment-wide refresh lock; a process that died
        holding it only delays the others this long."""
        return int(self._get("OAUTH_REFRESH_LOCK_SECONDS", 30))

    @property
    def OAUTH_STATE_SECONDS(self) -> int:
        """How long a "Connect with HubSpot" round trip may take before its state expires."""
        return int(self._get("OAUTH_STATE_SECONDS", 10 * 60))

    @property
    def DASHBOARD_KEEP_SECONDS(self) -> int:
        """How long the last figures HubSpot gave for each dashboard card are kept beyond their
        cache time: when HubSpot cannot be asked (down, a refresh that fails, an answer that is
        not JSON) the card shows them with their age and the error instead of nothing."""
        return int(self._get("DASHBOARD_KEEP_SECONDS", 7 * 24 * 3600))

    @property
    def WEBHOOK_GRACE_SECONDS(self) -> int:
        """A recorded webhook event still unapplied after this long is applied by the sweep: its
        task was lost (the queue was down) or its worker died. Shorter than the time a customer
        would notice a stale ticket status, longer than a busy queue's normal delay."""
        return int(self._get("WEBHOOK_GRACE_SECONDS", 60))

    @property
    def IMPORT_LEASE_SECONDS(self) -> int:
        """A CSV import whose reader has shown no sign of life for this long (queued and never
        started, or running with no new batch) is read on by the sweep from where it stopped.
        A live reader checks in at every batch, which takes well under a minute."""
        return int(self._get("IMPORT_LEASE_SECONDS", 5 * 60))

    @property
    def TASK_LEASE_SECONDS(self) -> int:
        """A task result the database backend still calls "running" after this long belongs to
        a worker that died (its work is found again from the rows): the sweep marks it failed.
        An import's task counts as alive while its import checks in."""
        return int(self._get("TASK_LEASE_SECONDS", 30 * 60))


app_settings = AppSettings()
