"""A text field whose value is encrypted before it reaches the database."""

from django.core.exceptions import FieldError
from django.db import models
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .logging import remember_secret


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plaintext.

    Empty means "no secret" and is stored as an empty string, so `blank` works as usual.
    Lookups are refused (but `isnull`): ciphertext is randomised, so `token="x"` would silently
    match nothing.
    """

    description = "Text encrypted at rest with MultiFernet"

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        plaintext = crypto.decrypt(value, where=self._where())
        remember_secret(plaintext)  # the log filter redacts it by value from now on
        return plaintext

    def to_python(self, value):
        return "" if value is None else str(value)

    @sensitive_variables("value")  # the plaintext, on its way to being encrypted
    def get_prep_value(self, value):
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
