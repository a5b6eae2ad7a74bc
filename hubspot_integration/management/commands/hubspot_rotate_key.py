"""`manage.py hubspot_rotate_key`: re-encrypt every stored secret under the newest key.

Put the new key first in HUBSPOT_ENCRYPTION_KEYS, keep the old ones after it, run this, then the
old keys can be removed.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ... import crypto
from ...fields import EncryptedTextField
from ...models import HubSpotSettings, list_words


def unreadable_message(labels: list[str]) -> str:
    it, was = ("it", "it was") if len(labels) == 1 else ("them", "they were")
    return (
        f"Nothing was re-encrypted: none of the keys in HUBSPOT_ENCRYPTION_KEYS opens the stored "
        f"{list_words(labels)}. Put back the key {was} written with (after the newest key) and "
        f"run this again, or clear and re-enter {it} on the HubSpot settings page first."
    )


def encrypted_fields():
    for model in apps.get_models():
        if model._meta.proxy:
            continue  # its rows are the concrete model's, rotated once there
        names = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names


class Command(BaseCommand):
    help = "Re-encrypt every HubSpot secret under the newest key in HUBSPOT_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        rotated = 0
        unreadable = []
        with transaction.atomic():
            pending = []
            for model, fields in encrypted_fields():
                columns = [f.column for f in fields]
                # Raw column values: the ciphertext is rotated without ever being decrypted
                # into a model instance.
                pks = model.objects.select_for_update().values_list("pk", flat=True)
                for pk in list(pks):
                    raw = self._raw_values(model, pk, columns)
                    updates = {}
                    for f, value in zip(fields, raw, strict=True):
                        if not value:
                            continue
                        try:
                            updates[f.column] = crypto.rotate(
                                value, where=f"{model.__name__}.{f.name} (row {pk})"
                            )
                        except crypto.DecryptionError:
                            unreadable.append(str(f.verbose_name))
                    if updates:
                        pending.append((model, pk, updates))
            if unreadable:
                # All or nothing: the old key stays needed either way, and a rerun rotates it all.
                raise CommandError(unreadable_message(unreadable))
            for model, pk, updates in pending:
                self._write_raw(model, pk, updates)
                rotated += len(updates)
        HubSpotSettings.invalidate_cache()
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {rotated} secret(s) under the newest key.")
        )

    @staticmethod
    def _raw_values(model, pk, columns):
        from django.db import connection

        table = connection.ops.quote_name(model._meta.db_table)
        cols = ", ".join(connection.ops.quote_name(c) for c in columns)
        pk_col = connection.ops.quote_name(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {cols} FROM {table} WHERE {pk_col} = %s", [pk])  # noqa: S608
            return cursor.fetchone()

    @staticmethod
    def _write_raw(model, pk, updates):
        from django.db import connection

        table = connection.ops.quote_name(model._meta.db_table)
        sets = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in updates)
        pk_col = connection.ops.quote_name(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {sets} WHERE {pk_col} = %s",  # noqa: S608
                [*updates.values(), pk],
            )
