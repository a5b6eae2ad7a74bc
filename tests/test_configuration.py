"""Start-up configuration: production refuses to run half-configured; checks and log redaction."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks

from hubspot_integration.logging import RedactSecretsFilter, redact

ROOT = Path(__file__).resolve().parent.parent
SETUP = "import django; django.setup(); print('started')"


def start(**env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "HUBSPOT_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "skypanel.settings", **env_overrides})
    return subprocess.run(
        [sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_development_defaults_start_with_no_configuration():
    result = start(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_production_refuses_without_secret_key_and_encryption_key():
    result = start(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "HUBSPOT_ENCRYPTION_KEYS" in result.stderr


def test_production_names_only_what_is_missing():
    result = start(DEBUG="false", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "HUBSPOT_ENCRYPTION_KEYS" in result.stderr
    assert "SECRET_KEY (" not in result.stderr


def test_production_starts_when_configured():
    result = start(
        DEBUG="false",
        SECRET_KEY="s" * 50,
        HUBSPOT_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="panel.example.com",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("keys,check_id", [([], "hubspot.E001"), (["not-a-key"], "hubspot.E002")])
def test_system_checks_catch_bad_keys(settings, keys, check_id):
    settings.HUBSPOT_ENCRYPTION_KEYS = keys
    assert check_id in [m.id for m in run_checks()]


def test_system_check_refuses_a_non_http_base_url(settings):
    settings.HUBSPOT_API_BASE_URL = "ftp://api.hubapi.com"
    assert "hubspot.E003" in [m.id for m in run_checks()]


def test_redaction_of_tokens_and_bearer_headers():
    text = "token pat-na1-11111111-2222-3333-4444-555555555555 and Authorization: Bearer abc.def"
    cleaned = redact(text)
    assert "11111111" not in cleaned and "abc.def" not in cleaned
    assert cleaned.count("[redacted]") == 2


def test_filter_cleans_messages_args_and_tracebacks():
    record_filter = RedactSecretsFilter()
    try:
        raise ValueError("bad pat-na1-11111111-2222-3333-4444-555555555555")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "using %s", ("pat-eu1-abcdefab-1234",), sys.exc_info()
        )
    assert record_filter.filter(record)
    rendered = logging.Formatter().format(record)
    assert "pat-na1-1111" not in rendered and "abcdefab" not in rendered
    assert "ValueError" in rendered
