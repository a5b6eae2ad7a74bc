"""Verified customer emails, and one account per email address, enforced by the database.

The unique index on `lower(email)` (non-empty emails only) holds under concurrent sign-ups, which
a form's "does this email exist?" query cannot. Same SQL on SQLite (3.9+) and PostgreSQL.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

INDEX = "hubspot_auth_user_email_ci_uniq"


def refuse_duplicate_emails(apps, schema_editor):
    """Name the clash instead of failing on the index with the database's bare IntegrityError."""
    from django.db.models import Count
    from django.db.models.functions import Lower

    User = apps.get_model("auth", "User")
    clashes = list(
        User.objects.using(schema_editor.connection.alias)
        .exclude(email="")
        .annotate(address=Lower("email"))
        .values("address")
        .annotate(accounts=Count("id"))
        .filter(accounts__gt=1)
        .values_list("address", flat=True)[:5]
    )
    if clashes:
        raise RuntimeError(
            "Each email address may belong to one account only, but some belong to several "
            f"(case-insensitively): {', '.join(clashes)}. Change or blank the email of all but "
            "one account for each (admin: Users), then run migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("hubspot_integration", "0004_credential_kinds"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerEmail",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("email", models.EmailField(max_length=254, verbose_name="verified address")),
                ("verified_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="customer_email",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "verified customer email",
                "verbose_name_plural": "verified customer emails",
            },
        ),
        migrations.RunPython(refuse_duplicate_emails, migrations.RunPython.noop),
        migrations.RunSQL(
            sql=f"CREATE UNIQUE INDEX {INDEX} ON auth_user (lower(email)) WHERE email <> ''",
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
