"""The health check backends (hubspot_integration/health.py), their registry and the command twin."""

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from hubspot_integration import health
from hubspot_integration.models import HubSpotSettings

ROOT = Path(__file__).resolve().parent.parent


class Broken(Exception):
    pass


@pytest.mark.django_db
class TestBackends:
    def test_database_fails_without_naming_the_cause(self):
        with mock.patch.object(connection, "cursor", side_effect=Broken("db.internal:5432")):
            status = health.DatabaseCheck().run()
        assert status.as_dict() == {"ok": False, "message": "The database cannot be reached."}

    def test_database_ok(self):
        from django.db import connection

        expected = {"ok": True, "message": f"{connection.vendor} answers."}
        assert health.DatabaseCheck().run().as_dict() == expected

    def test_cache_that_forgets_fails(self, settings):
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
        status = health.CacheCheck().run()
        assert not status.ok and status.message == "The cache cannot store and read a value."

    def test_cache_that_raises_fails(self):
        with mock.patch.object(health.cache, "set", side_effect=Broken("redis://secret@host")):
            status = health.CacheCheck().run()
        assert not status.ok and "secret" not in status.message

    def test_task_backend_without_its_table_fails(self):
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE django_tasks_database_dbtaskresult")
        status = health.TaskBackendCheck().run()
        assert status.as_dict() == {"ok": False, "message": "The task backend cannot be used."}

    def test_hubspot_settings_unreadable_fails(self):
        with mock.patch.object(HubSpotSettings, "load", side_effect=Broken("no such table")):
            status = health.HubSpotConfigurationCheck().run()
        assert status.as_dict() == {
            "ok": False,
            "configured": False,
            "message": "The settings cannot be read.",
        }

    def test_hubspot_undecryptable_secret_fails(self):
        s = HubSpotSettings.get_solo()
        with (
            mock.patch.object(
                HubSpotSettings, "undecryptable_fields", new=mock.PropertyMock(return_value=["x"])
            ),
            mock.patch.object(HubSpotSettings, "undecryptable_message", return_value="Lost key."),
        ):
            status = health.HubSpotConfigurationCheck().run()
        assert s.pk == 1
        assert status.as_dict() == {
            "ok": False,
            "configured": False,
            "enabled": False,
            "undecryptable": ["x"],
            "message": "Lost key.",
        }

    def test_hubspot_switched_off_passes_and_a_failed_last_check_is_reported(self):
        s = HubSpotSettings.get_solo()
        s.last_check_ok = False
        s.save()
        status = health.HubSpotConfigurationCheck().run()
        assert status.ok
        assert status.as_dict()["last_check_ok"] is False
        assert status.message == "HubSpot is switched off. The last connection check failed."


@pytest.mark.django_db
def test_hubspot_reports_the_last_connection_check_and_still_passes(hubspot_settings, fake_hubspot):
    """The keys before the watch stay; the watch adds its verdict in words and its staleness."""
    from hubspot_integration.services.connection import check_connection
    from tests.fake_hubspot import FAKE_TOKEN

    fake_hubspot.revoke_token(FAKE_TOKEN)
    check_connection()
    status = health.HubSpotConfigurationCheck().run()
    assert status.ok
    component = status.as_dict()
    assert list(component) == [
        "ok",
        "configured",
        "enabled",
        "last_check_ok",
        "last_check_at",
        "last_check_message",
        "last_check_stale",
        "message",
    ]
    assert component["last_check_ok"] is False
    assert component["last_check_message"] == "The last connection check failed: token."
    assert component["last_check_stale"] is False


class Passing(health.HealthCheck):
    name = "passing"

    def check(self):
        return health.Status(True, "Fine.")


class Failing(health.HealthCheck):
    name = "failing"
    failure_message = "It broke."

    def check(self):
        raise Broken("the cause, for the log only")


class NeedsFailing(health.HealthCheck):
    name = "dependent"
    requires = ("failing",)

    def check(self):  # pragma: no cover - skipped because `failing` fails
        raise AssertionError("should not run")


class TestRegistry:
    def test_the_app_registers_the_default_checks_in_order(self):
        assert [c.name for c in health.registry] == ["database", "cache", "tasks", "hubspot"]
        health.register_default_checks()  # idempotent
        assert [c.name for c in health.registry] == ["database", "cache", "tasks", "hubspot"]

    def test_report_success_and_failure(self):
        registry = health.Registry()
        registry.register(Passing)
        assert registry.run() == {
            "success": True,
            "message": "Healthy.",
            "components": {"passing": {"ok": True, "message": "Fine."}},
        }
        registry.register(Failing)
        registry.register(NeedsFailing)
        report = registry.run()
        assert report["success"] is False
        assert report["message"] == "Unhealthy: failing, dependent."
        assert report["components"]["failing"] == {"ok": False, "message": "It broke."}
        assert report["components"]["dependent"] == {
            "ok": False,
            "message": "Unknown: the failing is down.",
        }

    def test_register_replaces_and_unregister_removes(self):
        registry = health.Registry()
        registry.register(Passing)
        registry.register(Passing)
        assert [c.name for c in registry] == ["passing"]
        registry.unregister("passing")
        assert list(registry) == []
        with pytest.raises(ValueError):
            registry.register(health.HealthCheck)

    @pytest.mark.django_db
    def test_a_registered_check_shows_in_api_health(self):
        health.registry.register(Failing)
        try:
            response = Client().get("/api/health")
        finally:
            health.registry.unregister("failing")
        assert response.status_code == 503
        assert response.json()["details"]["components"]["failing"]["ok"] is False

    @pytest.mark.django_db
    def test_hubspot_is_unknown_when_the_database_is_down(self):
        with mock.patch.object(health.DatabaseCheck, "check", side_effect=Broken()):
            report = health.registry.run()
        assert report["components"]["hubspot"] == {
            "ok": False,
            "configured": False,
            "message": "Unknown: the database is down.",
        }


@pytest.mark.django_db
def test_command_prints_each_check(capsys):
    call_command("hubspot_health")
    out = capsys.readouterr().out
    for name in ("database", "cache", "tasks", "hubspot"):
        assert name in out
    assert "HubSpot is switched off." in out


@pytest.mark.django_db
def test_command_raises_on_failure(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with pytest.raises(CommandError, match="Unhealthy: cache."):
        call_command("hubspot_health")


def test_command_exit_status_in_a_subprocess(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUBSPOT_")},
        "DJANGO_SETTINGS_MODULE": "skypanel.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
        "CACHE_URL": f"filecache://{tmp_path / 'cache'}",
    }

    def manage(*args, **extra):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert manage("migrate", "-v0").returncode == 0
    out = manage("hubspot_health")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "database" in out.stdout and "Traceback" not in out.stderr

    out = manage("hubspot_health", CACHE_URL="dummycache://")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Unhealthy: cache." in out.stderr and "Traceback" not in out.stderr
