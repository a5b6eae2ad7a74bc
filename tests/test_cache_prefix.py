"""The cache is keyed by deployment: two databases sharing one cache never see each other's keys.

The default file cache is `var/cache` of the checkout, whatever the database; without a prefix a
new database read the old one's settings, rate-limit counts and chat identities. Proven with real
processes sharing one cache directory, like a developer switching DATABASE_URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SAVE = (
    "import django, sys; django.setup();"
    "from hubspot_integration.models import HubSpotSettings as S;"
    "s = S.load(); s.portal_id = sys.argv[1]; s.save(); print(S.load().portal_id)"
)
READ = (
    "import django; django.setup();"
    "from hubspot_integration.models import HubSpotSettings as S;"
    "print(repr(S.load().portal_id))"
)
PREFIX = "import skypanel.settings as s; print(s.CACHE_KEY_PREFIX, s.CACHES['default'].get('KEY_PREFIX'))"


def _env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CACHE_URL", "CACHE_KEY_PREFIX", "DJANGO_SETTINGS_MODULE")
    }
    env.update(DJANGO_SETTINGS_MODULE="skypanel.settings", TASK_BACKEND="dummy", **extra)
    return env


def _python(code: str, env: dict, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def _two_databases(tmp_path):
    """Two migrated SQLite databases and one cache directory both processes use."""
    first = tmp_path / "first.sqlite3"
    cache_dir = tmp_path / "cache"
    env = _env(DATABASE_URL=f"sqlite:///{first}", CACHE_URL=f"filecache://{cache_dir}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    second = tmp_path / "second.sqlite3"
    shutil.copy(first, second)  # the same schema, its own rows
    return first, second, cache_dir


def test_two_databases_with_one_cache_directory_do_not_share_settings(tmp_path):
    first, second, cache_dir = _two_databases(tmp_path)
    cache_url = f"filecache://{cache_dir}"
    env_first = _env(DATABASE_URL=f"sqlite:///{first}", CACHE_URL=cache_url)
    env_second = _env(DATABASE_URL=f"sqlite:///{second}", CACHE_URL=cache_url)

    assert _python(SAVE, env_first, "1111") == "1111"  # saved, and cached in the shared directory
    assert any(cache_dir.iterdir())
    assert _python(READ, env_second) == "''"  # its own database's row, not the other's cache
    assert _python(SAVE, env_second, "2222") == "2222"
    assert _python(READ, env_first) == "'1111'"
    assert _python(READ, env_second) == "'2222'"


def test_an_explicit_cache_key_prefix_wins(tmp_path):
    first, second, cache_dir = _two_databases(tmp_path)
    cache_url = f"filecache://{cache_dir}"
    shared = {"CACHE_URL": cache_url, "CACHE_KEY_PREFIX": "one-deployment"}
    _python(SAVE, _env(DATABASE_URL=f"sqlite:///{first}", **shared), "3333")
    # Another database URL, the same explicit prefix: the same keys. The reader's database cannot
    # even be opened, so the answer can only come from the shared cache.
    missing = tmp_path / "missing-dir" / "no.sqlite3"
    assert _python(READ, _env(DATABASE_URL=f"sqlite:///{missing}", **shared)) == "'3333'"


def test_the_derived_prefix_tells_databases_apart_and_is_stable(tmp_path):
    def prefix(**env):
        return _python(PREFIX, _env(**env)).split()

    a = prefix(DATABASE_URL="postgres://u:p@db.internal:5432/skypanel")
    assert a[0] == a[1] and a[0].startswith("db-")  # applied to the configured cache
    assert prefix(DATABASE_URL="postgres://u:p@db.internal:5432/skypanel") == a  # every process
    # The password and user do not matter; the engine, name, host and port do.
    assert prefix(DATABASE_URL="postgres://other:secret@db.internal:5432/skypanel") == a
    for other in (
        "postgres://u:p@db.internal:5432/skypanel_staging",
        "postgres://u:p@db2.internal:5432/skypanel",
        "postgres://u:p@db.internal:5433/skypanel",
        "mysql://u:p@db.internal:5432/skypanel",
    ):
        assert prefix(DATABASE_URL=other) != a, other
    # A relative SQLite path names the same file from anywhere.
    here = prefix(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert prefix(DATABASE_URL=f"sqlite:///{tmp_path}/./x.sqlite3") == here


def test_a_cache_url_prefix_is_kept_unless_cache_key_prefix_is_set():
    url = "redis://127.0.0.1:6379/0?key_prefix=from-url"
    db = "postgres://u:p@db.internal:5432/skypanel"
    out = _python(PREFIX, _env(DATABASE_URL=db, CACHE_URL=url)).split()
    assert out[1] == "from-url"
    out = _python(PREFIX, _env(DATABASE_URL=db, CACHE_URL=url, CACHE_KEY_PREFIX="mine")).split()
    assert out == ["mine", "mine"]
