"""The only module that imports the HubSpot SDK.

It builds the SDK client from the settings, applies a timeout and the shared rate limiter to every
call, and turns every SDK and transport error into the project's own errors (`errors.py`). Callers
get plain dicts in HubSpot's camelCase shape, never SDK model objects, so nothing above this module
depends on the SDK.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import hubspot
import urllib3
from django.conf import settings as django_settings
from hubspot.crm.contacts import ApiClient as _RawApiClient
from hubspot.crm.contacts import Configuration as _RawConfiguration
from urllib3.util.retry import Retry

from . import errors
from .ratelimit import RateLimiter

logger = logging.getLogger(__name__)

OBJECT_TYPES = ("contacts", "tickets", "deals", "companies")


@dataclass
class RawResponse:
    status: int
    data: Any
    headers: dict = field(default_factory=dict)
    elapsed_ms: float = 0.0


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
    """A HubSpot account as the panel uses it. Thread-safe; one instance per token is reused."""

    def __init__(
        self,
        token: str,
        *,
        portal_id: str = "",
        base_url: str | None = None,
        forms_base_url: str | None = None,
        timeout: tuple[float, float] | None = None,
        calls_per_10s: int = 100,
        max_wait: float = 2.0,
    ):
        if not token:
            raise errors.NotConfigured("No HubSpot private-app token is stored.")
        self._token = token
        self.portal_id = portal_id
        self.base_url = (base_url or django_settings.HUBSPOT_API_BASE_URL).rstrip("/")
        self.forms_base_url = (forms_base_url or django_settings.HUBSPOT_FORMS_BASE_URL).rstrip("/")
        self.timeout = timeout or tuple(django_settings.HUBSPOT_TIMEOUT)
        self.max_wait = max_wait
        self.limiter = RateLimiter(scope=portal_id or "default", calls_per_10s=calls_per_10s)
        self.sdk = hubspot.Client.create(
            access_token=token, host=self.base_url, base_url=self.base_url, retry=_retry_policy()
        )
        self._apis: dict[str, Any] = {}
        self._apis_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token, not even in a debugger or a traceback
        return f"<HubSpotClient portal={self.portal_id or '?'} base={self.base_url}>"

    # --- plumbing ------------------------------------------------------------------------------
    def _api(self, dotted: str):
        """SDK API objects are cached: each discovery access builds a new connection pool."""
        with self._apis_lock:
            api = self._apis.get(dotted)
            if api is None:
                api = self.sdk
                for part in dotted.split("."):
                    api = getattr(api, part)
                self._apis[dotted] = api
            return api

    def call(self, dotted: str, *args, search: bool = False, **kwargs):
        """Call an SDK method by its path below the client, e.g. "crm.contacts.basic_api.create"."""
        method = getattr(self._api(dotted.rsplit(".", 1)[0]), dotted.rsplit(".", 1)[1])
        self.limiter.acquire(search=search, max_wait=self.max_wait)
        kwargs.setdefault("_request_timeout", self.timeout)
        try:
            return method(*args, **kwargs)
        except Exception as err:
            mapped = translate(err, timeout=self.timeout)
            if mapped is None:
                raise
            self._note_rate_limit(mapped)
            raise mapped from err

    def raw(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict | None = None,
        base_url: str | None = None,
        auth: bool = True,
    ) -> RawResponse:
        """A call to an endpoint the SDK lacks, over the SDK's own urllib3 REST client, so it gets
        the same pooling, retry policy, timeout and exceptions as every other call."""
        rest = self._raw_rest_client()
        url = (base_url or self.base_url) + path
        if query:
            url += "?" + urlencode(query)
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self._token}"
        self.limiter.acquire(max_wait=self.max_wait)
        started = time.monotonic()
        try:
            response = rest.request(
                method, url, headers=headers, body=body, _request_timeout=self.timeout
            )
        except Exception as err:
            mapped = translate(err, timeout=self.timeout)
            if mapped is None:
                raise
            self._note_rate_limit(mapped)
            raise mapped from err
        elapsed = (time.monotonic() - started) * 1000
        text = response.data.decode() if isinstance(response.data, bytes) else response.data
        data = json.loads(text) if text else None
        return RawResponse(
            status=response.status,
            data=data,
            headers={k.lower(): v for k, v in response.getheaders().items()},
            elapsed_ms=elapsed,
        )

    def _raw_rest_client(self):
        with self._apis_lock:
            rest = self._apis.get("__raw__")
            if rest is None:
                config = _RawConfiguration(host=self.base_url)
                config.retries = _retry_policy()
                rest = _RawApiClient(configuration=config).rest_client
                self._apis["__raw__"] = rest
            return rest

    def _note_rate_limit(self, err: errors.HubSpotError) -> None:
        if isinstance(err, errors.RateLimited):
            # Every process backs off, not only the one that was told.
            self.limiter.block_for(err.retry_after or 10.0)

    # --- account -------------------------------------------------------------------------------
    def account_details(self) -> RawResponse:
        return self.raw("GET", "/account-info/v3/details")

    def token_info(self) -> dict:
        return self.raw(
            "POST",
            "/oauth/v2/private-apps/get/access-token-info",
            body={"tokenKey": self._token},
            auth=False,
        ).data

    # --- CRM objects ---------------------------------------------------------------------------
    def create_object(
        self, object_type: str, properties: dict, associations: list | None = None
    ) -> dict:
        body = {"properties": _stringify(properties)}
        if associations:
            body["associations"] = associations
        result = self.call(
            f"crm.{_typed(object_type)}.basic_api.create",
            simple_public_object_input_for_create=body,
        )
        return _object(result)

    def get_object(
        self,
        object_type: str,
        object_id: str,
        *,
        properties: list[str] | None = None,
        id_property: str | None = None,
        associations: list[str] | None = None,
    ) -> dict:
        kwargs = {}
        if properties:
            kwargs["properties"] = properties
        if id_property:
            kwargs["id_property"] = id_property
        if associations:
            kwargs["associations"] = associations
        result = self.call(
            f"crm.{_typed(object_type)}.basic_api.get_by_id", str(object_id), **kwargs
        )
        return _object(result)

    def update_object(self, object_type: str, object_id: str, properties: dict) -> dict:
        result = self.call(
            f"crm.{_typed(object_type)}.basic_api.update",
            str(object_id),
            simple_public_object_input={"properties": _stringify(properties)},
        )
        return _object(result)

    def archive_object(self, object_type: str, object_id: str) -> None:
        self.call(f"crm.{_typed(object_type)}.basic_api.archive", str(object_id))

    def list_objects(
        self,
        object_type: str,
        *,
        limit: int = 20,
        after: str | None = None,
        properties: list[str] | None = None,
    ) -> dict:
        kwargs = {"limit": limit}
        if after:
            kwargs["after"] = after
        if properties:
            kwargs["properties"] = properties
        page = self.call(f"crm.{_typed(object_type)}.basic_api.get_page", **kwargs)
        return _page(page)

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
        page = self.call(
            f"crm.{_typed(object_type)}.search_api.do_search",
            public_object_search_request=body,
            search=True,
        )
        result = _page(page)
        result["total"] = getattr(page, "total", None) or 0
        return result

    def batch_upsert(self, object_type: str, inputs: list[dict], id_property: str) -> dict:
        body = {
            "inputs": [
                {
                    "id": item["id"],
                    "idProperty": id_property,
                    "properties": _stringify(item["properties"]),
                }
                for item in inputs
            ]
        }
        result = self.call(
            f"crm.{_typed(object_type)}.batch_api.upsert",
            batch_input_simple_public_object_batch_input_upsert=body,
        )
        data = result.to_dict() if result is not None else {}
        return {
            "results": [
                {**_object_from_dict(r), "new": bool(r.get("new"))}
                for r in data.get("results") or []
            ],
            "errors": [_camel(e) for e in data.get("errors") or []],
        }

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
        result = self.call(
            f"crm.{_typed(object_type)}.batch_api.read",
            batch_read_input_simple_public_object_id=body,
        )
        data = result.to_dict() if result is not None else {}
        return [_object_from_dict(r) for r in data.get("results") or []]

    # --- pipelines, properties, owners, associations -------------------------------------------
    def pipelines(self, object_type: str) -> list[dict]:
        result = self.call("crm.pipelines.pipelines_api.get_all", object_type)
        return [_camel(p) for p in (result.to_dict().get("results") or [])]

    def get_property(self, object_type: str, name: str) -> dict:
        result = self.call("crm.properties.core_api.get_by_name", object_type, name)
        return _camel(result.to_dict())

    def create_property(self, object_type: str, definition: dict) -> dict:
        result = self.call(
            "crm.properties.core_api.create", object_type, property_create=definition
        )
        return _camel(result.to_dict())

    def owners(self, *, email: str | None = None, limit: int = 100) -> list[dict]:
        kwargs: dict[str, Any] = {"limit": limit}
        if email:
            kwargs["email"] = email
        result = self.call("crm.owners.owners_api.get_page", **kwargs)
        return [_camel(o) for o in (result.to_dict().get("results") or [])]

    def associate_default(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self.call(
            "crm.associations.v4.basic_api.create_default",
            from_type,
            str(from_id),
            to_type,
            str(to_id),
        )

    # --- conversations and forms ---------------------------------------------------------------
    def visitor_token(self, email: str, first_name: str = "", last_name: str = "") -> str:
        body = {"email": email}
        if first_name:
            body["firstName"] = first_name
        if last_name:
            body["lastName"] = last_name
        result = self.call(
            "conversations.visitor_identification.generate_api.generate_token",
            identification_token_generation_request=body,
        )
        return result.token

    def submit_form(self, portal_id: str, form_guid: str, body: dict) -> dict:
        return (
            self.raw(
                "POST",
                f"/submissions/v3/integration/submit/{portal_id}/{form_guid}",
                body=body,
                base_url=self.forms_base_url,
                auth=False,
            ).data
            or {}
        )

    def forms(self, *, limit: int = 100, after: str | None = None) -> dict:
        kwargs: dict[str, Any] = {"limit": limit}
        if after:
            kwargs["after"] = after
        result = self.call("marketing.forms.forms_api.get_page", **kwargs)
        return _page(result)

    def form_submissions(
        self, form_guid: str, *, limit: int = 50, after: str | None = None
    ) -> dict:
        """One page of a form's submissions (legacy v1 API, scope `forms`; the SDK lacks it)."""
        query: dict[str, Any] = {"limit": limit}
        if after:
            query["after"] = after
        data = self.raw("GET", f"/form-integrations/v1/submissions/forms/{form_guid}", query=query)
        data = data.data or {}
        next_after = ((data.get("paging") or {}).get("next") or {}).get("after")
        return {"results": data.get("results") or [], "next_after": next_after}

    # --- analytics (legacy v2 reporting API, scope `business-intelligence`; not in the SDK) -----
    def analytics_report(self, breakdown: str, start: str, end: str) -> dict:
        """`breakdown` is "totals" or an object type such as "forms"; dates are YYYYMMDD."""
        path = f"/analytics/v2/reports/{breakdown}/total"
        return self.raw("GET", path, query={"start": start, "end": end}).data or {}


