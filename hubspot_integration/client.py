"""The only module that imports the HubSpot SDK.

Every call goes through one table, `OPERATIONS`: an operation's method, its path on HubSpot's
date-based API (`{version}` is `HUBSPOT_API_VERSION`), the SDK package whose generated `ApiClient`
sends it and whose models read the answer, and, for the few endpoints HubSpot has no date-based
version of, the date their support ends. `hubspot-api-client` 12's generated API classes call the
numbered paths (v3/v4) that HubSpot stops supporting in 2027, so the panel does not use them; it
uses the same generated `ApiClient` (auth, pooling, serialisation, models, exceptions) with the
paths from this table.

Every call gets a timeout and the shared rate limiter, and every SDK and transport error becomes
one of the project's own errors (`errors.py`). Callers get plain dicts in HubSpot's JSON shape,
never SDK model objects, so nothing above this module depends on the SDK.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import urllib3
from django.utils.translation import gettext as _
from urllib3.util.retry import Retry

from . import errors, metrics
from .conf import app_settings
from .ratelimit import RateLimiter

logger = logging.getLogger(__name__)

OBJECT_TYPES = ("contacts", "tickets", "deals", "companies")


# --- the operation table -----------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # `{version}` is the date-based API version; other `{names}` are path parameters
    package: str  # the SDK package whose ApiClient sends it and whose models read the answer
    models: dict[int, str] = field(default_factory=dict)  # status -> model ("object": raw JSON)
    search: bool = False  # the search API has its own, lower limit
    auth: bool = True
    host: str = "api"  # "api" (HUBSPOT_API_BASE_URL) or "forms" (HUBSPOT_FORMS_BASE_URL)
    form_encoded: bool = False  # OAuth's token endpoints take a form, not JSON
    legacy_until: str = ""  # set only for endpoints with no date-based equivalent
    purpose: str = ""  # what the panel uses it for, in the connection check's words


_OBJ = "/crm/objects/{version}/{objectType}"
_ASSOC = _OBJ + "/{objectId}/associations"
_JSON = {200: "object"}
_CONV = "conversations.visitor_identification"

OPERATIONS: dict[str, Operation] = {
    # CRM objects (contacts, tickets, deals, companies), one generic set of paths.
    "objects.create": Operation("POST", _OBJ, "crm.objects", {201: "SimplePublicObject"}),
    "objects.get": Operation(
        "GET", _OBJ + "/{objectId}", "crm.objects", {200: "SimplePublicObjectWithAssociations"}
    ),
    "objects.update": Operation(
        "PATCH", _OBJ + "/{objectId}", "crm.objects", {200: "SimplePublicObject"}
    ),
    "objects.archive": Operation("DELETE", _OBJ + "/{objectId}", "crm.objects"),
    "objects.list": Operation(
        "GET",
        _OBJ,
        "crm.objects",
        {200: "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging"},
    ),
    "objects.search": Operation(
        "POST",
        _OBJ + "/search",
        "crm.objects",
        {200: "CollectionResponseWithTotalSimplePublicObjectForwardPaging"},
        search=True,
    ),
    "objects.batch_read": Operation(
        "POST",
        _OBJ + "/batch/read",
        "crm.objects",
        {200: "BatchResponseSimplePublicObject", 207: "BatchResponseSimplePublicObjectWithErrors"},
    ),
    "objects.batch_upsert": Operation(
        "POST",
        _OBJ + "/batch/upsert",
        "crm.objects",
        {
            200: "BatchResponseSimplePublicUpsertObject",
            207: "BatchResponseSimplePublicUpsertObjectWithErrors",
        },
    ),
    "objects.batch_create": Operation(
        "POST",
        _OBJ + "/batch/create",
        "crm.objects",
        {201: "BatchResponseSimplePublicObject", 207: "BatchResponseSimplePublicObjectWithErrors"},
    ),
    "objects.batch_update": Operation(
        "POST",
        _OBJ + "/batch/update",
        "crm.objects",
        {200: "BatchResponseSimplePublicObject", 207: "BatchResponseSimplePublicObjectWithErrors"},
    ),
    "objects.gdpr_delete": Operation("POST", _OBJ + "/gdpr-delete", "crm.objects"),
    "associations.create_default": Operation(
        "PUT",
        _ASSOC + "/default/{toObjectType}/{toObjectId}",
        "crm.associations.v4",
        {200: "BatchResponsePublicDefaultAssociation"},
    ),
    "associations.batch_default": Operation(
        "POST",
        "/crm/associations/{version}/{objectType}/{toObjectType}/batch/associate/default",
        "crm.associations.v4",
        {
            200: "BatchResponsePublicDefaultAssociation",
            207: "BatchResponsePublicDefaultAssociation",
        },
    ),
    "pipelines.list": Operation(
        "GET",
        "/crm/pipelines/{version}/{objectType}",
        "crm.pipelines",
        {200: "CollectionResponsePipelineNoPaging"},
    ),
    "properties.list": Operation(
        "GET",
        "/crm/properties/{version}/{objectType}",
        "crm.properties",
        {200: "CollectionResponsePropertyNoPaging"},
    ),
    "properties.get": Operation(
        "GET",
        "/crm/properties/{version}/{objectType}/{propertyName}",
        "crm.properties",
        {200: "ModelProperty"},
    ),
    "properties.create": Operation(
        "POST", "/crm/properties/{version}/{objectType}", "crm.properties", {201: "ModelProperty"}
    ),
    "owners.list": Operation(
        "GET",
        "/crm/owners/{version}",
        "crm.owners",
        {200: "CollectionResponsePublicOwnerForwardPaging"},
    ),
    # CRM imports (scope `crm.import`): a big CSV goes up in one multipart call (streamed by
    # `start_import`, not through the ApiClient, whose multipart reads the whole file), then
    # its state is polled and its row errors read page by page.
    "imports.start": Operation(
        "POST", "/crm/imports/{version}", "crm.imports", {200: "PublicImportResponse"}
    ),
    "imports.get": Operation(
        "GET", "/crm/imports/{version}/{importId}", "crm.imports", {200: "PublicImportResponse"}
    ),
    "imports.errors": Operation(
        "GET",
        "/crm/imports/{version}/{importId}/errors",
        "crm.imports",
        {200: "CollectionResponsePublicImportErrorForwardPaging"},
    ),
    "imports.list": Operation(
        "GET",
        "/crm/imports/{version}",
        "crm.imports",
        {200: "CollectionResponsePublicImportResponse"},
    ),
    # Account, usage, chat.
    "account.details": Operation("GET", "/account-info/{version}/details", "crm.objects", _JSON),
    "account.daily_usage": Operation(
        "GET", "/account-info/{version}/api-usage/daily/private-apps", "crm.objects", _JSON
    ),
    "visitor.token": Operation(
        "POST",
        "/visitor-identification/{version}/tokens/create",
        "conversations.visitor_identification",
        {200: "IdentificationTokenResponse"},
    ),
    # Conversations inbox (scope `conversations.read`). hubspot-api-client 12 has no package for
    # threads or messages (only visitor identification), so their answers are read as raw JSON;
    # the visitor-identification package's ApiClient sends them with the same auth.
    "conversations.threads": Operation(
        "GET", "/conversations/conversations/{version}/threads", _CONV, _JSON
    ),
    "conversations.messages": Operation(
        "GET", "/conversations/conversations/{version}/threads/{threadId}/messages", _CONV, _JSON
    ),
    "conversations.thread": Operation(
        "GET", "/conversations/conversations/{version}/threads/{threadId}", _CONV, _JSON
    ),
    # Replies and thread status (scope `conversations.write`).
    "conversations.send_message": Operation(
        "POST",
        "/conversations/conversations/{version}/threads/{threadId}/messages",
        _CONV,
        {200: "object", 201: "object"},
    ),
    "conversations.update_thread": Operation(
        "PATCH", "/conversations/conversations/{version}/threads/{threadId}", _CONV, _JSON
    ),
    # OAuth: form-encoded, authenticated by the app's client ID and secret in the form.
    "oauth.token": Operation(
        "POST", "/oauth/{version}/token", "oauth", _JSON, auth=False, form_encoded=True
    ),
    "oauth.introspect": Operation(
        "POST", "/oauth/{version}/token/introspect", "oauth", _JSON, auth=False, form_encoded=True
    ),
    "oauth.revoke": Operation(
        "POST",
        "/oauth/{version}/token/revoke",
        "oauth",
        {200: "object", 204: "object"},
        auth=False,
        form_encoded=True,
    ),
    # Legacy: HubSpot publishes no date-based version of these (checked 2026-12-01).
    "forms.submit": Operation(
        "POST",
        "/submissions/v3/integration/submit/{portalId}/{formGuid}",
        "marketing.forms",
        _JSON,
        auth=False,
        host="forms",
        legacy_until="2027-09",
        purpose="support and contact form submissions",
    ),
    "forms.list": Operation(
        "GET",
        "/marketing/v3/forms",
        "marketing.forms",
        {200: "CollectionResponseFormDefinitionBaseForwardPaging"},
        legacy_until="2027-09",
        purpose="the forms list (only a 2026-09-beta exists)",
    ),
    "forms.submissions": Operation(
        "GET",
        "/form-integrations/v1/submissions/forms/{formGuid}",
        "marketing.forms",
        _JSON,
        legacy_until="2027-09",
        purpose="form submissions on the dashboard",
    ),
    "analytics.report": Operation(
        "GET",
        "/analytics/v2/reports/{breakdown}/total",
        "marketing.forms",
        _JSON,
        legacy_until="2027-09",
        purpose="traffic and form-view analytics on the dashboard",
    ),
    "private_app.token_info": Operation(
        "POST",
        "/oauth/v2/private-apps/get/access-token-info",
        "oauth",
        _JSON,
        auth=False,
        legacy_until="2027-09",
        purpose="reading a legacy private-app token's scopes",
    ),
}


def operation_path(name: str, version: str | None = None) -> str:
    """The path an operation is sent to, with the API version filled in."""
    op = OPERATIONS[name]
    return op.path.replace("{version}", version or app_settings.API_VERSION)


def legacy_operations() -> dict[str, Operation]:
    return {name: op for name, op in OPERATIONS.items() if op.legacy_until}


# --- the client --------------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    data: Any
    headers: dict = field(default_factory=dict)
    elapsed_ms: float = 0.0


class _Body:
    """What `ApiClient.deserialize` reads: the answer's text, already checked to be JSON."""

    def __init__(self, text: str):
        self.data = text


