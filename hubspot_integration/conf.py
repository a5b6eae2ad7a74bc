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
        "CONNECTION_CHECK_INTERVAL": 15 * 60,
    }

    def _get(self, name: str, default):
        return getattr(settings, self.prefix + name, default)

    # Names here are settings names, part of the contract: a setting that predates the prefix
    # keeps its name.
    UNPREFIXED = {"EMAIL_VERIFICATION_MAX_AGE"}

    def setting_name(self, name: str) -> str:
        """The Django setting (and environment variable) a property reads."""
        return name if name in self.UNPREFIXED else self.prefix + name

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

    @property
    def RETENTION_BATCH_SIZE(self) -> int:
        """Rows the retention purge deletes in one statement (by a list of primary keys, one
        short transaction each), so no delete holds a lock on a busy table for long."""
        return int(self._get("RETENTION_BATCH_SIZE", 500))

    @property
    def RETENTION_MAX_PER_PASS(self) -> int:
        """Rows of each kind the retention purge looks at in one sweep pass: a large backlog
        (retention first switched on, or shortened) is worked off over several passes instead
        of holding up the sweep's other work."""
        return int(self._get("RETENTION_MAX_PER_PASS", 5000))

    @property
    def ENCRYPTION_KEYS(self) -> list[str]:
        """Fernet keys for the secrets stored in the database, newest first: the first encrypts,
        every one decrypts, so a rotation keeps the old keys after the new one until
        `hubspot_rotate_key` has re-encrypted everything. No default: a key is the deployment's."""
        return list(self._get("ENCRYPTION_KEYS", None) or [])

    @property
    def CSP_EXTRA(self) -> dict[str, list[str]]:
        """Hosts to add to Content-Security-Policy directives wherever the HubSpot hosts are
        added (a consent manager's or CDN's script), `{"script-src": ["cdn.example.com"]}`;
        none by default because the HubSpot widget needs none."""
        return dict(self._get("CSP_EXTRA", None) or {})

    @property
    def RATE_LIMIT_MARGIN(self) -> float:
        """The share of the account's 10-second limit the limiter lets the panel use: the rest is
        left for other integrations on the same account and for clock skew between processes."""
        return float(self._get("RATE_LIMIT_MARGIN", 0.9))

    @property
    def RATE_LIMIT_TIER_RECHECK_SECONDS(self) -> float:
        """How often a process looks in the cache for a rate-limit tier another process learned
        from HubSpot's headers: often enough to follow an upgrade, rarely enough to cost nothing."""
        return float(self._get("RATE_LIMIT_TIER_RECHECK_SECONDS", 5.0))

    @property
    def OUTBOX_LEASE_SECONDS(self) -> int:
        """How long a worker holds an outbox row it is sending; a worker that died only delays
        the row this long. Far longer than one HubSpot call with its timeout."""
        return int(self._get("OUTBOX_LEASE_SECONDS", 60))

    @property
    def OUTBOX_MAX_ATTEMPTS(self) -> int:
        """Attempts before a write that keeps failing transiently is marked failed for an admin:
        with the backoff below, about three quarters of an hour of HubSpot being down."""
        return int(self._get("OUTBOX_MAX_ATTEMPTS", 12))

    @property
    def OUTBOX_BACKOFF_BASE_SECONDS(self) -> float:
        """The first retry's delay; each further one doubles it (with jitter)."""
        return float(self._get("OUTBOX_BACKOFF_BASE_SECONDS", 2.0))

    @property
    def OUTBOX_BACKOFF_CAP_SECONDS(self) -> float:
        """The longest delay between two retries, so a write is tried again soon after HubSpot
        comes back."""
        return float(self._get("OUTBOX_BACKOFF_CAP_SECONDS", 15 * 60))

    @property
    def OUTBOX_BATCHING(self) -> bool:
        """Whether a worker sends the due writes of one kind together through HubSpot's batch
        endpoints (a backlog after an outage drains in a few calls); off: one call per write."""
        return bool(self._get("OUTBOX_BATCHING", True))

    @property
    def OUTBOX_BATCH_SIZE(self) -> int:
        """Inputs in one batch call: HubSpot's object batch endpoints take at most 100."""
        return max(1, min(int(self._get("OUTBOX_BATCH_SIZE", 100)), 100))

    @property
    def OUTBOX_BATCH_CLAIM(self) -> int:
        """Due rows of one kind a worker takes at once, sent as several batch calls: the rows of
        one drain share their contact look-ups and one association call, so a backlog of tickets
        from 200 customers costs two contact calls, not one per batch. Its calls must fit well
        inside OUTBOX_LEASE_SECONDS."""
        return max(1, int(self._get("OUTBOX_BATCH_CLAIM", 500)))

    @property
    def ASSOCIATION_BATCH_SIZE(self) -> int:
        """Pairs in one batch association call (HubSpot's association batch endpoints take far
        more than the object ones; 1,000 is the documented limit of their batch read)."""
        return max(1, int(self._get("ASSOCIATION_BATCH_SIZE", 1000)))

    @property
    def SITE_URL(self) -> str:
        """The customer site's address as its customers reach it (scheme and host, e.g.
        `https://panel.example.com`): emails sent by the worker, which has no request to ask,
        link to My tickets on it."""
        return str(self._get("SITE_URL", "http://localhost:8000")).rstrip("/")

    @property
    def TICKET_EMAIL_MAX_ATTEMPTS(self) -> int:
        """Attempts to send one ticket email before it is marked failed (and logged): with the
        backoff below, about a day of the mail server refusing."""
        return int(self._get("TICKET_EMAIL_MAX_ATTEMPTS", 10))

    @property
    def TICKET_EMAIL_BACKOFF_BASE_SECONDS(self) -> float:
        """The first retry of a ticket email that could not be sent; each further one doubles it
        (with jitter): a mail server that is down is rarely back within seconds."""
        return float(self._get("TICKET_EMAIL_BACKOFF_BASE_SECONDS", 60.0))

    @property
    def TICKET_EMAIL_BACKOFF_CAP_SECONDS(self) -> float:
        """The longest wait between two attempts at a ticket email, so it goes out within hours
        of the mail server coming back."""
        return float(self._get("TICKET_EMAIL_BACKOFF_CAP_SECONDS", 4 * 3600))

    @property
    def TICKET_EMAIL_LEASE_SECONDS(self) -> int:
        """How long a worker holds a ticket email it is sending; one that died only delays the
        email this long. Far longer than one SMTP conversation."""
        return int(self._get("TICKET_EMAIL_LEASE_SECONDS", 300))

    @property
    def TICKET_CONVERSATION_MAX_MESSAGES(self) -> int:
        """Messages a ticket's page shows from its HubSpot conversation at most (the rest are
        not read): a long chat must not make one page render cost dozens of HubSpot calls."""
        return int(self._get("TICKET_CONVERSATION_MAX_MESSAGES", 200))

    @property
    def CONTACT_THREADS_MAX(self) -> int:
        """Inbox threads a contact's (or a staff ticket's) page reads at most, newest first; each
        shows up to TICKET_CONVERSATION_MAX_MESSAGES messages."""
        return int(self._get("CONTACT_THREADS_MAX", 20))

    @property
    def IMPORT_BATCH_MAX_WAIT(self) -> float:
        """How long an import batch (or a batch of site users sent as contacts) may wait for the
        rate limiter before giving up for now: background work can wait far longer than a page
        render."""
        return float(self._get("IMPORT_BATCH_MAX_WAIT", 15.0))

    @property
    def IMPORT_MAX_ERRORS(self) -> int:
        """Row errors kept on an import's record (the counts stay exact beyond it): enough to fix
        a file, not so many that one bad file bloats the row."""
        return int(self._get("IMPORT_MAX_ERRORS", 1000))

    @property
    def IMPORT_API_THRESHOLD_ROWS(self) -> int:
        """The default of the settings page's "imports API above (rows)": a CSV with more data
        rows than this is handed to HubSpot's CRM imports API in one upload instead of batch
        upserts of 100 (a million rows would be 10,000 calls, over an hour of the rate window)."""
        return int(self._get("IMPORT_API_THRESHOLD_ROWS", 20_000))

    @property
    def IMPORT_API_POLL_SECONDS(self) -> float:
        """The first wait between two status polls of an import HubSpot is running (a worker's
        task, enqueued again each time); later waits grow up to `IMPORT_API_POLL_MAX_SECONDS`.
        HubSpot takes minutes for a big file, so polling faster only spends the rate window."""
        return float(self._get("IMPORT_API_POLL_SECONDS", 5.0))

    @property
    def IMPORT_API_POLL_MAX_SECONDS(self) -> float:
        """The longest wait between two polls of a healthy import: the wait grows with the
        import's age (half of it), so a long import costs a few dozen calls, not one per
        `IMPORT_API_POLL_SECONDS`, and its progress bar still moves at least this often."""
        return float(self._get("IMPORT_API_POLL_MAX_SECONDS", 60.0))

    @property
    def IMPORT_API_POLL_MAX_BACKOFF(self) -> float:
        """The longest wait between two polls while HubSpot cannot be reached: an outage while
        HubSpot imports is retried at doubling intervals up to this, never a failed import."""
        return float(self._get("IMPORT_API_POLL_MAX_BACKOFF", 300.0))

    @property
    def PIPELINES_TTL(self) -> int:
        """Seconds HubSpot's pipelines (tickets', and the dashboard's deals') are cached: shared
        by every page that shows a stage, and changed rarely in HubSpot."""
        return int(self._get("PIPELINES_TTL", 300))

    @property
    def CONTACT_PROPERTIES_TTL(self) -> int:
        """Seconds HubSpot's list of contact properties is cached for checking the user field
        mapping: shared, and changed rarely; a property missing from it is looked up afresh
        before a mapping is refused."""
        return int(self._get("CONTACT_PROPERTIES_TTL", 300))

    @property
    def OWNERS_TTL(self) -> int:
        """Seconds the list of HubSpot owners is cached (shared, rarely changed)."""
        return int(self._get("OWNERS_TTL", 300))

    @property
    def FORM_FIELDS_TTL(self) -> int:
        """Seconds a HubSpot form's field names are cached: read on each submission, edited in
        HubSpot perhaps once a month."""
        return int(self._get("FORM_FIELDS_TTL", 3600))

    @property
    def DASHBOARD_CACHE_SECONDS(self) -> int:
        """Seconds the dashboard's figures are cached when the settings page leaves the cache time
        empty: fresh enough for a dashboard, few enough calls for the rate limit."""
        return int(self._get("DASHBOARD_CACHE_SECONDS", 300))

    @property
    def CHAT_TOKEN_TTL(self) -> int:
        """Seconds a visitor-identification token is reused: below HubSpot's 12-hour life of the
        token, so a cached one never reaches the widget expired."""
        return int(self._get("CHAT_TOKEN_TTL", 11 * 3600))

    @property
    def CHAT_FAILURE_TTL(self) -> int:
        """Seconds HubSpot's refusal to mint a token keeps the widget anonymous before HubSpot is
        asked again, so an outage costs one call and one log line, not one per page render."""
        return int(self._get("CHAT_FAILURE_TTL", 15 * 60))

    @property
    def CHAT_FORBIDDEN_TTL(self) -> int:
        """Seconds identification stays off after HubSpot answered 403 (a plan without the
        feature): that will not change within minutes, so HubSpot is asked less often."""
        return int(self._get("CHAT_FORBIDDEN_TTL", 6 * 3600))

    @property
    def CHAT_RENDER_MAX_WAIT(self) -> float:
        """Seconds a page render may wait for the rate limiter to mint a token; past it the
        widget renders without identification rather than slowing the page."""
        return float(self._get("CHAT_RENDER_MAX_WAIT", 0.2))

    @property
    def CHAT_IDENTIFICATION_SHARE(self) -> float:
        """The share of the rate window (0 to 1) page renders may spend minting chat
        identification tokens; the rest is kept for staff and background work. Past it a page
        renders at once with the anonymous widget and a later page identifies the customer.
        1 switches the budget off (renders then share the whole window, waiting up to
        CHAT_RENDER_MAX_WAIT, as before the budget existed)."""
        raw = self._get("CHAT_IDENTIFICATION_SHARE", 0.3)
        try:
            share = float(raw)
        except (TypeError, ValueError):
            share = float("nan")
        # A share of 0 would never identify anyone and one above 1 would hand renders more than
        # the window: both are typing mistakes (30 for 30%), refused rather than guessed at.
        if not 0 < share <= 1:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f"{self.setting_name('CHAT_IDENTIFICATION_SHARE')} must be a number above 0 and "
                f"at most 1 (0.3 is 30% of the rate window), not {raw!r}."
            )
        return share

    @property
    def VISITOR_MEMO_SECONDS(self) -> int:
        """Seconds a process remembers a visitor's rendered widget markup: far below the token's
        life at HubSpot (12 h, cached 11 h), so a memoised token is never stale."""
        return int(self._get("VISITOR_MEMO_SECONDS", 300))

    @property
    def EMAIL_VERIFICATION_MAX_AGE(self) -> int:
        """Seconds a sign-up's verification link stays valid: long enough for a weekend away
        from the mailbox. Read from `EMAIL_VERIFICATION_MAX_AGE` (no prefix; an older name)."""
        return int(getattr(settings, "EMAIL_VERIFICATION_MAX_AGE", 3 * 24 * 3600))

    @property
    def EMAIL_VERIFICATION_STATE_TTL(self) -> int:
        """Seconds a customer's verified-address state stays in the shared cache: it is read on
        every signed-in page (the chat widget) and dropped whenever the address row changes."""
        return int(self._get("EMAIL_VERIFICATION_STATE_TTL", 3600))

    @property
    def USER_LANGUAGE_TTL(self) -> int:
        """Seconds a customer's language choice stays in the shared cache: it is read on every
        signed-in page (language.py) and replaced whenever the account page saves it."""
        return int(self._get("USER_LANGUAGE_TTL", 3600))

    @property
    def SIGNUP_NOTICE_INTERVAL(self) -> int:
        """Seconds between two "someone tried to sign up with your address" mails to one address,
        so the notice cannot be used to flood a mailbox."""
        return int(self._get("SIGNUP_NOTICE_INTERVAL", 15 * 60))

    @property
    def CONNECTION_SLOW_MS(self) -> int:
        """A connection check round trip slower than this many milliseconds is reported as slow
        (HubSpot answers in a few hundred)."""
        return int(self._get("CONNECTION_SLOW_MS", 2000))

    @property
    def CONNECTION_CHECK_INTERVAL(self) -> int:
        """Seconds between two connection checks the sweep runs (however many sweeps run, on
        however many machines): a revoked token or a removed scope shows as a banner and one
        email to the HubSpot admins within this long. 0 switches the watch off."""
        return self._int("CONNECTION_CHECK_INTERVAL")

    @property
    def CONNECTION_CHECK_HISTORY(self) -> int:
        """Past connection checks kept (time, verdict, headline) beside the last one: enough to
        see when a failure began and how often it came back, bounded so the row stays small."""
        return int(self._get("CONNECTION_CHECK_HISTORY", 20))

    @property
    def PUBLIC_MAX_BODY_BYTES(self) -> int:
        """The largest body a public form (support request, contact message, sign-up) accepts:
        each is a few kilobytes, so anything far bigger is not a person."""
        return int(self._get("PUBLIC_MAX_BODY_BYTES", 32 * 1024))

    @property
    def WEBHOOK_MAX_BODY_BYTES(self) -> int:
        """The largest webhook body accepted: a batch of HubSpot's events is far below it, and a
        body over it is refused before it is read."""
        return int(self._get("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024))

    @property
    def IMPORT_SHOWN_ERRORS(self) -> int:
        """Row errors `hubspot_import_contacts` prints; the rest are counted."""
        return int(self._get("IMPORT_SHOWN_ERRORS", 50))

    @property
    def EXPORT_PAGE_SIZE(self) -> int:
        """Records a CSV export reads per search call (HubSpot's search answers at most 200;
        fewer calls keep an export inside the search API's 5 requests a second)."""
        return max(1, min(200, int(self._get("EXPORT_PAGE_SIZE", 200))))

    @property
    def BULK_ACTION_MAX(self) -> int:
        """The most records one bulk action on an admin list takes (each is one outbox write, so
        a page's worth keeps the request short)."""
        return int(self._get("BULK_ACTION_MAX", 100))


app_settings = AppSettings()
