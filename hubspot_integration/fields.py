"""A text field whose value is encrypted before it reaches the database."""

from django.core.exceptions import FieldError
from django.db import models
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .logging import remember_secret


class Undecryptable(str):
    """A stored secret that no key in `HUBSPOT_ENCRYPTION_KEYS` opens.

    It reads as "no secret": an empty, falsy string, so it can never be sent as a token, shown, or
    mistaken for ciphertext (its text, repr and JSON hold no part of it). It keeps the ciphertext
    only so that saving the row writes it back unchanged: once the key is restored, the secret
    opens again. It equals only the same unreadable value, so clearing it ("") is a change.
    """

    def __new__(cls, ciphertext: str, where: str):
        obj = super().__new__(cls, "")
        obj._ciphertext = ciphertext
        obj.where = where
        return obj

    def __eq__(self, other):
        return isinstance(other, Undecryptable) and other._ciphertext == self._ciphertext

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((Undecryptable, self._ciphertext))

    def __repr__(self):
        return f"<undecryptable {self.where}>"

    def __str__(self):
        return ""

    def __reduce__(self):
        return (Undecryptable, (self._ciphertext, self.where))


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plaintext.

    Empty means "no secret" and is stored as an empty string, so `blank` works as usual.
    Lookups are refused (but `isnull`): ciphertext is randomised, so `token="x"` would silently
    match nothing. A value no configured key opens reads as `Undecryptable` (see there): a lost
    key must not take down every page that reads the settings.
    """

    description = "Text encrypted at rest with MultiFernet"

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        where = self._where()
        try:
            plaintext = crypto.decrypt(value, where=where)
        except crypto.DecryptionError:
            # Not logged here (every settings read would): what uses the secret says so, and
            # /api/health and the settings page name it.
            return Undecryptable(value, where)
        remember_secret(plaintext)  # the log filter redacts it by value from now on
        return plaintext

    def to_python(self, value):
        if isinstance(value, Undecryptable):
            return value  # model validation must not turn it into "" (and the save erase it)
        return "" if value is None else str(value)

    @sensitive_variables("value")  # the plaintext, on its way to being encrypted
    def get_prep_value(self, value):
        if isinstance(value, Undecryptable):
            return value._ciphertext  # written back as it was read
        value = super().get_prep_value(value)
        if not value:
            return ""
        remember_secret(value)
        return crypto.encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise FieldError(
                f"{self._where()} is encrypted and cannot be filtered with {lookup_name}."
            )
        return super().get_lookup(lookup_name)

    def _where(self) -> str:
        model = getattr(self, "model", None)
        return f"{model.__name__}.{self.name}" if model else (self.name or "an encrypted field")
