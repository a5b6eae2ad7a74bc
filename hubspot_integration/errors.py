"""The project's HubSpot errors. `client.py` turns every SDK and transport error into one of these.

Each carries what a caller needs to decide and to tell a person: an HTTP status (0 when HubSpot was
never reached), HubSpot's category and correlation ID, and whether retrying later may succeed.
Messages never contain the access token.
"""


class HubSpotError(Exception):
    kind = "error"
    transient = False
    default_message = "HubSpot returned an error."

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
        self.message = message or self.default_message
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.details = details or []
        self.retry_after = retry_after
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "status": self.status,
            "category": self.category,
            "correlationId": self.correlation_id,
            "message": self.message,
        }

    def __str__(self) -> str:
        suffix = f" (HubSpot correlation ID {self.correlation_id})" if self.correlation_id else ""
        return f"{self.message}{suffix}"


class NotConfigured(HubSpotError):
    kind = "not_configured"
    default_message = "HubSpot is not configured: enter the portal ID and a HubSpot credential."


class SecretUndecryptable(NotConfigured):
    """The stored credential was written under a key HUBSPOT_ENCRYPTION_KEYS no longer holds."""

    kind = "undecryptable"
    # Writes wait in the outbox (with backoff) for the key to be restored or the secret re-entered.
    transient = True
    default_message = (
        "The stored HubSpot credential cannot be decrypted with HUBSPOT_ENCRYPTION_KEYS: restore "
        "the key it was written with, or clear and re-enter it on the HubSpot settings page."
    )


class AuthError(HubSpotError):
    kind = "auth"
    default_message = "HubSpot refused the credential (401): it is wrong, revoked or expired."


class ReconnectNeeded(AuthError):
    """HubSpot refused to refresh the OAuth connection: only an admin reconnecting fixes it."""

    kind = "reconnect"
    # Writes wait in the outbox (with backoff) until an admin reconnects, rather than failing.
    transient = True
    default_message = (
        "HubSpot refused to refresh the OAuth connection: reconnect on the HubSpot settings "
        "page (Connect with HubSpot)."
    )


class ForbiddenError(HubSpotError):
    kind = "forbidden"
    default_message = "The credential lacks a scope this call needs (403)."

    @property
    def missing_scopes(self) -> list[str]:
        scopes = []
        for item in self.details:
            context = item.get("context", {}) if isinstance(item, dict) else {}
            for key in ("requiredGranularScopes", "requiredScopes"):
                scopes.extend(context.get(key, []))
        return sorted(set(scopes))


class NotFound(HubSpotError):
    kind = "not_found"
    default_message = "HubSpot has no such object (404)."


class Conflict(HubSpotError):
    kind = "conflict"
    default_message = "The object already exists in HubSpot (409)."

    @property
    def existing_id(self) -> str | None:
        # HubSpot says "Contact already exists. Existing ID: 123"; the ID is only in the prose.
        marker = "Existing ID:"
        if marker in self.message:
            candidate = self.message.split(marker, 1)[1].strip().split()[0].strip(".")
            return candidate if candidate.isdigit() else None
        return None


class ValidationFailed(HubSpotError):
    kind = "validation"
    default_message = "HubSpot rejected the data (400)."


class RateLimited(HubSpotError):
    kind = "rate_limited"
    transient = True
    default_message = "HubSpot's rate limit was reached (429); the call can be retried shortly."

    def __init__(self, message=None, *, policy: str = "", **kwargs):
        self.policy = policy
        super().__init__(message, **kwargs)


class Unavailable(HubSpotError):
    """HubSpot could not be reached or answered with a server error: worth retrying later."""

    kind = "unavailable"
    transient = True
    default_message = "HubSpot is unavailable right now."

    def __init__(self, message=None, *, reason: str = "server_error", **kwargs):
        self.reason = reason  # server_error | timeout | unreachable | dns | dropped | bad_answer
        super().__init__(message, **kwargs)
