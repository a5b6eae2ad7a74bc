"""Symmetric encryption of secrets at rest with MultiFernet.

`HUBSPOT_ENCRYPTION_KEYS` lists Fernet keys newest first: the first encrypts, every key can decrypt,
so a new key can be put in front and `manage.py hubspot_rotate_key` re-encrypts the old values.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from .conf import app_settings
from .errors import PanelError


class DecryptionError(PanelError, ImproperlyConfigured):
    """A stored secret cannot be decrypted with any configured key.

    The message never contains the ciphertext or a key: only where the value lives and what to do.
    The keys are configuration, hence ImproperlyConfigured; a 500, and not a HubSpotError.
    """

    kind = "decryption"
    default_message = "A stored secret cannot be decrypted with the configured keys."


@lru_cache(maxsize=4)
@sensitive_variables("keys")
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("HUBSPOT_ENCRYPTION_KEYS is empty: secrets cannot be encrypted.")
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys])
    except ValueError as err:
        raise ImproperlyConfigured(
            "HUBSPOT_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from err


def get_fernet() -> MultiFernet:
    return _multifernet(tuple(app_settings.ENCRYPTION_KEYS))


@lru_cache(maxsize=64)
@sensitive_variables("keys")
def _decrypt(keys: tuple[str, ...], ciphertext: str) -> str:
    # Every settings read (each page render) rebuilds the row from the cache's ciphertext; the
    # same ciphertext under the same keys always opens to the same text, so open it once per
    # process. Failures raise and are not cached; a new key list is a new cache entry.
    return _multifernet(keys).decrypt(ciphertext.encode()).decode()


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    return get_fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str, *, where: str = "a stored secret") -> str:
    try:
        return _decrypt(tuple(app_settings.ENCRYPTION_KEYS), ciphertext)
    except InvalidToken:
        # `from None`: InvalidToken carries nothing useful and the chain would only add noise.
        raise DecryptionError(
            f"Cannot decrypt {where}: none of the keys in HUBSPOT_ENCRYPTION_KEYS opens it. "
            "Restore the key it was written with (keep old keys after the newest until "
            "`manage.py hubspot_rotate_key` has run), or clear and re-enter the secret."
        ) from None


def rotate(ciphertext: str, *, where: str = "a stored secret") -> str:
    """Re-encrypt under the newest key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return get_fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            f"Cannot rotate {where}: none of the keys in HUBSPOT_ENCRYPTION_KEYS opens it."
        ) from None


@sensitive_variables("key")
def is_valid_key(key: str) -> bool:
    try:
        Fernet(key.strip().encode())
    except ValueError:
        return False
    return True
