"""`manage.py hubspot_rotate_key`: re-encrypt every stored secret under the newest key.

Put the new key first in HUBSPOT_ENCRYPTION_KEYS, keep the old ones after it, run this, then the
old keys can be removed.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ... import crypto
from ...fields import EncryptedTextField
from ...models import HubSpotSettings


def encrypted_fields():
    for model in apps.get_models():
        names = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names


class Command(BaseCommand):
    help = "Re-encrypt every HubSpot secret under the newest key in HUBSPOT_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        rotated = 0
        try:
            with transaction.atomic():
                for model, fields in encrypted_fields():
                    columns = [f.column for f in fields]
                    # Raw column values: the ciphertext is rotated without ever being decrypted
                    # into a model instance.
                    pks = model.objects.select_for_update().values_list("pk", flat=True)
                    for pk in list(pks):
                        raw = self._raw_values(model, pk, columns)
                        updates = {}
                        for f, value in zip(fields, raw, strict=True):
                            if value:
                                where = f"{model.__name__}.{f.name} (row {pk})"
                                updates[f.column] = crypto.rotate(value, where=where)
                        if updates:
                            self._write_raw(model, pk, updates)
                            rotated += len(updates)
        except crypto.DecryptionError as err:
            raise CommandError(str(err)) from None
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
