"""The shipped translations: every marked string of the code and templates is translated.

The catalogue is checked against what `makemessages` collects from the source today (run on a
copy of the tree, so the committed catalogue is not touched): a string marked for translation
but missing from locale/de, or left fuzzy or empty there, fails with its text.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("hubspot_integration", "skypanel", "templates", "manage.py", "locale")
IGNORED = ("*.pyc", "__pycache__", "*.mo", "static")

pytestmark = pytest.mark.skipif(shutil.which("msgcmp") is None, reason="gettext is not installed")


def _collect(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns(*IGNORED))
        else:
            shutil.copy(source, tree / name)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "de", "--no-obsolete"],
        cwd=tree,
        check=True,
        capture_output=True,
    )
    return tree / "locale" / "de" / "LC_MESSAGES" / "django.po"


def test_every_marked_string_has_a_german_translation(tmp_path):
    collected = _collect(tmp_path)
    shipped = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"
    # msgcmp: each msgid of the collected catalogue must be translated (not fuzzy) in the shipped.
    result = subprocess.run(
        ["msgcmp", str(shipped), str(collected)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-4000:]


def test_the_shipped_catalogue_compiles_cleanly(tmp_path):
    shipped = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "de.mo"), str(shipped)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, result.stderr


@pytest.mark.django_db
def test_german_is_served_to_a_german_browser(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "de"
    with translation.override("de"):
        assert translation.get_language() == "de"
