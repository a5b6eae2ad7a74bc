"""A logging filter that removes HubSpot tokens and other secrets from every record."""

import logging
import re
import threading

# Private-app tokens (pat-<hublet>-<uuid>), bearer headers, and Fernet ciphertext.
_PATTERNS = [
    re.compile(r"pat-[a-z0-9]+-[0-9a-fA-F-]{8,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}"),
]
REDACTED = "[redacted]"
_MIN_SECRET_LENGTH = 8  # shorter values would redact ordinary words
_MAX_REMEMBERED = 64

# Every secret this process has decrypted or encrypted (service keys, app tokens, OAuth tokens,
# client secrets): their formats are not documented, so patterns alone cannot find them.
_known: dict[str, None] = {}
_known_lock = threading.Lock()
# What redact() walks, longest first so a secret that contains another is replaced whole. Rebuilt
# only when a new secret arrives (rarely), not on every log record.
_ordered: tuple[str, ...] = ()


def remember_secret(value: str) -> None:
    global _ordered
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _known_lock:
        if value in _known:
            return
        if len(_known) >= _MAX_REMEMBERED:
            _known.pop(next(iter(_known)))
        _known[value] = None
        _ordered = tuple(sorted(_known, key=len, reverse=True))


def redact(text: str) -> str:
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must still be logged, not dropped
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, so the handler does not render the raw one.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
            record.exc_info = None
            record.msg = f"{record.msg}\n{record.exc_text}"
            record.exc_text = None
        return True