# --- building clients ------------------------------------------------------------------------------
_clients: dict[tuple, HubSpotClient] = {}
_clients_lock = threading.Lock()


def get_client(settings_obj=None, *, require_enabled: bool = True, max_wait: float = 2.0):
    """The client for the stored settings, reused across calls so connections are pooled."""
    from .models import HubSpotSettings

    s = settings_obj or HubSpotSettings.load()
    if require_enabled and not s.enabled:
        raise errors.NotConfigured("HubSpot is switched off in the HubSpot settings.")
    if not s.access_token:
        raise errors.NotConfigured(
            "No HubSpot private-app token is stored in the HubSpot settings."
        )
    key = (
        s.access_token,
        s.portal_id,
        django_settings.HUBSPOT_API_BASE_URL,
        django_settings.HUBSPOT_FORMS_BASE_URL,
        tuple(django_settings.HUBSPOT_TIMEOUT),
        s.rate_limit_per_10s,
        max_wait,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if len(_clients) > 16:  # old tokens after rotation: drop them
                _clients.clear()
            client = HubSpotClient(
                s.access_token,
                portal_id=s.portal_id,
                calls_per_10s=s.rate_limit_per_10s,
                max_wait=max_wait,
            )
            _clients[key] = client
        return client


def reset_clients() -> None:
    with _clients_lock:
        _clients.clear()


# --- translating errors ----------------------------------------------------------------------------
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
        seconds = f" within {read_timeout:g} s" if read_timeout else ""
        return errors.Unavailable(f"HubSpot did not answer{seconds} (timeout).", reason="timeout")
    if isinstance(err, urllib3.exceptions.NameResolutionError):
        return errors.Unavailable(
            "The HubSpot host name could not be resolved (DNS failure).", reason="dns"
        )
    if isinstance(err, urllib3.exceptions.NewConnectionError):
        return errors.Unavailable(
            "HubSpot's host could not be reached (connection refused or no route).",
            reason="unreachable",
        )
    # NewConnectionError subclasses ConnectTimeoutError, so it is tested first (above).
    if isinstance(err, urllib3.exceptions.ConnectTimeoutError):
        return errors.Unavailable(
            "HubSpot did not accept the connection in time.", reason="timeout"
        )
    if isinstance(err, urllib3.exceptions.ProtocolError | ConnectionError):
        return errors.Unavailable(
            "The connection to HubSpot dropped before an answer arrived.", reason="dropped"
        )
    return errors.Unavailable(f"HubSpot could not be reached ({type(err).__name__}).")


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
            f"HubSpot could not be reached: {getattr(err, 'reason', '') or 'unknown error'}.",
            **common,
        )
    if status == 401:
        return errors.AuthError(**common)
    if status == 403:
        forbidden = errors.ForbiddenError(**common)
        if forbidden.missing_scopes:
            forbidden.message = (
                "The private app lacks the scope(s) "
                + ", ".join(forbidden.missing_scopes)
                + " (403): add them in HubSpot under Settings > Integrations > Private apps."
            )
        elif message:
            forbidden.message = f"HubSpot refused the call (403): {message}"
        return forbidden
    if status == 404:
        return errors.NotFound(message or None, **common)
    if status == 409:
        return errors.Conflict(message or None, **common)
    if status == 429:
        retry_after = _retry_after(headers)
        policy = str(body.get("policyName") or "")
        text = "HubSpot's rate limit was reached (429"
        text += f", {policy}" if policy else ""
        text += ")"
        text += f"; retry in {retry_after:g} s." if retry_after else "; retry shortly."
        return errors.RateLimited(text, policy=policy, retry_after=retry_after, **common)
    if status >= 500:
        return errors.Unavailable(
            f"HubSpot answered with a server error ({status}).", reason="server_error", **common
        )
    return errors.ValidationFailed(
        f"HubSpot rejected the request ({status}): {message}" if message else None, **common
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


# --- shaping SDK answers as plain dicts ----------------------------------------------------------
def _typed(object_type: str) -> str:
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"unknown CRM object type {object_type!r}")
    return object_type


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


def _snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel(value):
    if isinstance(value, dict):
        return {_snake_to_camel(k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _object_from_dict(data: dict) -> dict:
    # `properties` keys are HubSpot property names and must not be camel-cased.
    properties = data.get("properties") or {}
    shaped = _camel({k: v for k, v in data.items() if k not in ("properties",)})
    shaped["properties"] = dict(properties)
    shaped.pop("propertiesWithHistory", None)
    return shaped


def _object(result) -> dict:
    if result is None:
        raise errors.Unavailable("HubSpot answered with an unexpected status and no object.")
    return _object_from_dict(result.to_dict())


def _page(result) -> dict:
    if result is None:
        raise errors.Unavailable("HubSpot answered with an unexpected status and no page.")
    data = result.to_dict()
    items = data.get("results") or []
    paging = data.get("paging") or {}
    next_after = ((paging.get("next") or {}).get("after")) if paging else None
    shaped = [_object_from_dict(item) if "properties" in item else _camel(item) for item in items]
    return {"results": shaped, "next_after": next_after}
