"""The project's errors: one root, `PanelError`, and below it `HubSpotError` for what HubSpot
answered (`client.py` turns every SDK and transport error into one of those).

The root sits above `HubSpotError` because not every error is HubSpot's: an undecryptable secret
(`crypto.DecryptionError`), a file that is no CSV (`import_csv.ImportFileError`), a refused webhook
delivery (`webhooks.Refused`), an OAuth round trip gone wrong. Code that catches `HubSpotError` to
say "HubSpot failed, try later" must not catch those.

Every class carries, as class attributes, what callers decide by:
- `status_code`: the HTTP status the panel answers with when the error ends a request (the API's
  envelope). HubSpot's own status, when HubSpot was reached, is the instance's `status`.
- `transient`: retrying later may succeed (the outbox keeps the operation pending, with backoff).
- `caller_fault`: the request itself is wrong (its data, the object it names), not HubSpot or the
  panel's setup: a queued write that failed so is refused with 400, otherwise 502.
Where a Django exception means the same, the class is that too, as django-anymail's errors are
(`NotConfigured` is an `ImproperlyConfigured`, `NotFound` an `Http404`; `TicketsDisabled` a
`PermissionDenied`, a bad webhook delivery a `SuspiciousOperation`), so Django and code that only
knows Django's exceptions treat them right.

`kind` is data, never a decision: the name API clients read (`details.kind`) and the outbox stores
(`last_error_kind`); `error_class(kind)` turns a stored one back into its class.
Messages never contain the access token.
"""

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# kind -> the class that named it; filled as each class is defined.
_BY_KIND: dict[str, type["PanelError"]] = {}


class PanelError(Exception):
    kind = "error"
    status_code = 500
    transient = False
    caller_fault = False
    default_message = _("The panel could not do that.")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" not in cls.__dict__:
            return  # a subclass keeping its parent's kind is named by the parent
        known = _BY_KIND.setdefault(cls.kind, cls)
        if known is not cls and known.__qualname__ != cls.__qualname__:  # not a module reload
            raise TypeError(
                f"{cls.__qualname__} reuses the kind {cls.kind!r} of {known.__qualname__}"
            )
        _BY_KIND[cls.kind] = cls

    def __init__(self, message: str | None = None):
        # In the language of the request (or task) the error happens in.
        self.message = message or str(self.default_message)
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message}


def error_class(kind: str) -> type[PanelError]:
    """The class a stored `kind` names; `HubSpotError` for one no class claims (any more)."""
    return _BY_KIND.get(kind, HubSpotError)


class HubSpotError(PanelError):
    kind = "error"
    status_code = 502  # HubSpot failed the panel: a bad gateway, to the panel's own caller
    default_message = _("HubSpot returned an error.")

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int = 0,
        category: str = "",
        correlation_id: str = "",
        details: list | None = None,
        retry_after: float | None = None,
    ):
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.details = details or []
        self.retry_after = retry_after
        super().__init__(message)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "status": self.status,
            "category": self.category,
            "correlationId": self.correlation_id,
            "message": self.message,
        }

    def __str__(self) -> str:
        if not self.correlation_id:
            return self.message
        return gettext("%(message)s (HubSpot correlation ID %(id)s)") % {
            "message": self.message,
            "id": self.correlation_id,
        }


class NotConfigured(HubSpotError, ImproperlyConfigured):
    kind = "not_configured"
    status_code = 409  # the panel is not set up for this yet; HubSpot did not fail
    default_message = _("HubSpot is not configured: enter the portal ID and a HubSpot credential.")


class SecretUndecryptable(NotConfigured):
    """The stored credential was written under a key HUBSPOT_ENCRYPTION_KEYS no longer holds."""

    kind = "undecryptable"
    # Writes wait in the outbox (with backoff) for the key to be restored or the secret re-entered.
    transient = True
    default_message = _(
        "The stored HubSpot credential cannot be decrypted with HUBSPOT_ENCRYPTION_KEYS: restore "
        "the key it was written with, or clear and re-enter it on the HubSpot settings page."
    )


class AuthError(HubSpotError):
    # Not a PermissionDenied: HubSpot refused the panel's credential, not the caller (502).
    kind = "auth"
    default_message = _("HubSpot refused the credential (401): it is wrong, revoked or expired.")


class ReconnectNeeded(AuthError):
    """HubSpot refused to refresh the OAuth connection: only an admin reconnecting fixes it."""

    kind = "reconnect"
    status_code = 409  # an admin must reconnect; not HubSpot failing
    # Writes wait in the outbox (with backoff) until an admin reconnects, rather than failing.
    transient = True
    default_message = _(
        "HubSpot refused to refresh the OAuth connection: reconnect on the HubSpot settings "
        "page (Connect with HubSpot)."
    )


class ForbiddenError(HubSpotError):
    kind = "forbidden"
    default_message = _("The credential lacks a scope this call needs (403).")

    @property
    def missing_scopes(self) -> list[str]:
        scopes = []
        for item in self.details:
            context = item.get("context", {}) if isinstance(item, dict) else {}
            for key in ("requiredGranularScopes", "requiredScopes"):
                scopes.extend(context.get(key, []))
        return sorted(set(scopes))


class NotFound(HubSpotError, Http404):
    kind = "not_found"
    status_code = 404
    caller_fault = True
    default_message = _("HubSpot has no such object (404).")


class Conflict(HubSpotError):
    kind = "conflict"
    status_code = 409
    caller_fault = True
    default_message = _("The object already exists in HubSpot (409).")

    @property
    def existing_id(self) -> str | None:
        # HubSpot says "Contact already exists. Existing ID: 123"; the ID is only in the prose.
        marker = "Existing ID:"
        if marker in self.message:
            candidate = self.message.split(marker, 1)[1].strip().split()[0].strip(".")
            return candidate if candidate.isdigit() else None
        return None


class ValidationFailed(HubSpotError):
    # Not Django's ValidationError: that one is a form's, with its own message list and codes.
    kind = "validation"
    status_code = 400
    caller_fault = True
    default_message = _("HubSpot rejected the data (400).")


class RateLimited(HubSpotError):
    kind = "rate_limited"
    status_code = 503
    transient = True
    default_message = _("HubSpot's rate limit was reached (429); the call can be retried shortly.")

    def __init__(self, message=None, *, policy: str = "", **kwargs):
        self.policy = policy
        super().__init__(message, **kwargs)


class Unavailable(HubSpotError):
    """HubSpot could not be reached or answered with a server error: worth retrying later."""

    kind = "unavailable"
    status_code = 503
    transient = True
    default_message = _("HubSpot is unavailable right now.")

    def __init__(self, message=None, *, reason: str = "server_error", **kwargs):
        self.reason = reason  # server_error | timeout | unreachable | dns | dropped | bad_answer
        super().__init__(message, **kwargs)
