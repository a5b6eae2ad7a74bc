"""The HTTP face of the fake: routing, auth and scopes, rate-limit headers, fault application.

A ThreadingHTTPServer speaking HTTP/1.1 with keep-alive, because urllib3 (the SDK) and requests
(`api_request`) pool connections; a fake that closed every connection would hide bugs that only
appear on reused ones, such as an answer lost on a connection the client thought was healthy.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import seed
from .analytics import ANALYTICS_SCOPE, Analytics
from .faults import Faults, RateLimiter, body_for_status, rate_limit_body
from .state import ApiError, State, _obj, invalid, object_type

FAKE_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
FAKE_PORTAL_ID = 12345678
FAKE_APP_ID = 3456789
FAKE_USER_ID = 9100001
JSON_TYPE = "application/json;charset=utf-8"

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
OWNERS_SCOPE = "crm.objects.owners.read"
FORMS_SCOPE = "forms"
VISITOR_SCOPE = "conversations.visitor_identification.tokens.create"
ALL_SCOPES = sorted(
    {*READ_SCOPES.values(), *WRITE_SCOPES.values(), OWNERS_SCOPE, FORMS_SCOPE, VISITOR_SCOPE}
    | {ANALYTICS_SCOPE}
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


@dataclass
class _Call:
    params: dict
    query: dict
    body: object


def _scopes(table, *keys):
    def required(params):
        found = (object_type(params[k]) for k in keys)
        return [table[t] for t in found if t]

    return required


def _fixed(*scopes):
    return lambda params: list(scopes)


@dataclass
class _Route:
    method: str
    pattern: re.Pattern
    handler: object
    scopes: object = None  # params -> required scopes; None means no Authorization needed
    search: bool = False  # search has its own limit and sends no rate-limit headers


def _route(method, pattern, handler, scopes=None, search=False):
    return _Route(method, re.compile(pattern + r"\Z"), handler, scopes, search)


_T = r"(?P<type>[^/]+)"
_ID = r"(?P<id>[^/]+)"
_ASSOC = r"/crm/v4/objects/(?P<from>[^/]+)/(?P<id>[^/]+)/associations"


def _h_account(fake, call):
    with fake._lock:
        return 200, copy.deepcopy(fake.account)


def _h_token_info(fake, call):
    token = _obj(call.body).get("tokenKey")
    with fake._lock:
        scopes = fake._tokens.get(token)
        portal = fake.account["portalId"]
    if scopes is None:
        raise ApiError(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
    return 200, {
        "userId": FAKE_USER_ID,
        "hubId": portal,
        "appId": FAKE_APP_ID,
        "scopes": sorted(scopes),
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


def _routes():
    read, write = _scopes(READ_SCOPES, "type"), _scopes(WRITE_SCOPES, "type")
    return [
        _route("GET", "/account-info/v3/details", _h_account, _fixed()),
        _route("POST", "/oauth/v2/private-apps/get/access-token-info", _h_token_info),
        _route(
            "POST",
            f"/crm/v3/objects/{_T}/search",
            lambda f, c: f.state.search(c.params["type"], c.body),
            read,
            search=True,
        ),
        _route(
            "POST",
            f"/crm/v3/objects/{_T}/batch/(?P<action>read)",
            lambda f, c: f.state.batch(c.params["type"], "read", c.body),
            read,
        ),
        _route(
            "POST",
            f"/crm/v3/objects/{_T}/batch/(?P<action>create|update|upsert|archive)",
            lambda f, c: f.state.batch(c.params["type"], c.params["action"], c.body),
            write,
        ),
        _route(
            "GET",
            f"/crm/v3/objects/{_T}",
            lambda f, c: f.state.list(c.params["type"], c.query),
            read,
        ),
        _route(
            "POST",
            f"/crm/v3/objects/{_T}",
            lambda f, c: f.state.create(c.params["type"], c.body),
            write,
        ),
        _route(
            "GET",
            f"/crm/v3/objects/{_T}/{_ID}",
            lambda f, c: f.state.get(c.params["type"], c.params["id"], c.query),
            read,
        ),
        _route(
            "PATCH",
            f"/crm/v3/objects/{_T}/{_ID}",
            lambda f, c: f.state.update(c.params["type"], c.params["id"], c.body, c.query),
            write,
        ),
        _route(
            "DELETE",
            f"/crm/v3/objects/{_T}/{_ID}",
            lambda f, c: f.state.archive(c.params["type"], c.params["id"]),
            write,
        ),
        _route(
            "GET",
            f"/crm/v3/properties/{_T}",
            lambda f, c: f.state.property_list(c.params["type"]),
            read,
        ),
        _route(
            "GET",
            f"/crm/v3/properties/{_T}/(?P<name>[^/]+)",
            lambda f, c: f.state.property_get(c.params["type"], c.params["name"]),
            read,
        ),
        _route(
            "POST",
            f"/crm/v3/properties/{_T}",
            lambda f, c: f.state.property_create(c.params["type"], c.body),
            write,
        ),
        _route(
            "GET",
            f"/crm/v3/pipelines/{_T}",
            lambda f, c: f.state.pipelines_get(c.params["type"]),
            read,
        ),
        _route(
            "GET",
            f"/crm/v3/pipelines/{_T}/(?P<pipeline>[^/]+)",
            lambda f, c: f.state.pipelines_get(c.params["type"], c.params["pipeline"]),
            read,
        ),
        _route(
            "PUT",
            f"{_ASSOC}/default/(?P<to>[^/]+)/(?P<to_id>[^/]+)",
            lambda f, c: f.state.associate_default(
                c.params["from"], c.params["id"], c.params["to"], c.params["to_id"]
            ),
            _scopes(WRITE_SCOPES, "from", "to"),
        ),
        _route(
            "PUT",
            f"{_ASSOC}/(?P<to>[^/]+)/(?P<to_id>[^/]+)",
            lambda f, c: f.state.associate(
                c.params["from"], c.params["id"], c.params["to"], c.params["to_id"], c.body
            ),
            _scopes(WRITE_SCOPES, "from", "to"),
        ),
        _route(
            "DELETE",
            f"{_ASSOC}/(?P<to>[^/]+)/(?P<to_id>[^/]+)",
            lambda f, c: f.state.dissociate(
                c.params["from"], c.params["id"], c.params["to"], c.params["to_id"]
            ),
            _scopes(WRITE_SCOPES, "from", "to"),
        ),
        _route(
            "GET",
            f"{_ASSOC}/(?P<to>[^/]+)",
            lambda f, c: f.state.associations_get(
                c.params["from"], c.params["id"], c.params["to"], c.query
            ),
            _scopes(READ_SCOPES, "from", "to"),
        ),
        _route(
            "GET", "/crm/v3/owners", lambda f, c: f.state.owners_list(c.query), _fixed(OWNERS_SCOPE)
        ),
        _route(
            "GET",
            f"/crm/v3/owners/{_ID}",
            lambda f, c: f.state.owner_get(c.params["id"], c.query),
            _fixed(OWNERS_SCOPE),
        ),
        _route(
            "GET",
            "/marketing/v3/forms",
            lambda f, c: f.state.forms_list(c.query),
            _fixed(FORMS_SCOPE),
        ),
        _route(
            "GET",
            f"/marketing/v3/forms/{_ID}",
            lambda f, c: f.state.form_get(c.params["id"]),
            _fixed(FORMS_SCOPE),
        ),
        _route(
            "GET",
            "/analytics/v2/reports/totals/total",
            lambda f, c: f.analytics.totals(c.query),
            _fixed(ANALYTICS_SCOPE),
        ),
        _route(
            "GET",
            "/analytics/v2/reports/forms/total",
            lambda f, c: f.analytics.forms(c.query),
            _fixed(ANALYTICS_SCOPE),
        ),
        _route(
            "GET",
            f"/form-integrations/v1/submissions/forms/{_ID}",
            lambda f, c: f.analytics.submissions(c.params["id"], c.query),
            _fixed(FORMS_SCOPE),
        ),
        _route(
            "POST",
            "/submissions/v3/integration/submit/(?P<portal>[^/]+)/(?P<form>[^/]+)",
            _h_submit,
        ),
        _route(
            "POST",
            "/submissions/v3/integration/secure/submit/(?P<portal>[^/]+)/(?P<form>[^/]+)",
            _h_submit,
            _fixed(FORMS_SCOPE),
        ),
        _route(
            "POST", "/visitor-identification/v3/tokens/create", _h_visitor, _fixed(VISITOR_SCOPE)
        ),
        _route(
            "POST",
            "/conversations/v3/visitor-identification/tokens/create",
            _h_visitor,
            _fixed(VISITOR_SCOPE),
        ),
    ]


ROUTES = _routes()


def _match(method, path):
    for route in ROUTES:
        if route.method == method:
            found = route.pattern.match(path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
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
        self._reset_config()

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

    def _reset_config(self):
        with self._lock:
            self.account = default_account()
            self.visitor_identification_allowed = True
            self._tokens = {FAKE_TOKEN: set(ALL_SCOPES)}
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

    def add_token(self, token, scopes=()):
        with self._lock:
            self._tokens[token] = set(scopes)

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
        path = parts.path.rstrip("/") or "/"  # the SDK calls both /owners/ and /objects/x
        query = parse_qs(parts.query, keep_blank_values=True)
        body, malformed = _parse_json(raw)
        route, params = _match(handler.command, path)
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
            scopes = self._tokens.get(token)
        if scopes is None:
            raise ApiError(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        for scope in route.scopes(params):
            if scope not in scopes:
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
