"""HubSpot's OAuth side: the consent page, the token, introspection and revocation endpoints.

One project-based app is registered on every reset (`FAKE_CLIENT_ID`, `FAKE_CLIENT_SECRET`,
`FAKE_APP_NAME`), with the scope configuration the panel's README tells an admin to give the app
(required, conditionally required, optional). The consent page applies HubSpot's rules for the
install URL against that configuration, so a URL HubSpot would refuse is refused here too:

- every required scope must be in `scope`, and nothing in `optional_scope` may be required or
  conditionally required ("the provided scopes are insufficient");
- `scope` holds only required or conditionally required scopes, `optional_scope` only optional ones
  ("a mismatch between the scopes in the install URL and the app's configured scopes").

Tokens: an authorization code is single use, lives `code_lifetime` seconds and is bound to its
client and redirect URI. Access tokens are registered with the fake's token table
(`fake.add_token`) with the granted scopes, so every other route accepts them; they expire after
`access_token_lifetime` seconds (an expired one answers 401 EXPIRED_AUTHENTICATION, as HubSpot's
do) and stop working when their refresh token is revoked. A refresh keeps the refresh token (HubSpot
does not rotate it) unless `rotate_refresh_tokens` is set.

Controls (`fake.oauth`): `access_token_lifetime`, `code_lifetime`, `refuse_refresh = True` (every
refresh answers 400 invalid_grant / BAD_REFRESH_TOKEN), `authorize_error = "access_denied"` (the
consent page's Connect button answers that error), `redirect_uris` (None accepts any http(s) URI),
`account_scopes` (None: the account has every scope; optional scopes it lacks are dropped),
`issue(scopes)` (a grant without the consent page). Counters: `exchanges`, `refreshes`,
`introspections`, `revocations`; `refresh_tokens()` / `access_tokens()` list what is live.

Error answers carry both HubSpot's `status` code name (BAD_AUTH_CODE, BAD_REFRESH_TOKEN,
BAD_CLIENT_ID, ...) and the OAuth 2.0 `error` (invalid_grant, invalid_client, ...): which of the two
the date-based endpoints send is not documented [unverified]; the panel reads neither.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .common import ApiError

FAKE_CLIENT_ID = "5a0c1f3e-7d2b-4e8a-9c61-0b4d2e6f8a10"
FAKE_CLIENT_SECRET = "c7f1e2d3-4b5a-4c6d-8e9f-a0b1c2d3e4f5"
FAKE_APP_NAME = "SkyPanel connector"
FAKE_OAUTH_USER = "ada@example.com"
FAKE_OAUTH_USER_ID = 9100002

# The app configuration (app-hsmeta.json `auth`) the README recommends.
APP_REQUIRED_SCOPES = ("oauth", "crm.objects.contacts.read", "crm.objects.contacts.write")
APP_CONDITIONAL_SCOPES = (
    "tickets",
    "crm.objects.owners.read",
    "forms",
    "conversations.visitor_identification.tokens.create",
)
APP_OPTIONAL_SCOPES = (
    "crm.objects.deals.read",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.write",
    "business-intelligence",
    "conversations.read",
    "conversations.write",
    "crm.import",
)

EXPIRED_MESSAGE = "The OAuth token used to make this call expired {seconds} second(s) ago."


@dataclass
class App:
    client_id: str
    client_secret: str
    name: str
    app_id: int
    required_scopes: tuple = APP_REQUIRED_SCOPES
    conditional_scopes: tuple = APP_CONDITIONAL_SCOPES
    optional_scopes: tuple = APP_OPTIONAL_SCOPES


@dataclass
class _Grant:
    """One installation: what a refresh token stands for."""

    client_id: str
    hub_id: int
    scopes: list
    revoked: bool = False
    access_tokens: list = field(default_factory=list)


@dataclass
class _Code:
    grant: _Grant
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class _Access:
    refresh_token: str
    expires_at: float


@dataclass
class RawAnswer:
    """An answer that is not JSON: the consent page (HTML) or a redirect."""

    content_type: str = "text/html; charset=utf-8"
    data: bytes = b""
    headers: dict = field(default_factory=dict)

    def send(self, handler, status, headers):
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", self.content_type)
            handler.send_header("Content-Length", str(len(self.data)))
            for name, value in {**headers, **self.headers}.items():
                handler.send_header(name, value)
            handler.end_headers()
            if self.data:
                handler.wfile.write(self.data)
        except OSError:
            handler.close_connection = True


def parse_form(raw: bytes) -> dict:
    """A form-encoded body as a dict of single values (the last one wins, as HubSpot reads it)."""
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _oauth_error(status, code, error, message):
    return ApiError(
        status,
        message,
        body={
            "status": code,
            "message": message,
            "error": error,
            "error_description": message,
            "correlationId": str(uuid.uuid4()),
        },
    )


def _first(query, name):
    values = query.get(name) or [""]
    return values[0]


def _split(scopes: str) -> list[str]:
    # HubSpot takes scopes separated by spaces (and, in older install URLs, by "+" or commas).
    return [s for s in scopes.replace(",", " ").replace("+", " ").split() if s]


class FakeOAuth:
    """HubSpot's OAuth server for the one fake account. Thread-safe."""

    def __init__(self, fake):
        self._fake = fake
        self._lock = threading.RLock()
        self.reset()

    def reset(self):
        with self._lock:
            from .server import FAKE_APP_ID

            self.app = App(FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_APP_NAME, FAKE_APP_ID)
            self.access_token_lifetime = 1800  # HubSpot's: 30 minutes
            self.code_lifetime = 300
            self.refuse_refresh = False
            self.rotate_refresh_tokens = False
            self.authorize_error = None
            self.redirect_uris = None
            self.account_scopes = None
            self.exchanges = self.refreshes = self.introspections = self.revocations = 0
            self._codes: dict[str, _Code] = {}
            self._grants: dict[str, _Grant] = {}  # refresh token -> grant
            self._access: dict[str, _Access] = {}

    # --- inspection and shortcuts ------------------------------------------------------------------
    def refresh_tokens(self) -> list[str]:
        with self._lock:
            return [t for t, g in self._grants.items() if not g.revoked]

    def access_tokens(self) -> list[str]:
        now = time.time()
        with self._lock:
            return [
                t
                for t, a in self._access.items()
                if a.expires_at > now and not self._grants[a.refresh_token].revoked
            ]

    def issue(self, scopes=None) -> dict:
        """A grant as if an admin had connected, without the consent page: the token answer."""
        scopes = list(scopes if scopes is not None else self.app.required_scopes)
        with self._lock:
            grant = _Grant(self.app.client_id, self._portal(), sorted(set(scopes)))
            refresh = self._new_refresh(grant)
            return self._token_answer(refresh, grant)

    def expire_access_tokens(self):
        """Every live access token lapses now (as if its 30 minutes had passed)."""
        with self._lock:
            for access in self._access.values():
                access.expires_at = min(access.expires_at, time.time() - 1)

    # --- the hook the fake's auth check calls -------------------------------------------------------
    def check_bearer(self, token):
        """Raise HubSpot's 401 for an OAuth access token that has expired."""
        with self._lock:
            access = self._access.get(token)
            if access is None:
                return
            late = time.time() - access.expires_at
        if late >= 0:
            raise ApiError(
                401,
                EXPIRED_MESSAGE.format(seconds=int(late)),
                "EXPIRED_AUTHENTICATION",
                context={"expire_time": [str(int(access.expires_at * 1000))]},
            )

    # --- internals -----------------------------------------------------------------------------------
    def _portal(self):
        with self._fake._lock:
            return self._fake.account["portalId"]

    def _new_refresh(self, grant) -> str:
        refresh = f"na1-{uuid.uuid4().hex[:4]}-{uuid.uuid4()}"
        self._grants[refresh] = grant
        return refresh

    def _token_answer(self, refresh, grant) -> dict:
        access = "C" + secrets.token_urlsafe(60)
        self._access[access] = _Access(refresh, time.time() + self.access_token_lifetime)
        grant.access_tokens.append(access)
        # TODO(merge): add kind="oauth" once server.py's add_token takes it.
        self._fake.add_token(access, grant.scopes)
        return {
            "token_type": "bearer",
            "refresh_token": refresh,
            "access_token": access,
            "expires_in": self.access_token_lifetime,
            "hub_id": grant.hub_id,
            "user_id": FAKE_OAUTH_USER_ID,
            "scopes": list(grant.scopes),
        }

    def _client(self, form):
        app = self.app
        if form.get("client_id") != app.client_id:
            raise _oauth_error(
                400, "BAD_CLIENT_ID", "invalid_client", "missing or unknown client id"
            )
        if not secrets.compare_digest(str(form.get("client_secret", "")), app.client_secret):
            raise _oauth_error(
                400, "BAD_CLIENT_SECRET", "invalid_client", "missing or invalid client secret"
            )
        return app

    def _revoke_grant(self, grant):
        grant.revoked = True
        for access in grant.access_tokens:
            self._fake.revoke_token(access)

    # --- the consent page ----------------------------------------------------------------------------
    def _install_problem(self, client_id, redirect_uri, scope, optional):
        app = self.app
        if client_id != app.client_id:
            return "The app could not be found: the install URL's client_id is unknown."
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return "The install URL's redirect_uri is missing or not an http(s) URL."
        if self.redirect_uris is not None and redirect_uri not in self.redirect_uris:
            return "The redirect_uri does not match any redirect URL in the app's auth settings."
        if any(s not in scope for s in app.required_scopes) or any(
            s in app.required_scopes + app.conditional_scopes for s in optional
        ):
            return (
                "Couldn't complete the connection: Authorization failed because the provided "
                "scopes are insufficient. Please contact the app developer."
            )
        if any(s not in app.required_scopes + app.conditional_scopes for s in scope) or any(
            s not in app.optional_scopes for s in optional
        ):
            return (
                "Couldn't complete the connection: Authorization failed because there is a "
                "mismatch between the scopes in the install URL and the app's configured "
                "scopes. Please contact the app developer."
            )
        if self.account_scopes is not None:
            lacking = [s for s in scope if s != "oauth" and s not in self.account_scopes]
            if lacking:
                return "This account does not have access to: " + ", ".join(lacking) + "."
        return None

    def authorize_page(self, query):
        client_id = _first(query, "client_id")
        redirect_uri = _first(query, "redirect_uri")
        scope, optional = _split(_first(query, "scope")), _split(_first(query, "optional_scope"))
        with self._lock:
            problem = self._install_problem(client_id, redirect_uri, scope, optional)
            app_name = self.app.name
        if problem:
            return 400, _page(
                "Couldn't complete the connection", f"<p id='error'>{_e(problem)}</p>"
            )
        hidden = "".join(
            f"<input type='hidden' name='{_e(name)}' value='{_e(_first(query, name))}'>"
            for name in ("client_id", "redirect_uri", "scope", "optional_scope", "state")
            if name in query
        )
        listing = "".join(f"<li class='scope'>{_e(s)}</li>" for s in scope)
        optional_listing = "".join(f"<li class='optional-scope'>{_e(s)}</li>" for s in optional)
        body = (
            f"<h1 id='app-name'>{_e(app_name)}</h1>"
            f"<p>wants to connect to account {self._portal()}.</p>"
            f"<h2>Required</h2><ul id='scopes'>{listing}</ul>"
            f"<h2>Optional</h2><ul id='optional-scopes'>{optional_listing}</ul>"
            f"<form method='post' action='/oauth/authorize' id='consent'>{hidden}"
            "<button type='submit' name='decision' value='allow' id='authorize'>Connect app"
            "</button> "
            "<button type='submit' name='decision' value='deny' id='cancel'>Cancel</button>"
            "</form>"
        )
        return 200, _page(f"Connect {app_name}", body)

    def authorize_submit(self, form):
        client_id, redirect_uri = form.get("client_id", ""), form.get("redirect_uri", "")
        scope, optional = _split(form.get("scope", "")), _split(form.get("optional_scope", ""))
        with self._lock:
            problem = self._install_problem(client_id, redirect_uri, scope, optional)
            if problem:
                return 400, _page("Couldn't complete the connection", f"<p>{_e(problem)}</p>")
            answer = {"state": form["state"]} if "state" in form else {}
            error = "access_denied" if form.get("decision") == "deny" else self.authorize_error
            if error:
                answer = {
                    "error": error,
                    "error_description": "The user did not authorize the app.",
                    **answer,
                }
            else:
                granted = list(scope)
                granted += [
                    s for s in optional if self.account_scopes is None or s in self.account_scopes
                ]
                grant = _Grant(client_id, self._portal(), sorted(set(granted)))
                code = str(uuid.uuid4())
                self._codes[code] = _Code(grant, redirect_uri, time.time() + self.code_lifetime)
                answer = {"code": code, **answer}
        return 302, RawAnswer(headers={"Location": _with_query(redirect_uri, answer)})

    # --- the token endpoints -------------------------------------------------------------------------
    def token(self, form):
        with self._lock:
            self._client(form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                return 200, self._exchange(form)
            if grant_type == "refresh_token":
                return 200, self._refresh(form)
            raise _oauth_error(
                400, "BAD_GRANT_TYPE", "unsupported_grant_type", "missing or unknown grant type"
            )

    def _exchange(self, form):
        self.exchanges += 1
        code = self._codes.get(form.get("code", ""))
        if code is None or code.used or code.expires_at < time.time():
            raise _oauth_error(
                400, "BAD_AUTH_CODE", "invalid_grant", "missing or unknown auth code"
            )
        code.used = True  # single use, even when the rest of the request is wrong
        if form.get("redirect_uri") != code.redirect_uri:
            raise _oauth_error(
                400,
                "BAD_REDIRECT_URI",
                "invalid_grant",
                "redirect_uri does not match the one the code was issued for",
            )
        if code.grant.client_id != form.get("client_id"):
            raise _oauth_error(
                400, "BAD_AUTH_CODE", "invalid_grant", "missing or unknown auth code"
            )
        return self._token_answer(self._new_refresh(code.grant), code.grant)

    def _refresh(self, form):
        self.refreshes += 1
        refresh = form.get("refresh_token", "")
        grant = self._grants.get(refresh)
        if self.refuse_refresh or grant is None or grant.revoked:
            raise _oauth_error(
                400, "BAD_REFRESH_TOKEN", "invalid_grant", "missing or invalid refresh token"
            )
        if grant.client_id != form.get("client_id"):
            raise _oauth_error(
                400, "BAD_REFRESH_TOKEN", "invalid_grant", "missing or invalid refresh token"
            )
        if self.rotate_refresh_tokens:
            del self._grants[refresh]
            refresh = self._new_refresh(grant)
        return self._token_answer(refresh, grant)

    def introspect(self, form):
        with self._lock:
            app = self._client(form)
            self.introspections += 1
            token = form.get("token", "")
            now = time.time()
            access = self._access.get(token)
            if access is not None:
                grant = self._grants[access.refresh_token]
                if grant.revoked or access.expires_at <= now or grant.client_id != app.client_id:
                    return 200, {"active": False}
                return 200, {
                    "token_use": "access_token",
                    "active": True,
                    "token": token,
                    "hub_id": grant.hub_id,
                    "user_id": FAKE_OAUTH_USER_ID,
                    "client_id": app.client_id,
                    "app_id": app.app_id,
                    "scopes": list(grant.scopes),
                    "signed_access_token": {
                        "appId": app.app_id,
                        "expiresAt": int(access.expires_at * 1000),
                        "hubId": grant.hub_id,
                        "hublet": "na1",
                        "installingUserId": FAKE_OAUTH_USER_ID,
                        "isPrivateDistribution": True,
                        "isServiceAccount": False,
                        "isUserLevel": False,
                        "scopes": " ".join(grant.scopes),
                        "userId": FAKE_OAUTH_USER_ID,
                    },
                    "expires_in": max(int(access.expires_at - now), 0),
                    "is_private_distribution": True,
                    "token_type": "bearer",
                    "user": FAKE_OAUTH_USER,
                    "hub_domain": f"{grant.hub_id}.hubspot.com",
                }
            grant = self._grants.get(token)
            if grant is None or grant.revoked or grant.client_id != app.client_id:
                return 200, {"active": False}
            return 200, {
                "token_use": "refresh_token",
                "active": True,
                "token": token,
                "hub_id": grant.hub_id,
                "user_id": FAKE_OAUTH_USER_ID,
                "client_id": app.client_id,
                "scopes": list(grant.scopes),
                "token_type": "refresh",
                "user": FAKE_OAUTH_USER,
                "hub_domain": f"{grant.hub_id}.hubspot.com",
            }

    def revoke(self, form):
        """RFC 7009: an unknown token is not an error; a refresh token takes its access tokens."""
        with self._lock:
            app = self._client(form)
            self.revocations += 1
            token = form.get("token", "")
            grant = self._grants.get(token)
            if grant is not None and grant.client_id == app.client_id:
                self._revoke_grant(grant)
            elif token in self._access:
                self._access[token].expires_at = min(self._access[token].expires_at, time.time())
                self._fake.revoke_token(token)
        return 200, None


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _page(title, body) -> RawAnswer:
    text = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<link rel='icon' href='data:,'>"  # no /favicon.ico request from the browser
        f"<title>{_e(title)}</title></head><body>{body}</body></html>"
    )
    return RawAnswer(data=text.encode())


