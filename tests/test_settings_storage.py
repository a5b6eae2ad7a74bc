"""The settings row: validation, encryption at rest, key rotation and the zero-SQL cached read."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ValidationError
from django.core.management import call_command
from django.db import connection
from django.template import Context, Template

from hubspot_integration import crypto
from hubspot_integration.models import HubSpotSettings, mask_secret

TOKEN = "pat-na1-aaaabbbb-cccc-dddd-eeee-ffff00001234"
ROOT = Path(__file__).resolve().parent.parent


def raw_column(column="access_token"):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM hubspot_integration_hubspotsettings WHERE id = 1")
        return cursor.fetchone()[0]


@pytest.mark.django_db
class TestValidation:
    def test_portal_id_must_be_digits(self):
        s = HubSpotSettings(portal_id="12ab")
        with pytest.raises(ValidationError) as err:
            s.full_clean()
        assert "portal_id" in err.value.message_dict
        assert "digits" in err.value.message_dict["portal_id"][0]

    @pytest.mark.parametrize("field", ["ticket_form_id", "contact_form_id"])
    def test_form_ids_must_be_uuids(self, field):
        s = HubSpotSettings(**{field: "not-a-uuid"})
        with pytest.raises(ValidationError) as err:
            s.full_clean()
        assert field in err.value.message_dict

    def test_valid_uuid_form_id_is_accepted(self):
        HubSpotSettings(ticket_form_id="1a2b3c4d-0000-4000-8000-123456789abc").full_clean()

    def test_enabling_needs_portal_id_and_token(self):
        with pytest.raises(ValidationError) as err:
            HubSpotSettings(enabled=True).full_clean()
        assert set(err.value.message_dict) == {"portal_id", "access_token"}

    def test_only_one_row_ever(self):
        HubSpotSettings(portal_id="1").save()
        HubSpotSettings(portal_id="2").save()
        assert HubSpotSettings.objects.count() == 1
        assert HubSpotSettings.objects.get().portal_id == "2"


@pytest.mark.django_db
class TestEncryption:
    def test_raw_column_never_holds_the_token(self):
        s = HubSpotSettings.load()
        s.access_token = TOKEN
        s.save()
        raw = raw_column()
        assert TOKEN not in raw and "pat-" not in raw
        assert raw.startswith("gAAAAA")  # Fernet
        assert HubSpotSettings.objects.get().access_token == TOKEN

    def test_cache_holds_ciphertext_only(self, settings, tmp_path):
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache"),
            }
        }
        s = HubSpotSettings.load()
        s.access_token = TOKEN
        s.save()
        blobs = b"".join(p.read_bytes() for p in (tmp_path / "cache").iterdir())
        assert TOKEN.encode() not in blobs
        assert HubSpotSettings.load().access_token == TOKEN

    def test_undecryptable_value_raises_a_clear_error(self, settings):
        s = HubSpotSettings.load()
        s.access_token = TOKEN
        s.save()
        settings.HUBSPOT_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
        with pytest.raises(crypto.DecryptionError) as err:
            crypto.decrypt(raw_column(), where="HubSpotSettings.access_token")
        message = str(err.value)
        assert "HubSpotSettings.access_token" in message
        assert "HUBSPOT_ENCRYPTION_KEYS" in message
        assert "gAAAAA" not in message and TOKEN not in message
        # The row reads the value as "not set", never as ciphertext (tests/test_lost_key.py).
        stored = HubSpotSettings.objects.get()
        assert not stored.access_token and str(stored.access_token) == ""
        assert stored.undecryptable_fields == ["access_token"]

    def test_lookups_on_the_secret_are_refused(self):
        with pytest.raises(FieldError):
            list(HubSpotSettings.objects.filter(access_token__startswith="pat"))

    def test_mask(self):
        # The first and last four characters, whatever the credential's format.
        assert mask_secret(TOKEN) == "pat-…1234"
        assert mask_secret("hsk_0123456789abcdefWXYZ") == "hsk_…WXYZ"
        assert mask_secret("") == ""
        assert mask_secret("short-secret") == "••••"  # too short to hide its middle


@pytest.mark.django_db
def test_rotate_key_reencrypts_under_the_newest_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.HUBSPOT_ENCRYPTION_KEYS = [old]
    s = HubSpotSettings.load()
    s.access_token = TOKEN
    s.webhook_secret = "whsec-value"
    s.save()
    before = raw_column()

    settings.HUBSPOT_ENCRYPTION_KEYS = [new, old]
    call_command("hubspot_rotate_key", stdout=io.StringIO())
    after = raw_column()
    assert after != before

    settings.HUBSPOT_ENCRYPTION_KEYS = [new]  # the old key can now go
    stored = HubSpotSettings.objects.get()
    assert stored.access_token == TOKEN
    assert stored.webhook_secret == "whsec-value"

    settings.HUBSPOT_ENCRYPTION_KEYS = [old]
    assert HubSpotSettings.objects.get().undecryptable_fields == ["access_token", "webhook_secret"]


@pytest.mark.django_db
def test_rotate_key_fails_clearly_without_the_old_key(settings):
    from django.core.management.base import CommandError

    s = HubSpotSettings.load()
    s.access_token = TOKEN
    s.save()
    settings.HUBSPOT_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="none of the keys"):
        call_command("hubspot_rotate_key")


@pytest.mark.django_db
def test_warm_settings_read_costs_no_sql(django_assert_num_queries):
    s = HubSpotSettings.load()
    s.portal_id = "4242"
    s.save()
    page = Template("{% if s.enabled %}on{% endif %} portal {{ s.portal_id }}")
    with django_assert_num_queries(0):
        html = page.render(Context({"s": HubSpotSettings.load()}))
    assert "portal 4242" in html


@pytest.mark.django_db
def test_cold_read_fills_the_cache(django_assert_num_queries):
    HubSpotSettings.invalidate_cache()
    HubSpotSettings.load()
    with django_assert_num_queries(0):
        HubSpotSettings.load()


@pytest.mark.django_db(transaction=True)
def test_a_save_is_seen_at_once_by_another_process(settings, tmp_path):
    """Two processes sharing the file cache: the other one sees each save without touching SQL."""
    cache_dir = tmp_path / "shared-cache"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(cache_dir),
            "KEY_PREFIX": "one-deployment",
        }
    }
    reader = (
        "import django; django.setup();"
        "from hubspot_integration.models import HubSpotSettings as S;"
        "print(S.load().portal_id)"
    )
    env = {
        **os.environ,
        "CACHE_URL": f"filecache://{cache_dir}",
        # Its database differs from ours, so the prefix it would derive differs too: name ours.
        "CACHE_KEY_PREFIX": "one-deployment",
        # A database the reader cannot open: any SQL would fail, so an answer proves the cache.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'missing-dir' / 'no.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "skypanel.settings",
    }

    def read_elsewhere():
        out = subprocess.run(
            [sys.executable, "-c", reader], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    s = HubSpotSettings.load()
    s.portal_id = "1001"
    s.save()
    assert read_elsewhere() == "1001"
    s.portal_id = "2002"
    s.save()
    assert read_elsewhere() == "2002"
