"""The HTTP face of the fake: routing, auth and scopes, rate-limit headers, fault application.

A ThreadingHTTPServer speaking HTTP/1.1 with keep-alive, because urllib3 (the SDK) and requests
(`api_request`) pool connections; a fake that closed every connection would hide bugs that only
appear on reused ones, such as an answer lost on a connection the client thought was healthy.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import oauth as _oauth  # the OAuth pages and token expiry (oauth.py)
from . import seed
from .analytics import ANALYTICS_SCOPE, Analytics
from .common import ApiError, _obj, invalid, iso, now_ms, object_type
from .faults import Faults, RateLimiter, RawText, body_for_status, rate_limit_body
from .state import State

# Credentials a fresh fake accepts, one of each kind HubSpot issues, each with every scope. Only
# the legacy private-app token has a documented format (pat-{hublet}-{uuid}); service keys and
# project apps' static tokens are opaque, so nothing here (or in the panel) may go by prefix.
FAKE_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"  # a legacy private app's token
FAKE_SERVICE_KEY = "Xk7qP2vLm9RtB4wZc8NfJ3hD6sGy1AeU5oTi0VbQ"  # a service key (account level)
FAKE_APP_TOKEN = "CJ4tQm8vR2xLp7Wn3Zk9Bf6Hd1Sy5Ge0AcUoTiVbMqNr"  # a project app's static token
CREDENTIAL_KINDS = ("private_app", "service_key", "app_static_token", "oauth")
FAKE_PORTAL_ID = 12345678
FAKE_APP_ID = 3456789
FAKE_USER_ID = 9100001
JSON_TYPE = "application/json;charset=utf-8"
_DAY_MS = 86_400_000

READ_SCOPES = {
    "contacts": "crm.objects.contacts.read",
    "companies": "crm.objects.companies.read",
    "deals": "crm.objects.deals.read",
    "tickets": "tickets",
}
WRITE_SCOPES = {
    "contacts": "crm.objects.contacts.write",
    "companies": "crm.objects.companies.write",
    "deals": "crm.objects.deals.write",
    "tickets": "tickets",
}
# Creating a property needs the type's schema scope; tickets' is their one `tickets` scope.
SCHEMA_WRITE_SCOPES = {
    "contacts": "crm.schemas.contacts.write",
    "companies": "crm.schemas.companies.write",
    "deals": "crm.schemas.deals.write",
    "tickets": "tickets",
}
OWNERS_SCOPE = "crm.objects.owners.read"
FORMS_SCOPE = "forms"
VISITOR_SCOPE = "conversations.visitor_identification.tokens.create"
CONVERSATIONS_SCOPE = "conversations.read"
CONVERSATIONS_WRITE_SCOPE = "conversations.write"
ALL_SCOPES = sorted(
    {*READ_SCOPES.values(), *WRITE_SCOPES.values(), OWNERS_SCOPE, FORMS_SCOPE, VISITOR_SCOPE}
    | {CONVERSATIONS_SCOPE, CONVERSATIONS_WRITE_SCOPE}
    | {ANALYTICS_SCOPE}
    | {"crm.import"}  # the CRM imports API (state_imports.py)
    | {
        f"crm.schemas.{t}.{m}"
        for t in ("contacts", "companies", "deals")
        for m in ("read", "write")
    }
)

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    "required scopes here: https://developers.hubspot.com/scopes."
)


def default_account():
    return {
        "portalId": FAKE_PORTAL_ID,
        "accountType": "STANDARD",
        "timeZone": "US/Eastern",
        "companyCurrency": "USD",
        "additionalCurrencies": [],
        "utcOffset": "-05:00",
        "utcOffsetMilliseconds": -18_000_000,
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1",
    }


class Headers(dict):
    """Request headers; names compare case-insensitively, as in HTTP."""

    def __init__(self, items=()):
        super().__init__((str(k).lower(), v) for k, v in items)

    def __getitem__(self, key):
        return super().__getitem__(str(key).lower())

    def __contains__(self, key):
        return super().__contains__(str(key).lower())

    def get(self, key, default=None):
        return super().get(str(key).lower(), default)


@dataclass(frozen=True)
class Credential:
    """A bearer credential the fake accepts: its kind (CREDENTIAL_KINDS) and its scopes."""

    kind: str
    scopes: frozenset


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict  # repeated keys joined with "," (HubSpot reads both forms the same)
    headers: Headers
    body: object  # parsed JSON, or None
    status: int = 0  # 0 while in flight, and for a dropped connection
    params: dict = field(default_factory=dict, repr=False)


# --- routes -----------------------------------------------------------------------------------
#
# Only HubSpot's date-based paths are served, plus the few legacy ones that have no date-based
# equivalent (forms list, form submissions, the analytics reports, private-app token info). A
# client still calling a numbered path (/crm/v3/..., /crm/v4/..., /account-info/v3/...) gets 404.
# Paths match exactly: a trailing slash is a different path, as in HubSpot's specs.

VERSIONS = ("2026-03", "2026-09")  # date-based versions served; any other value is a 404
VERSION = "(?P<v>" + "|".join(re.escape(v) for v in VERSIONS) + ")"  # a path's version segment


@dataclass
class _Call:
    params: dict
    query: dict
    body: object


def type_scopes(table, *keys):
    """Scopes named by object types in the path, e.g. type_scopes(READ_SCOPES, "type")."""

    def required(params):
        found = (object_type(params[k]) for k in keys)
        return [table[t] for t in found if t]

    return required


def fixed_scopes(*scopes):
    """The same scopes for every call (none: any valid credential will do)."""
    return lambda params: list(scopes)


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    handler: object  # (fake, call) -> (status, json body); raises ApiError
    scopes: object = None  # params -> required scopes; None means no Authorization needed
    search: bool = False  # search has its own limit and sends no rate-limit headers


def route(method, pattern, handler, scopes=None, search=False):
    """One route; `pattern` is a regular expression matched against the whole path."""
    return Route(method, re.compile(pattern + r"\Z"), handler, scopes, search)


_T = r"(?P<type>[^/]+)"
_ID = r"(?P<id>[^/]+)"
_OBJECTS = f"/crm/objects/{VERSION}/{_T}"
_ASSOC = f"/crm/objects/{VERSION}/(?P<from>[^/]+)/(?P<id>[^/]+)/associations"
_ASSOC_BATCH = f"/crm/associations/{VERSION}/(?P<from>[^/]+)/(?P<to>[^/]+)/batch"


def _h_account(fake, call):
    with fake._lock:
        return 200, copy.deepcopy(fake.account)


def _h_api_usage(fake, call):
    # The day's calls as the limiter counted them (this one included): what HubSpot reports.
    used, limit = fake._limiter.daily_usage()
    with fake._lock:
        offset_ms = fake.account["utcOffsetMilliseconds"]
    now = now_ms()
    local_day = (now + offset_ms) // _DAY_MS
    usage = {
        "name": "api-calls-daily",
        "usageLimit": limit,
        "currentUsage": used,
        "collectedAt": iso(now),
        "fetchStatus": "SUCCESS",
        "resetsAt": iso((local_day + 1) * _DAY_MS - offset_ms),  # the account's next midnight
    }
    return 200, {"results": [usage]}


def _h_token_info(fake, call):
    token = _obj(call.body).get("tokenKey")
    with fake._lock:
        credential = fake._tokens.get(token)
        portal = fake.account["portalId"]
    # Only legacy private-app tokens are known here; any other credential (service key, app
    # static token, OAuth token) gets the same answer as a token HubSpot never issued.
    if credential is None or credential.kind != "private_app":
        raise ApiError(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
    return 200, {
        "userId": FAKE_USER_ID,
        "hubId": portal,
        "appId": FAKE_APP_ID,
        "scopes": sorted(credential.scopes),
    }


def _h_visitor(fake, call):
    if not fake.visitor_identification_allowed:
        raise ApiError(
            403,
            "This account does not have access to visitor identification: it requires a "
            "Professional or Enterprise subscription.",
            "FORBIDDEN",
            subCategory="FeatureAccessError.MISSING_FEATURE",
        )
    return fake.state.visitor_token(call.body)


def _h_submit(fake, call):
    with fake._lock:
        portal = fake.account["portalId"]
    return fake.state.submit_form(call.params["portal"], portal, call.params["form"], call.body)


def _object_routes():
    read, write = type_scopes(READ_SCOPES, "type"), type_scopes(WRITE_SCOPES, "type")
    return [
        route(
            "POST",
            f"{_OBJECTS}/search",
            lambda f, c: f.state.search(c.params["type"], c.body),
            read,
            search=True,
        ),
        route(
            "POST",
            f"{_OBJECTS}/batch/(?P<action>read)",
            lambda f, c: f.state.batch(c.params["type"], "read", c.body),
            read,
        ),
        route(
            "POST",
            f"{_OBJECTS}/batch/(?P<action>create|update|upsert|archive)",
            lambda f, c: f.state.batch(c.params["type"], c.params["action"], c.body),
            write,
        ),
        route(
            "POST",
            f"{_OBJECTS}/gdpr-delete",
            lambda f, c: f.state.gdpr_delete(c.params["type"], c.body),
            write,
        ),
        route(
            "GET",
            _OBJECTS,
            lambda f, c: f.state.list(
                c.params["type"], c.query, f"/crm/objects/{c.params['v']}/{c.params['type']}"
            ),
            read,
        ),
        route("POST", _OBJECTS, lambda f, c: f.state.create(c.params["type"], c.body), write),
        route(
            "GET",
            f"{_OBJECTS}/{_ID}",
            lambda f, c: f.state.get(c.params["type"], c.params["id"], c.query),
            read,
        ),
        route(
            "PATCH",
            f"{_OBJECTS}/{_ID}",
            lambda f, c: f.state.update(c.params["type"], c.params["id"], c.body, c.query),
            write,
        ),
        route(
            "DELETE",
            f"{_OBJECTS}/{_ID}",
            lambda f, c: f.state.archive(c.params["type"], c.params["id"]),
            write,
        ),
    ]


def _association_routes():
    read = type_scopes(READ_SCOPES, "from", "to")
    write = type_scopes(WRITE_SCOPES, "from", "to")
    return [
        route(
            "PUT",
            f"{_ASSOC}/default/(?P<to>[^/]+)/(?P<to_id>[^/]+)",
            lambda f, c: f.state.associate_default(
                c.params["from"], c.params["id"], c.params["to"], c.params["to_id"]
            ),
            write,
        ),
        route(
            "PUT",
            f"{_ASSOC}/(?P<to>[^/]+)/(?P<to_id>[^/]+)",
            lambda f, c: f.state.associate(
                c.params["from"], c.params["id"], c.params["to"], c.params["to_id"], c.body
            ),
            write,
        ),
        route(
            "DELETE",
            f"{_ASSOC}/(?P<to>[^/]+)/(?P<to_id>[^/]+)",
            lambda f, c: f.state.dissociate(
                c.params["from"], c.params["id"], c.params["to"], c.params["to_id"]
            ),
            write,
        ),
        route(
            "GET",
            f"{_ASSOC}/(?P<to>[^/]+)",
            lambda f, c: f.state.associations_get(
                c.params["from"], c.params["id"], c.params["to"], c.query
            ),
            read,
        ),
        route(
            "POST",
            f"{_ASSOC_BATCH}/(?P<action>read)",
            lambda f, c: f.state.association_batch(
                c.params["from"], c.params["to"], "read", c.body, c.params["v"]
            ),
            read,
        ),
        route(
            "POST",
            f"{_ASSOC_BATCH}/(?P<action>create|archive|associate/default)",
            lambda f, c: f.state.association_batch(
                c.params["from"], c.params["to"], c.params["action"], c.body, c.params["v"]
            ),
            write,
        ),
    ]


def _crm_setting_routes():
    read = type_scopes(READ_SCOPES, "type")
    owners = fixed_scopes(OWNERS_SCOPE)
    return [
        route(
            "GET",
            f"/crm/properties/{VERSION}/{_T}",
            lambda f, c: f.state.property_list(c.params["type"]),
            read,
        ),
        route(
            "GET",
            f"/crm/properties/{VERSION}/{_T}/(?P<name>[^/]+)",
            lambda f, c: f.state.property_get(c.params["type"], c.params["name"]),
            read,
        ),
        route(
            "POST",
            f"/crm/properties/{VERSION}/{_T}",
            lambda f, c: f.state.property_create(c.params["type"], c.body),
            type_scopes(SCHEMA_WRITE_SCOPES, "type"),
        ),
        route(
            "GET",
            f"/crm/pipelines/{VERSION}/{_T}",
            lambda f, c: f.state.pipelines_get(c.params["type"]),
            read,
        ),
        route(
            "GET",
            f"/crm/pipelines/{VERSION}/{_T}/(?P<pipeline>[^/]+)",
            lambda f, c: f.state.pipelines_get(c.params["type"], c.params["pipeline"]),
            read,
        ),
        route("GET", f"/crm/owners/{VERSION}", lambda f, c: f.state.owners_list(c.query), owners),
        route(
            "GET",
            f"/crm/owners/{VERSION}/{_ID}",
            lambda f, c: f.state.owner_get(c.params["id"], c.query),
            owners,
        ),
    ]


def _legacy_routes():
    """Numbered paths HubSpot has no date-based equivalent for (see HUBSPOT_API.md)."""
    forms, analytics = fixed_scopes(FORMS_SCOPE), fixed_scopes(ANALYTICS_SCOPE)
    submit = "(?P<portal>[^/]+)/(?P<form>[^/]+)"
    return [
        route("POST", "/oauth/v2/private-apps/get/access-token-info", _h_token_info),
        route("GET", "/marketing/v3/forms", lambda f, c: f.state.forms_list(c.query), forms),
        route(
            "GET",
            f"/marketing/v3/forms/{_ID}",
            lambda f, c: f.state.form_get(c.params["id"]),
            forms,
        ),
        route(
            "GET",
            "/analytics/v2/reports/totals/total",
            lambda f, c: f.analytics.totals(c.query),
            analytics,
        ),
        route(
            "GET",
            "/analytics/v2/reports/forms/total",
            lambda f, c: f.analytics.forms(c.query),
            analytics,
        ),
        route(
            "GET",
            f"/form-integrations/v1/submissions/forms/{_ID}",
            lambda f, c: f.analytics.submissions(c.params["id"], c.query),
            forms,
        ),
        route("POST", f"/submissions/v3/integration/submit/{submit}", _h_submit),
        route("POST", f"/submissions/v3/integration/secure/submit/{submit}", _h_submit, forms),
    ]


def _routes():
    return [
        route("GET", f"/account-info/{VERSION}/details", _h_account, fixed_scopes()),
        route(
            "GET",
            f"/account-info/{VERSION}/api-usage/daily/private-apps",
            _h_api_usage,
            fixed_scopes(),
        ),
        *_object_routes(),
        *_association_routes(),
        *_crm_setting_routes(),
        route(
            "POST",
            f"/visitor-identification/{VERSION}/tokens/create",
            _h_visitor,
            fixed_scopes(VISITOR_SCOPE),
        ),
        route(
            "GET",
            f"/conversations/conversations/{VERSION}/threads",
            lambda f, c: f.state.threads_list(c.query),
            fixed_scopes(CONVERSATIONS_SCOPE),
        ),
        route(
            "GET",
            f"/conversations/conversations/{VERSION}/threads/(?P<thread>[^/]+)/messages",
            lambda f, c: f.state.messages_list(c.params["thread"], c.query),
            fixed_scopes(CONVERSATIONS_SCOPE),
        ),
        route(
            "POST",
            f"/conversations/conversations/{VERSION}/threads/(?P<thread>[^/]+)/messages",
            lambda f, c: f.state.message_send(c.params["thread"], c.body),
            fixed_scopes(CONVERSATIONS_WRITE_SCOPE),
        ),
        route(
            "GET",
            f"/conversations/conversations/{VERSION}/threads/(?P<thread>[^/]+)",
            lambda f, c: f.state.thread_get(c.params["thread"]),
            fixed_scopes(CONVERSATIONS_SCOPE),
        ),
        route(
            "PATCH",
            f"/conversations/conversations/{VERSION}/threads/(?P<thread>[^/]+)",
            lambda f, c: f.state.thread_update(c.params["thread"], c.body),
            fixed_scopes(CONVERSATIONS_WRITE_SCOPE),
        ),
        *_legacy_routes(),
    ]


ROUTES = _routes()

# --- extension point: routes from other modules -----------------------------------------------
#
# A module of this package that serves more of HubSpot (e.g. `oauth.py`) is named here, relative
# to the package. It defines `register_routes(routes)`, which appends Route objects (made with
# `route(...)`, `fixed_scopes(...)`, `VERSION`) to the list it is given; it may also define
# `reset(fake)`, called by every `FakeHubSpot.reset()`. Handlers take `(fake, call)` and answer
# `(status, json_body)` or raise `ApiError`. The modules load when the first FakeHubSpot is
# created (not at import, so they can import this module); built-in routes match first.
EXTRA_ROUTE_MODULES: list[str] = [".oauth", ".state_imports"]
_extras = None  # the loaded modules, once loaded
_extras_lock = threading.Lock()


def _extra_modules():
    global _extras
    with _extras_lock:
        if _extras is None:
            modules = [importlib.import_module(name, __package__) for name in EXTRA_ROUTE_MODULES]
            for module in modules:
                module.register_routes(ROUTES)
            _extras = modules
        return _extras


def _match(method, path):
    for candidate in ROUTES:
        if candidate.method == method:
            found = candidate.pattern.match(path)
            if found:
                return candidate, {k: unquote(v) for k, v in found.groupdict().items()}
    return None, {}


# --- HTTP plumbing ----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like HubSpot
    server_version = "FakeHubSpot/1.0"
    sys_version = ""
    timeout = 60  # an idle pooled connection gives its thread back eventually

    def setup(self):
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # the request log lives in fake.requests, not on stderr

    def _dispatch(self):
        self.server.fake._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a handler sleeping in injected latency
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, fake):
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):
        # A client that timed out or hung up is part of the tests, not a server bug.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _read_body(handler):
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _parse_json(raw):
    """(body, malformed): an empty body is None, not an error (GET, DELETE, default PUT)."""
    if not raw.strip():
        return None, False
    try:
        return json.loads(raw), False
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, True


def _drop(handler):
    # Shut the socket without a byte of answer: the client sees the connection die mid-request.
    handler.close_connection = True
    try:
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _send(handler, status, payload, headers):
    if isinstance(payload, _oauth.RawAnswer):  # an HTML page or a redirect (oauth.py)
        return payload.send(handler, status, headers)
    if isinstance(payload, RawText):  # a fault: an answer that is not HubSpot's JSON
        payload = _oauth.RawAnswer(data=str(payload).encode())
        return payload.send(handler, status, headers)
    data = b"" if payload is None else json.dumps(payload).encode()
    try:
        handler.send_response(status)
        if status != 204:
            handler.send_header("Content-Type", JSON_TYPE)
            handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if data:
            handler.wfile.write(data)
    except OSError:
        handler.close_connection = True  # the client gave up (e.g. its read timed out)


def _bearer(value):
    scheme, _, token = str(value or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


# --- the fake ---------------------------------------------------------------------------------


class FakeHubSpot:
    """A stateful HubSpot on 127.0.0.1 for the real SDK to talk to. See README.md."""

    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self._port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._connections = set()
        self._httpd = None
        self._thread = None
        self.state = State()
        self.analytics = Analytics(self.state)  # legacy reporting endpoints, see analytics.py
        self.faults = Faults()
        self._limiter = RateLimiter("TEN_SECONDLY_ROLLING", 100, 10.0, 250_000)
        self._search_limiter = RateLimiter("SECONDLY", 5, 1.0)
        self.oauth = _oauth.FakeOAuth(self)  # the registered app, grants, token expiry
        self._reset_config()
        _extra_modules()  # routes contributed by other modules (see EXTRA_ROUTE_MODULES)

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self):
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server((self.host, self._port), self)
        self._port = self._httpd.server_address[1]  # keep the port across stop()/start()
        self.state.base_url = self.url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-hubspot-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in injected latency
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def reset(self):
        """Back to a freshly started fake: no records, faults, limits, log or extra tokens."""
        self.state.reset()
        self.analytics.reset()
        self.faults.clear()
        self._reset_config()
        for module in _extra_modules():
            if hasattr(module, "reset"):
                module.reset(self)

    def _reset_config(self):
        every = frozenset(ALL_SCOPES)
        with self._lock:
            self.account = default_account()
            self.visitor_identification_allowed = True
            self._tokens = {
                FAKE_TOKEN: Credential("private_app", every),
                FAKE_SERVICE_KEY: Credential("service_key", every),
                FAKE_APP_TOKEN: Credential("app_static_token", every),
            }
            self._requests = []
            self.server_errors = []  # tracebacks of bugs in the fake itself; should stay empty
        self._limiter.configure(100, 10.0, 250_000, enforce=False)
        self._search_limiter.configure(5, 1.0, enforce=False)

    @property
    def port(self):
        return self._port

    @property
    def url(self):
        if self._httpd is None:
            raise RuntimeError("FakeHubSpot is not started")
        return f"http://{self.host}:{self._port}"

    # --- configuration ---------------------------------------------------------------------------

    def add_token(self, token, scopes=(), kind="private_app"):
        """Accept `token` as a bearer credential of `kind` (one of CREDENTIAL_KINDS)."""
        if kind not in CREDENTIAL_KINDS:
            raise ValueError(f"kind must be one of {CREDENTIAL_KINDS}, not {kind!r}")
        with self._lock:
            self._tokens[token] = Credential(kind, frozenset(scopes))

    def credential(self, token):
        """The Credential the fake holds for `token`, or None."""
        with self._lock:
            return self._tokens.get(token)

    def revoke_token(self, token):
        with self._lock:
            self._tokens.pop(token, None)

    def rate_limit(self, max_per_window=100, window_seconds=10.0, daily=250_000, retry_after=None):
        """Enforce a rolling window (None turns enforcement off; headers are always sent)."""
        if max_per_window is None:
            self._limiter.configure(100, 10.0, 250_000, enforce=False)
        else:
            self._limiter.configure(max_per_window, window_seconds, daily, retry_after)

    def search_rate_limit(self, per_second=5):
        """Enforce HubSpot's per-second search limit (None turns it off)."""
        if per_second is None:
            self._search_limiter.configure(5, 1.0, enforce=False)
        else:
            self._search_limiter.configure(per_second, 1.0)

    @property
    def search_delay(self):
        return self.state.search_delay

    @search_delay.setter
    def search_delay(self, seconds):
        with self.state.lock:
            self.state.search_delay = float(seconds)

    # --- inspection and seeding ------------------------------------------------------------------

    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    def count(self, method=None, path_prefix=None):
        with self._lock:
            return sum(
                1
                for r in self._requests
                if (method is None or r.method == method.upper())
                and (path_prefix is None or r.path.startswith(path_prefix))
            )

    def objects(self, object_type_name):
        return self.state.dump(object_type_name)

    def create_object(self, object_type_name, properties, associations=None):
        return self.state.create_object(object_type_name, properties, associations)

    def define_property(self, object_type_name, name, type="string", options=None, **kwargs):
        return self.state.define_property(object_type_name, name, type, options, **kwargs)

    def delete_property(self, object_type_name, name):
        return self.state.delete_property(object_type_name, name)

    def pipelines(self, object_type_name):
        return self.state.pipeline_list(object_type_name)

    def set_pipelines(self, object_type_name, pipelines):
        self.state.set_pipelines(object_type_name, pipelines)

    def forms(self):
        with self.state.lock:
            return copy.deepcopy(self.state.forms)

    @property
    def form_submissions(self):
        with self.state.lock:
            return copy.deepcopy(self.state.form_submissions)

    @property
    def identification_tokens(self):
        with self.state.lock:
            return copy.deepcopy(self.state.identification_tokens)

    def seed_contacts(self, n, **kwargs):
        return seed.seed_contacts(self.state, n, **kwargs)

    def seed_companies(self, n, **kwargs):
        return seed.seed_companies(self.state, n, **kwargs)

    def seed_deals(self, n, pipelines=2, **kwargs):
        return seed.seed_deals(self.state, n, pipelines=pipelines, **kwargs)

    def seed_tickets(self, n, **kwargs):
        return seed.seed_tickets(self.state, n, **kwargs)

    def add_thread(self, **kwargs):
        return self.state.add_thread(**kwargs)

    def add_message(self, thread_id, text, **kwargs):
        return self.state.add_message(thread_id, text, **kwargs)

    def seed_conversations(self, ticket_ids):
        return seed.seed_conversations(self.state, ticket_ids)

    def seed_demo(self):
        """The demo account `python -m tests.fake_hubspot --seed` and the smoke test serve."""
        self.seed_contacts(200)
        self.seed_companies(30)
        self.seed_deals(60)
        self.seed_conversations(self.seed_tickets(40)[:10])

    # --- request handling ------------------------------------------------------------------------

    def _track(self, conn, add):
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _handle(self, handler):
        raw = _read_body(handler)
        parts = urlsplit(handler.path)
        path = parts.path  # exact: HubSpot's paths have no trailing slash, nor do the routes
        query = parse_qs(parts.query, keep_blank_values=True)
        body, malformed = _parse_json(raw)
        route, params = _match(handler.command, path)
        if getattr(route, "form", False):  # OAuth's endpoints take form-encoded bodies
            body, malformed = _oauth.parse_form(raw), False
        if getattr(route, "parse", None):  # a multipart upload (state_imports.py)
            try:
                body, malformed = route.parse(raw), False
            except ApiError:
                body, malformed = None, False
        record = RecordedRequest(
            handler.command,
            parts.path,
            {k: ",".join(v) for k, v in query.items()},
            Headers(handler.headers.items()),
            body,
            params=params,
        )
        with self._lock:
            self._requests.append(record)

        decision = self.faults.decide(path)
        if decision.delay:
            self._stopping.wait(decision.delay)
        if decision.drop == "before":
            return _drop(handler)
        if decision.status is not None:
            status, payload = decision.status, decision.body
            headers = {**self._plain_headers(route), **decision.headers}
        else:
            status, payload, headers = self._answer(route, params, query, body, malformed, handler)
        if decision.drop == "after":
            return _drop(handler)
        record.status = status
        _send(handler, status, payload, headers)

    def _plain_headers(self, route):
        return {} if route is not None and route.search else self._limiter.headers()

    def _answer(self, route, params, query, body, malformed, handler):
        headers = {}
        try:
            if route is None:
                raise ApiError(
                    404,
                    f"No route for {handler.command} {urlsplit(handler.path).path}",
                    "NOT_FOUND",
                )
            if route.scopes is not None:
                self._authorize(route, params, handler.headers)
                headers = self._count(route)
            if malformed:
                raise invalid("Invalid input JSON: the request body could not be parsed")
            status, payload = route.handler(self, _Call(params, query, body))
        except ApiError as err:
            status, payload = err.status, err.body
            headers = {**headers, **err.headers}
        except Exception:  # a bug in the fake: answer 500 and keep the traceback for the test
            with self._lock:
                self.server_errors.append(traceback.format_exc())
            status, payload = 500, body_for_status(500)
        if not headers:
            headers = self._plain_headers(route)
        return status, payload, headers

    def _authorize(self, route, params, request_headers):
        token = _bearer(request_headers.get("Authorization"))
        with self._lock:
            credential = self._tokens.get(token)
        if credential is None:
            raise ApiError(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        self.oauth.check_bearer(token)  # an expired OAuth access token answers 401 (oauth.py)
        for scope in route.scopes(params):
            if scope not in credential.scopes:
                raise ApiError(
                    403,
                    SCOPES_MESSAGE,
                    "MISSING_SCOPES",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [scope]},
                        }
                    ],
                )

    def _count(self, route):
        """Charges the request to its limit; answers the rate-limit headers or raises 429."""
        with self._lock:
            group = f"publicapi:private-app:{self.account['portalId']}:{FAKE_APP_ID}"
        if route.search:
            refused, _ = self._search_limiter.hit()
            if refused:
                raise ApiError(429, "", body=rate_limit_body(refused, group))
            return {}
        refused, headers = self._limiter.hit()
        if refused:
            raise ApiError(429, "", headers=headers, body=rate_limit_body(refused, group))
        return headers