def _with_query(url, params) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- routes ------------------------------------------------------------------------------------------
_VERSION = r"/oauth/(?P<version>20\d\d-\d\d)"


def routes():
    """The OAuth routes, for server.py's route table (form-encoded bodies, HTML answers)."""
    from .server import route as _route

    def form_route(method, pattern, handler):
        route = _route(method, pattern, handler)
        route.form = True  # server.py parses the body as a form, not JSON
        return route

    return [
        _route("GET", "/oauth/authorize", lambda f, c: f.oauth.authorize_page(c.query)),
        form_route("POST", "/oauth/authorize", lambda f, c: f.oauth.authorize_submit(c.body)),
        form_route("POST", _VERSION + "/token", lambda f, c: f.oauth.token(c.body)),
        form_route("POST", _VERSION + "/token/introspect", lambda f, c: f.oauth.introspect(c.body)),
        form_route("POST", _VERSION + "/token/revoke", lambda f, c: f.oauth.revoke(c.body)),
    ]


# --- server.py's extension point (EXTRA_ROUTE_MODULES) ------------------------------------------
def register_routes(table):
    table.extend(routes())


def reset(fake):
    if getattr(fake, "oauth", None) is None:
        fake.oauth = FakeOAuth(fake)
    fake.oauth.reset()