class MultipartBody:
    """A multipart/form-data body read in blocks: small parts held as bytes, then one file part
    read from its file object as urllib3 asks for more, so memory does not grow with the file.
    Its length is known up front (HubSpot gets a Content-Length, not chunks), and it can be
    rewound, so urllib3 may resend it after a connection failure."""

    def __init__(self, parts: list[tuple[str, str | None, str, bytes]], file_part: tuple):
        self.boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        name, file_name, file_type, self._file, self._file_size = file_part
        self._start = self._file.tell()
        head = b"".join(self._head(*part[:3]) + part[3] + b"\r\n" for part in parts)
        self._head_bytes = head + self._head(name, file_name, file_type)
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._pos = 0

    def _head(self, name: str, file_name: str | None, content_type: str) -> bytes:
        disposition = f'form-data; name="{name}"'
        if file_name is not None:
            disposition += f'; filename="{file_name.replace(chr(34), "")}"'
        return (
            f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()

    def __len__(self) -> int:
        return len(self._head_bytes) + self._file_size + len(self._tail)

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        self._pos = pos if whence == 0 else len(self) + pos if whence == 2 else self._pos + pos
        into_file = min(max(self._pos - len(self._head_bytes), 0), self._file_size)
        self._file.seek(self._start + into_file)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        size = len(self) - self._pos if size is None or size < 0 else size
        out = b""
        head_end, file_end = len(self._head_bytes), len(self._head_bytes) + self._file_size
        if self._pos < head_end and size > 0:
            out += self._head_bytes[self._pos : self._pos + size]
        if head_end <= self._pos + len(out) < file_end and len(out) < size:
            wanted = min(size - len(out), file_end - self._pos - len(out))
            out += self._file.read(wanted)
        at = self._pos + len(out)
        if file_end <= at and len(out) < size:
            out += self._tail[at - file_end : at - file_end + size - len(out)]
        self._pos += len(out)
        return out


TokenSource = Callable[[], str]


def _retry_policy() -> Retry:
    # Only connection failures are retried here (the request never left, so a retried POST cannot
    # duplicate). Read errors, 5xx and 429 surface at once: the outbox decides about writes.
    return Retry(
        total=2,
        connect=2,
        read=0,
        status=0,
        other=0,
        redirect=0,
        backoff_factor=0.2,
        raise_on_status=False,
    )


class HubSpotClient:
    """A HubSpot account as the panel uses it. Thread-safe; one instance per credential is reused.

    `token` is the bearer value, or a callable that returns the current one (an OAuth connection
    refreshes its access token behind it). A callable may also have `refresh(stale)`, which the
    client calls once after a 401 before giving up.
    """

    def __init__(
        self,
        token: str | TokenSource,
        *,
        portal_id: str = "",
        base_url: str | None = None,
        forms_base_url: str | None = None,
        timeout: tuple[float, float] | None = None,
        calls_per_10s: int = 100,
        max_wait: float = 2.0,
        version: str | None = None,
    ):
        if not token:
            raise errors.NotConfigured("No HubSpot credential is stored.")
        self._token_source: TokenSource = token if callable(token) else (lambda: token)
        self.portal_id = portal_id
        self.base_url = (base_url or app_settings.API_BASE_URL).rstrip("/")
        self.forms_base_url = (forms_base_url or app_settings.FORMS_BASE_URL).rstrip("/")
        self.timeout = timeout or app_settings.TIMEOUT
        self.version = version or app_settings.API_VERSION
        self.max_wait = max_wait
        self.limiter = RateLimiter(scope=portal_id or "default", calls_per_10s=calls_per_10s)
        self._api_clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token, not even in a debugger or a traceback
        return f"<HubSpotClient portal={self.portal_id or '?'} base={self.base_url}>"

    # --- plumbing ------------------------------------------------------------------------------
    def _api_client(self, package: str, host: str):
        """One generated ApiClient per SDK package and host: each owns a connection pool."""
        key = (package, host)
        with self._lock:
            api_client = self._api_clients.get(key)
            if api_client is None:
                module = importlib.import_module(f"hubspot.{package}")
                config = module.Configuration(
                    host=self.forms_base_url if host == "forms" else self.base_url
                )
                config.retries = _retry_policy()
                api_client = module.ApiClient(configuration=config)
                api_client.user_agent = "skypanel hubspot-api-client-python"
                self._api_clients[key] = api_client
            return api_client

    def request(
        self,
        name: str,
        *,
        params: dict | None = None,
        query: dict | list | None = None,
        body: Any = None,
        form: dict | None = None,
        max_wait: float | None = None,
        page_render: bool = False,
    ) -> Response:
        """Send operation `name` from OPERATIONS and read its answer with the SDK's models.

        `page_render`: the call is made for a page a customer is waiting on, and spends from the
        page renders' share of the rate window (ratelimit.py) instead of waiting for room."""
        op = OPERATIONS[name]
        try:
            return self._send(
                name, op, params, query, body, form, max_wait, retry_auth=True, render=page_render
            )
        except errors.HubSpotError as err:
            if isinstance(err, errors.RateLimited) and err.policy != "LOCAL":
                # Every process backs off, not only the one that was told.
                self.limiter.block_for(err.retry_after or 10.0)
            raise

    def _send(self, name, op, params, query, body, form, max_wait, *, retry_auth, render=False):
        api_client = self._api_client(op.package, op.host)
        headers = {"Accept": "application/json"}
        headers["Content-Type"] = (
            "application/x-www-form-urlencoded" if op.form_encoded else "application/json"
        )
        token = self._token_source() if op.auth else ""
        request_auth = (
            {"in": "header", "key": "Authorization", "value": f"Bearer {token}", "type": "oauth2"}
            if op.auth
            else None
        )
        query_pairs = list(query.items()) if isinstance(query, dict) else list(query or [])
        self.limiter.acquire(
            search=op.search,
            max_wait=self.max_wait if max_wait is None else max_wait,
            render=render,
        )
        started = time.monotonic()
        with metrics.hubspot_call(name) as outcome:
            try:
                if isinstance(body, MultipartBody):
                    raw = self._stream(api_client, op, params, body, request_auth)
                else:
                    raw = api_client.call_api(
                        op.path,
                        op.method,
                        path_params={"version": self.version, **(params or {})},
                        query_params=query_pairs,
                        header_params=headers,
                        body=body,
                        post_params=list(form.items()) if form else None,
                        response_types_map={},
                        auth_settings=["oauth2"] if op.auth else [],
                        _return_http_data_only=True,
                        _preload_content=False,
                        _request_timeout=self.timeout,
                        _request_auth=request_auth,
                    )
                status, headers_in, payload = raw.status, dict(raw.headers), raw.data
                raw.release_conn()
                outcome["status"] = status
            except Exception as err:
                mapped = translate(err, timeout=self.timeout)
                outcome["status"] = _status_label(mapped)
                if mapped is None:
                    raise
                if isinstance(mapped, errors.RateLimited):
                    metrics.rate_limited(mapped.policy)
                failure = (err, mapped)
            else:
                failure = None
        if failure:
            err, mapped = failure
            self._learn_limits(getattr(err, "headers", None))
            refresh = getattr(self._token_source, "refresh", None)
            if isinstance(mapped, errors.AuthError) and retry_auth and refresh and op.auth:
                # An access token can lapse between our expiry check and HubSpot's: a 401 means
                # nothing was done, so refresh once and send again.
                refresh(token)
                return self._send(
                    name, op, params, query, body, form, max_wait, retry_auth=False, render=render
                )
            raise mapped from err
        elapsed = (time.monotonic() - started) * 1000
        self._learn_limits(headers_in)
        return Response(
            status=status,
            data=self._read(api_client, op, status, payload),
            headers={k.lower(): v for k, v in headers_in.items()},
            elapsed_ms=elapsed,
        )

    def _stream(self, api_client, op: Operation, params, body: MultipartBody, request_auth):
        """Send a multipart body through the package's own connection pool, read as it goes
        (the generated multipart encoder would hold the whole file in memory). A refusal is
        raised as the package's ApiException, so it is mapped like every other answer."""
        path = op.path.replace("{version}", self.version)
        for name, value in (params or {}).items():
            path = path.replace("{" + name + "}", urllib.parse.quote(str(value), safe=""))
        headers = {
            "Accept": "application/json",
            "Content-Type": body.content_type,
            "Content-Length": str(len(body)),
            "User-Agent": api_client.user_agent,
        }
        if request_auth:
            headers[request_auth["key"]] = request_auth["value"]
        rest = importlib.import_module(f"hubspot.{op.package}.rest")
        answer = api_client.rest_client.pool_manager.request(
            op.method,
            api_client.configuration.host + path,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1]),
            preload_content=True,
        )
        if not 200 <= answer.status <= 299:
            exceptions = importlib.import_module(f"hubspot.{op.package}.exceptions")
            raise exceptions.ApiException(http_resp=rest.RESTResponse(answer))
        return answer

    @staticmethod
    def _read(api_client, op: Operation, status: int, payload: bytes):
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload or ""
        if not text.strip():
            return None
        try:
            data = json.loads(text)
        except ValueError:
            # A captive portal or a proxy's error page answers 200 with HTML: not HubSpot.
            raise errors.Unavailable(
                _(
                    "HubSpot answered with something that is not JSON (a proxy or captive portal "
                    "in the way?)."
                ),
                reason="bad_answer",
                status=status,
            ) from None
        model = op.models.get(status)
        if model in (None, "object"):
            return data
        try:
            return plain(api_client.deserialize(_Body(text), model))
        except (ValueError, TypeError, AttributeError, KeyError) as err:
            raise errors.Unavailable(
                _("HubSpot's answer did not have the shape of %(model)s.") % {"model": model},
                reason="bad_answer",
                status=status,
            ) from err

    def _learn_limits(self, headers) -> None:
        if not headers:
            return
        lowered = {str(k).lower(): v for k, v in dict(headers).items()}
        top = lowered.get("x-hubspot-ratelimit-max")
        interval = lowered.get("x-hubspot-ratelimit-interval-milliseconds")
        if top:
            try:
                self.limiter.learn(int(top), int(interval) if interval else None)
            except ValueError:
                pass

    # --- account -------------------------------------------------------------------------------
    def account_details(self) -> Response:
        return self.request("account.details")

    def daily_usage(self) -> dict:
        return self.request("account.daily_usage").data or {}

    def token_info(self) -> dict:
        """A legacy private-app token's scopes (HubSpot answers this for private apps only)."""
        return (
            self.request("private_app.token_info", body={"tokenKey": self._token_source()}).data
            or {}
        )

    # --- CRM objects ---------------------------------------------------------------------------
    def create_object(
        self, object_type: str, properties: dict, associations: list | None = None
    ) -> dict:
        body: dict[str, Any] = {"properties": _stringify(properties)}
        body["associations"] = associations or []
        return _object(self.request("objects.create", params=_typed(object_type), body=body))

    def get_object(
        self,
        object_type: str,
        object_id: str,
        *,
        properties: list[str] | None = None,
        id_property: str | None = None,
        associations: list[str] | None = None,
    ) -> dict:
        query = []
        if properties:
            query.append(("properties", ",".join(properties)))
        if id_property:
            query.append(("idProperty", id_property))
        if associations:
            query.append(("associations", ",".join(associations)))
        params = {**_typed(object_type), "objectId": str(object_id)}
        return _object(self.request("objects.get", params=params, query=query))

    def update_object(self, object_type: str, object_id: str, properties: dict) -> dict:
        params = {**_typed(object_type), "objectId": str(object_id)}
        body = {"properties": _stringify(properties)}
        return _object(self.request("objects.update", params=params, body=body))

    def archive_object(self, object_type: str, object_id: str) -> None:
        self.request("objects.archive", params={**_typed(object_type), "objectId": str(object_id)})

    def list_objects(
        self,
        object_type: str,
        *,
        limit: int = 20,
        after: str | None = None,
        properties: list[str] | None = None,
    ) -> dict:
        query: list[tuple[str, Any]] = [("limit", limit)]
        if after:
            query.append(("after", after))
        if properties:
            query.append(("properties", ",".join(properties)))
        return _page(self.request("objects.list", params=_typed(object_type), query=query))

    def search_objects(
        self,
        object_type: str,
        *,
        filter_groups: list | None = None,
        query: str | None = None,
        sorts: list | None = None,
        properties: list[str] | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> dict:
        body: dict[str, Any] = {"limit": limit, "filterGroups": filter_groups or []}
        if query:
            body["query"] = query
        if sorts:
            body["sorts"] = sorts
        if properties:
            body["properties"] = properties
        if after:
            body["after"] = after
        response = self.request("objects.search", params=_typed(object_type), body=body)
        result = _page(response)
        result["total"] = (response.data or {}).get("total") or 0
        return result

    def batch_upsert(self, object_type: str, inputs: list[dict], id_property: str) -> dict:
        """Each input is `{"id", "properties"}`, optionally `"trace"`: sent as HubSpot's
        `objectWriteTraceId`, which asks for a refused input to be reported on its own (207)."""
        body = {
            "inputs": [
                _traced(
                    item,
                    {
                        "id": item["id"],
                        "idProperty": id_property,
                        "properties": _stringify(item["properties"]),
                    },
                )
                for item in inputs
            ]
        }
        data = self.request("objects.batch_upsert", params=_typed(object_type), body=body).data
        data = data or {}
        return {
            "results": [
                {**_object_from_dict(r), "new": bool(r.get("new"))}
                for r in data.get("results") or []
            ],
            "errors": list(data.get("errors") or []),
        }

    def batch_create(self, object_type: str, inputs: list[dict]) -> dict:
        """Each input is `{"properties"}`, optionally `"associations"` and `"trace"`."""
        body = {
            "inputs": [
                _traced(
                    item,
                    {
                        "properties": _stringify(item["properties"]),
                        "associations": item.get("associations") or [],
                    },
                )
                for item in inputs
            ]
        }
        data = self.request("objects.batch_create", params=_typed(object_type), body=body).data
        return _batch_answer(data)

    def batch_read(
        self, object_type: str, ids: list[str], *, id_property: str | None = None, properties=None
    ) -> list[dict]:
        body: dict[str, Any] = {
            "inputs": [{"id": i} for i in ids],
            "properties": properties or [],
            "propertiesWithHistory": [],
        }
        if id_property:
            body["idProperty"] = id_property
        data = self.request("objects.batch_read", params=_typed(object_type), body=body).data
        return [_object_from_dict(r) for r in (data or {}).get("results") or []]

    def batch_update(self, object_type: str, inputs: list[dict]) -> dict:
        body = {
            "inputs": [
                _traced(item, {"id": str(item["id"]), "properties": _stringify(item["properties"])})
                for item in inputs
            ]
        }
        data = self.request("objects.batch_update", params=_typed(object_type), body=body).data
        return _batch_answer(data)

    def gdpr_delete(self, object_type: str, object_id: str, *, id_property: str = "") -> None:
        body = {"objectId": str(object_id)}
        if id_property:
            body["idProperty"] = id_property
        self.request("objects.gdpr_delete", params=_typed(object_type), body=body)

    # --- CRM imports ---------------------------------------------------------------------------
    def start_import(self, request: dict, file_name: str, source, size: int) -> dict:
        """Upload a CSV to HubSpot's imports API: `request` is the importRequest JSON, `source` a
        binary file object of `size` bytes, streamed (never read whole)."""
        body = MultipartBody(
            [("importRequest", None, "application/json", json.dumps(request).encode())],
            ("files", file_name, "text/csv", source, size),
        )
        return self.request("imports.start", body=body).data or {}

    def get_import(self, import_id: str) -> dict:
        return self.request("imports.get", params={"importId": str(import_id)}).data or {}

    def import_errors(self, import_id: str, *, after: str | None = None, limit: int = 100) -> dict:
        query: list[tuple[str, Any]] = [("limit", limit)]
        if after:
            query.append(("after", after))
        response = self.request("imports.errors", params={"importId": str(import_id)}, query=query)
        data = response.data or {}
        next_after = ((data.get("paging") or {}).get("next") or {}).get("after")
        return {"results": list(data.get("results") or []), "next_after": next_after}

    def list_imports(self, *, limit: int = 1) -> list[dict]:
        data = self.request("imports.list", query=[("limit", limit)]).data or {}
        return list(data.get("results") or [])

    # --- pipelines, properties, owners, associations -------------------------------------------
    def pipelines(self, object_type: str) -> list[dict]:
        data = self.request("pipelines.list", params={"objectType": object_type}).data
        return list((data or {}).get("results") or [])

    def list_properties(self, object_type: str) -> list[dict]:
        data = self.request("properties.list", params={"objectType": object_type}).data
        return list((data or {}).get("results") or [])

    def get_property(self, object_type: str, name: str) -> dict:
        params = {"objectType": object_type, "propertyName": name}
        return self.request("properties.get", params=params).data or {}

    def create_property(self, object_type: str, definition: dict) -> dict:
        params = {"objectType": object_type}
        return self.request("properties.create", params=params, body=definition).data or {}

    def owners(self, *, email: str | None = None, limit: int = 100) -> list[dict]:
        query: list[tuple[str, Any]] = [("limit", limit)]
        if email:
            query.append(("email", email))
        data = self.request("owners.list", query=query).data
        return list((data or {}).get("results") or [])

    def associate_default(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        params = {
            "objectType": from_type,
            "objectId": str(from_id),
            "toObjectType": to_type,
            "toObjectId": str(to_id),
        }
        self.request("associations.create_default", params=params)

    def associate_default_batch(
        self, from_type: str, to_type: str, pairs: list[tuple[str, str]]
    ) -> dict:
        """Default (unlabelled) links for (from ID, to ID) pairs in one call; the answer's
        `errors` name the pairs HubSpot refused."""
        params = {**_typed(from_type), "toObjectType": _typed(to_type)["objectType"]}
        body = {"inputs": [{"from": {"id": str(a)}, "to": {"id": str(b)}} for a, b in pairs]}
        data = self.request("associations.batch_default", params=params, body=body).data or {}
        return {
            "results": list(data.get("results") or []),
            "errors": list(data.get("errors") or []),
        }

    # --- conversations and forms ---------------------------------------------------------------
    def visitor_token(
        self, email: str, first_name: str = "", last_name: str = "", *, page_render: bool = False
    ) -> str:
        body = {"email": email}
        if first_name:
            body["firstName"] = first_name
        if last_name:
            body["lastName"] = last_name
        data = self.request("visitor.token", body=body, page_render=page_render).data or {}
        token = data.get("token")
        if not token:
            raise errors.Unavailable(_("HubSpot answered without an identification token."))
        return token

    def threads(
        self,
        *,
        ticket_id: str = "",
        contact_id: str = "",
        limit: int = 20,
        after: str | None = None,
    ) -> dict:
        """One page of the inbox threads associated with a ticket or a contact (`results`,
        `next_after`)."""
        query: list[tuple[str, Any]] = [("limit", limit)]
        if ticket_id:
            query.append(("associatedTicketId", str(ticket_id)))
        if contact_id:
            query.append(("associatedContactId", str(contact_id)))
        if after:
            query.append(("after", after))
        return _page(self.request("conversations.threads", query=query))

    def thread_messages(self, thread_id: str, *, limit: int = 50, after: str | None = None) -> dict:
        """One page of a thread's messages, comments and system events, oldest first."""
        query: list[tuple[str, Any]] = [("limit", limit)]
        if after:
            query.append(("after", after))
        params = {"threadId": str(thread_id)}
        return _page(self.request("conversations.messages", params=params, query=query))

    def thread(self, thread_id: str) -> dict:
        params = {"threadId": str(thread_id)}
        return self.request("conversations.thread", params=params).data or {}

    def send_message(self, thread_id: str, body: dict) -> dict:
        """A message (type MESSAGE: delivered to the customer's channel) on a thread."""
        params = {"threadId": str(thread_id)}
        return self.request("conversations.send_message", params=params, body=body).data or {}

    def update_thread(self, thread_id: str, status: str) -> dict:
        """Close or reopen a thread (`status` CLOSED or OPEN)."""
        params = {"threadId": str(thread_id)}
        body = {"status": status}
        return self.request("conversations.update_thread", params=params, body=body).data or {}

    def submit_form(self, portal_id: str, form_guid: str, body: dict) -> dict:
        params = {"portalId": str(portal_id), "formGuid": str(form_guid)}
        return self.request("forms.submit", params=params, body=body).data or {}

    def forms(self, *, limit: int = 100, after: str | None = None) -> dict:
        query: list[tuple[str, Any]] = [("limit", limit)]
        if after:
            query.append(("after", after))
        return _page(self.request("forms.list", query=query))

    def form_submissions(
        self, form_guid: str, *, limit: int = 50, after: str | None = None
    ) -> dict:
        """One page of a form's submissions (legacy v1 API, scope `forms`)."""
        query: dict[str, Any] = {"limit": limit}
        if after:
            query["after"] = after
        data = self.request("forms.submissions", params={"formGuid": form_guid}, query=query)
        data = data.data or {}
        next_after = ((data.get("paging") or {}).get("next") or {}).get("after")
        return {"results": data.get("results") or [], "next_after": next_after}

    def analytics_report(self, breakdown: str, start: str, end: str) -> dict:
        """`breakdown` is "totals" or an object type such as "forms"; dates are YYYYMMDD."""
        response = self.request(
            "analytics.report", params={"breakdown": breakdown}, query={"start": start, "end": end}
        )
        return response.data or {}


# --- OAuth's token endpoints (no bearer: the app's client ID and secret are in the form) ---------
class OAuthEndpoints:
    """HubSpot's date-based OAuth token, introspection and revocation endpoints."""

    def __init__(self, *, base_url: str | None = None, timeout=None):
        # The client needs some token to exist; these operations never send it.
        self._client = HubSpotClient("-", base_url=base_url, timeout=timeout, portal_id="oauth")

    def token(self, form: dict) -> dict:
        return self._client.request("oauth.token", form=form, max_wait=5.0).data or {}

    def introspect(self, form: dict) -> dict:
        return self._client.request("oauth.introspect", form=form, max_wait=5.0).data or {}

    def revoke(self, form: dict) -> None:
        self._client.request("oauth.revoke", form=form, max_wait=5.0)


# --- translating errors ----------------------------------------------------------------------------
def _status_label(mapped: errors.HubSpotError | None) -> str:
    """The `status` a failed call is counted under: HubSpot's HTTP status when it answered,
    else what went wrong on the way (timeout, dns, unreachable, dropped)."""
    if mapped is None:
        return "error"
    if mapped.status:
        return str(mapped.status)
    return getattr(mapped, "reason", "") or mapped.kind


def _is_sdk_api_exception(err: Exception) -> bool:
    # Each generated SDK package has its own ApiException; their only common base is Exception.
    return type(err).__module__.startswith("hubspot.") and hasattr(err, "status")


def translate(err: Exception, *, timeout=None) -> errors.HubSpotError | None:
    """Map an SDK or urllib3 exception onto errors.py; None for anything else (a bug: re-raise)."""
    if isinstance(err, errors.HubSpotError):
        return err
    if _is_sdk_api_exception(err):
        return _from_api_exception(err)
    if isinstance(err, urllib3.exceptions.MaxRetryError):
        return _from_transport(err.reason or err, timeout)
    if isinstance(err, urllib3.exceptions.HTTPError):
        return _from_transport(err, timeout)
    return None


def _from_transport(err: Exception, timeout) -> errors.Unavailable:
    read_timeout = timeout[1] if timeout else None
    if isinstance(err, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        if read_timeout:
            text = _("HubSpot did not answer within %(seconds)s s (timeout).") % {
                "seconds": f"{read_timeout:g}"
            }
        else:
            text = _("HubSpot did not answer (timeout).")
        return errors.Unavailable(text, reason="timeout")
    if isinstance(err, urllib3.exceptions.NameResolutionError):
        return errors.Unavailable(
            _("The HubSpot host name could not be resolved (DNS failure)."), reason="dns"
        )
    if isinstance(err, urllib3.exceptions.NewConnectionError):
        return errors.Unavailable(
            _("HubSpot's host could not be reached (connection refused or no route)."),
            reason="unreachable",
        )
    # NewConnectionError subclasses ConnectTimeoutError, so it is tested first (above).
    if isinstance(err, urllib3.exceptions.ConnectTimeoutError):
        return errors.Unavailable(
            _("HubSpot did not accept the connection in time."), reason="timeout"
        )
    if isinstance(err, urllib3.exceptions.ProtocolError | ConnectionError):
        return errors.Unavailable(
            _("The connection to HubSpot dropped before an answer arrived."), reason="dropped"
        )
    return errors.Unavailable(
        _("HubSpot could not be reached (%(error)s).") % {"error": type(err).__name__}
    )


def _from_api_exception(err) -> errors.HubSpotError:
    status = int(getattr(err, "status", 0) or 0)
    headers = {k.lower(): v for k, v in dict(getattr(err, "headers", None) or {}).items()}
    body = _parse_body(getattr(err, "body", None))
    common = {
        "status": status,
        "category": str(body.get("category") or body.get("errorType") or ""),
        "correlation_id": str(body.get("correlationId") or ""),
        "details": body.get("errors") if isinstance(body.get("errors"), list) else [],
    }
    message = str(body.get("message") or "").strip()
    if status == 0:
        return errors.Unavailable(
            _("HubSpot could not be reached: %(reason)s.")
            % {"reason": getattr(err, "reason", "") or _("unknown error")},
            **common,
        )
    if status == 401:
        return errors.AuthError(**common)
    if status == 403:
        forbidden = errors.ForbiddenError(**common)
        if forbidden.missing_scopes:
            forbidden.message = _(
                "The credential lacks the scope(s) %(scopes)s (403): add them to the service key "
                "or app in HubSpot."
            ) % {"scopes": ", ".join(forbidden.missing_scopes)}
        elif message:
            # HubSpot's own words stay as HubSpot wrote them (English); the sentence around them
            # is the panel's.
            forbidden.message = _("HubSpot refused the call (403): %(message)s") % {
                "message": message
            }
        return forbidden
    if status == 404:
        return errors.NotFound(message or None, **common)
    if status == 409:
        return errors.Conflict(message or None, **common)
    if status == 429:
        retry_after = _retry_after(headers)
        policy = str(body.get("policyName") or "")
        code = f"429, {policy}" if policy else "429"
        if retry_after:
            text = _("HubSpot's rate limit was reached (%(code)s); retry in %(seconds)s s.") % {
                "code": code,
                "seconds": f"{retry_after:g}",
            }
        else:
            text = _("HubSpot's rate limit was reached (%(code)s); retry shortly.") % {"code": code}
        return errors.RateLimited(text, policy=policy, retry_after=retry_after, **common)
    if status >= 500:
        return errors.Unavailable(
            _("HubSpot answered with a server error (%(status)s).") % {"status": status},
            reason="server_error",
            **common,
        )
    return errors.ValidationFailed(
        _("HubSpot rejected the request (%(status)s): %(message)s")
        % {"status": status, "message": message}
        if message
        else None,
        **common,
    )


def _retry_after(headers: dict) -> float | None:
    value = headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
    interval = headers.get("x-hubspot-ratelimit-interval-milliseconds")
    if interval:
        try:
            return float(interval) / 1000
        except ValueError:
            pass
    return None


def _parse_body(raw) -> dict:
    if raw is None:
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --- shaping answers as plain dicts ----------------------------------------------------------------
def plain(value):
    """An SDK model as the JSON HubSpot sent: the model's own attribute map gives each key its
    wire name, so `properties` keys and every other map keep theirs."""
    if hasattr(value, "attribute_map") and hasattr(value, "openapi_types"):
        return {
            value.attribute_map[attr]: plain(getattr(value, attr)) for attr in value.openapi_types
        }
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _typed(object_type: str) -> dict:
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"unknown CRM object type {object_type!r}")
    return {"objectType": object_type}


def _traced(item: dict, body: dict) -> dict:
    if item.get("trace"):
        body["objectWriteTraceId"] = str(item["trace"])
    return body


def _batch_answer(data) -> dict:
    data = data or {}
    return {
        "results": [_object_from_dict(r) for r in data.get("results") or []],
        "errors": list(data.get("errors") or []),
    }


def _stringify(properties: dict) -> dict:
    # HubSpot takes every property value as a string; None clears a property.
    out = {}
    for key, value in properties.items():
        if value is None:
            out[key] = ""
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def _object_from_dict(data: dict) -> dict:
    shaped = dict(data)
    shaped["properties"] = dict(data.get("properties") or {})
    shaped.pop("propertiesWithHistory", None)
    return shaped


def _object(response: Response) -> dict:
    if not isinstance(response.data, dict):
        raise errors.Unavailable(_("HubSpot answered with an unexpected status and no object."))
    return _object_from_dict(response.data)


def _page(response: Response) -> dict:
    data = response.data
    if not isinstance(data, dict):
        raise errors.Unavailable(_("HubSpot answered with an unexpected status and no page."))
    items = data.get("results") or []
    paging = data.get("paging") or {}
    next_after = ((paging.get("next") or {}).get("after")) if paging else None
    # An item that is not an object is handed on as it came: the caller's reading decides.
    shaped = [
        _object_from_dict(item) if isinstance(item, dict) and "properties" in item else item
        for item in items
    ]
    return {"results": shaped, "next_after": next_after}
