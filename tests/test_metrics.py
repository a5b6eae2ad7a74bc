"""`/metrics`: who may scrape it, and that it counts what the panel does, in any process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from hubspot_integration import errors, metrics
from hubspot_integration.client import HubSpotClient
from hubspot_integration.models import ContactImport, OutboxOperation
from tests.fake_hubspot import FAKE_TOKEN

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "skypanel-hubspot.json"
TOKEN = "metrics-test-token-0123456789abcdef"

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return TOKEN


def scrape(client=None, **headers) -> dict:
    """{(name, labels as a sorted tuple): value} of one authorised scrape."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- who may scrape ------------------------------------------------------------------------------
def test_refused_without_the_token(client, token):
    response = client.get("/metrics")
    assert response.status_code == 403
    assert b"skypanel_hubspot" not in response.content


@pytest.mark.parametrize(
    "header",
    ["Bearer wrong-token-0123456789", f"Token {TOKEN}", f"Bearer {TOKEN}x", "Bearer", "Basic x"],
)
def test_refused_with_a_wrong_token(client, token, header):
    assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 403


def test_served_with_the_token(token):
    assert (f"{metrics.PREFIX}database_metrics_up", ()) in scrape()


def test_neither_configured_refuses_everyone_whatever_they_send(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 403
    assert client.get("/metrics").status_code == 403


@pytest.mark.parametrize(
    ("allowed", "remote", "status"),
    [
        (["127.0.0.1"], "127.0.0.1", 200),
        (["10.0.0.0/8"], "10.20.30.40", 200),
        (["10.0.0.0/8"], "192.168.0.1", 403),
        (["fd00::/8"], "fd00::1", 200),
        (["10.0.0.0/8"], "::ffff:10.1.1.1", 200),
        (["not-an-address", "10.0.0.1"], "10.0.0.1", 200),
    ],
)
def test_allowed_addresses_and_ranges(client, settings, allowed, remote, status):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = allowed
    assert client.get("/metrics", REMOTE_ADDR=remote).status_code == status


def test_the_allowed_address_is_the_one_behind_the_trusted_proxies(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    behind = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.9.9.9"}
    settings.TRUSTED_PROXY_COUNT = 0  # the header is the client's word: not believed
    assert client.get("/metrics", **behind).status_code == 403
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get("/metrics", **behind).status_code == 200
    # A client cannot write itself into the allowed range in front of the proxy's entry.
    spoofed = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.9.9.9, 203.0.113.5"}
    assert client.get("/metrics", **spoofed).status_code == 403


def test_only_get(client, token):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405


def test_a_bad_metrics_address_is_a_system_check_error(settings):
    from hubspot_integration.checks import check_metrics_access

    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "office"]
    assert [e.id for e in check_metrics_access(None)] == ["hubspot.E012"]


def test_the_token_is_redacted_from_logs():
    from hubspot_integration.apps import HubSpotIntegrationConfig
    from hubspot_integration.logging import redact

    with mock.patch("django.conf.settings.METRICS_TOKEN", "scrape-secret-42-abcdef", create=True):
        HubSpotIntegrationConfig.remember_metrics_token()
    assert "scrape-secret-42-abcdef" not in redact("header: scrape-secret-42-abcdef")


# --- what is counted -----------------------------------------------------------------------------
def test_a_hubspot_call_is_counted_by_operation_and_status(fake_hubspot, token):
    name = f"{metrics.PREFIX}calls_total"
    before = sample(name, operation="account.details", status="200")
    timed = sample(f"{metrics.PREFIX}call_duration_seconds_count", operation="account.details")
    HubSpotClient(FAKE_TOKEN, base_url=fake_hubspot.url).account_details()
    assert sample(name, operation="account.details", status="200") == before + 1
    assert (
        sample(f"{metrics.PREFIX}call_duration_seconds_count", operation="account.details")
        == timed + 1
    )
    scraped = scrape()
    assert scraped[(name, (("operation", "account.details"), ("status", "200")))] == before + 1


def rate_limited_total() -> float:
    """429s counted in this process, whatever HubSpot's policy name."""
    return sum(
        s.value
        for family in REGISTRY.collect()
        if family.name == f"{metrics.PREFIX}rate_limited"
        for s in family.samples
        if s.name.endswith("_total")
    )


def test_a_429_is_counted(fake_hubspot, token):
    fake_hubspot.faults.burst_429(1, retry_after=1)
    client = HubSpotClient(FAKE_TOKEN, base_url=fake_hubspot.url, portal_id="metrics-429")
    before = rate_limited_total()
    calls = sample(f"{metrics.PREFIX}calls_total", operation="account.details", status="429")
    with pytest.raises(errors.RateLimited) as raised:
        client.account_details()
    policy = raised.value.policy or "unknown"
    assert sample(f"{metrics.PREFIX}rate_limited_total", policy=policy) >= 1
    after = rate_limited_total()
    assert after == before + 1
    assert (
        sample(f"{metrics.PREFIX}calls_total", operation="account.details", status="429")
        == calls + 1
    )


def test_a_transport_error_is_counted_by_its_kind(token):
    # Nothing listens on port 9 of 127.0.0.1: refused at once.
    client = HubSpotClient(FAKE_TOKEN, base_url="http://127.0.0.1:9", portal_id="metrics-down")
    before = sample(
        f"{metrics.PREFIX}calls_total", operation="account.details", status="unreachable"
    )
    with pytest.raises(errors.Unavailable):
        client.account_details()
    assert (
        sample(f"{metrics.PREFIX}calls_total", operation="account.details", status="unreachable")
        == before + 1
    )


def test_the_limiter_wait_is_observed(token):
    from hubspot_integration.ratelimit import RateLimiter

    name = f"{metrics.PREFIX}limiter_wait_seconds_count"
    acquired, gave_up = sample(name, outcome="acquired"), sample(name, outcome="gave_up")
    limiter = RateLimiter(scope="metrics-wait", calls_per_10s=1)
    limiter.limit = 1
    limiter.acquire(max_wait=0)
    with pytest.raises(errors.RateLimited):
        limiter.acquire(max_wait=0)
    assert sample(name, outcome="acquired") == acquired + 1
    assert sample(name, outcome="gave_up") == gave_up + 1


def test_webhook_lag_and_identification_cache_helpers():
    lag = sample(f"{metrics.PREFIX}webhook_delivery_lag_seconds_count")
    metrics.webhook_received(1_000_000, now=1_030.0)  # occurred 30 s before it arrived
    metrics.webhook_received("not a time")  # no lag to tell: not observed
    assert sample(f"{metrics.PREFIX}webhook_delivery_lag_seconds_count") == lag + 1
    hits = sample(f"{metrics.PREFIX}identification_cache_total", result="hit")
    metrics.identification_cache(hit=True)
    assert sample(f"{metrics.PREFIX}identification_cache_total", result="hit") == hits + 1


def test_outbox_rows_and_oldest_pending_age(token):
    pending = OutboxOperation.Status.PENDING
    old = OutboxOperation.objects.create(kind=OutboxOperation.Kind.CREATE_CONTACT, status=pending)
    OutboxOperation.objects.create(kind=OutboxOperation.Kind.CREATE_CONTACT, status=pending)
    OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_TICKET, status=OutboxOperation.Status.FAILED
    )
    OutboxOperation.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(minutes=20)
    )
    scraped = scrape()
    rows = f"{metrics.PREFIX}outbox_rows"
    assert scraped[(rows, (("state", "pending"),))] == 2
    assert scraped[(rows, (("state", "failed"),))] == 1
    assert scraped[(rows, (("state", "succeeded"),))] == 0
    age = scraped[(f"{metrics.PREFIX}outbox_oldest_pending_age_seconds", ())]
    assert 20 * 60 <= age < 21 * 60


def test_no_pending_row_is_age_zero(token):
    assert scrape()[(f"{metrics.PREFIX}outbox_oldest_pending_age_seconds", ())] == 0


def test_running_imports_progress(token):
    running = ContactImport.objects.create(
        status=ContactImport.Status.RUNNING, total_rows=1000, processed_rows=400
    )
    ContactImport.objects.create(status=ContactImport.Status.DONE, total_rows=5, processed_rows=5)
    scraped = scrape()
    label = (("import_id", str(running.pk)),)
    assert scraped[(f"{metrics.PREFIX}import_processed_rows", label)] == 400
    assert scraped[(f"{metrics.PREFIX}import_expected_rows", label)] == 1000
    assert scraped[(f"{metrics.PREFIX}imports_running", ())] == 1


def test_a_database_error_still_serves_the_process_metrics(token):
    errors_before = sample(f"{metrics.PREFIX}scrape_errors_total")
    with mock.patch.object(OutboxOperation.objects, "order_by", side_effect=DatabaseError("down")):
        scraped = scrape()
    assert scraped[(f"{metrics.PREFIX}database_metrics_up", ())] == 0
    assert not any(name == f"{metrics.PREFIX}outbox_rows" for name, _ in scraped)
    assert sample(f"{metrics.PREFIX}scrape_errors_total") == errors_before + 1


# --- every process counts ------------------------------------------------------------------------
def _run_in_another_process(code: str, multiproc_dir: Path) -> str:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "DJANGO_SETTINGS_MODULE": "skypanel.settings",
        "CACHE_URL": "locmemcache://",
    }
    prelude = "import django, os\ndjango.setup()\n"
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_a_call_made_in_another_process_is_counted(fake_hubspot, token, tmp_path, monkeypatch):
    shared = tmp_path / "metrics"
    _run_in_another_process(
        "from hubspot_integration.client import HubSpotClient\n"
        f"HubSpotClient({FAKE_TOKEN!r}, base_url={fake_hubspot.url!r}).account_details()\n",
        shared,
    )
    assert list(shared.glob("counter_*.db")), "the other process wrote no metrics file"
    # This process scrapes the shared directory, as every gunicorn worker does.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    scraped = scrape()
    key = (
        f"{metrics.PREFIX}calls_total",
        (("operation", "account.details"), ("status", "200")),
    )
    assert scraped[key] == 1  # the other process's call, not this process's own counters
    histogram = (
        f"{metrics.PREFIX}call_duration_seconds_count",
        (("operation", "account.details"),),
    )
    assert scraped[histogram] == 1
    # The database's figures are still read by the scraping process.
    assert scraped[(f"{metrics.PREFIX}database_metrics_up", ())] == 1


def test_a_dead_process_stops_counting_in_live_gauges(tmp_path, monkeypatch, token):
    shared = tmp_path / "metrics"
    pid = _run_in_another_process(
        "from hubspot_integration import metrics\n"
        "metrics.CALLS_IN_FLIGHT.inc()  # exits mid-call, as a killed worker would\n"
        "metrics.CALLS.labels('objects.get', '200').inc()\n"
        "print(os.getpid())\n",
        shared,
    )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    in_flight = (f"{metrics.PREFIX}calls_in_flight", ())
    calls = (f"{metrics.PREFIX}calls_total", (("operation", "objects.get"), ("status", "200")))
    scraped = scrape()
    assert scraped[in_flight] == 1 and scraped[calls] == 1
    metrics.mark_process_dead(int(pid))  # gunicorn's child_exit
    scraped = scrape()
    assert scraped.get(in_flight, 0) == 0
    assert scraped[calls] == 1  # counters keep the dead process's work
    # A new start removes the files of this host's processes that no longer run.
    assert metrics.clean_multiprocess_dir(str(shared)) >= 1
    assert not list(shared.glob("*.db"))


# --- the Grafana dashboard ------------------------------------------------------------------------
def exposed_names() -> set[str]:
    names = set(metrics.DATABASE_METRICS)
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            kind, name = value._type, value._name
            if kind == "counter":
                names.add(name + "_total")
            elif kind == "histogram":
                names.update(name + suffix for suffix in ("_bucket", "_count", "_sum"))
            else:
                names.add(name)
    return names


def test_the_dashboard_uses_only_metrics_that_exist():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 36
    variables = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variables and variables[0]["query"] == "prometheus"
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert len(exprs) >= 9
    used = {name for expr in exprs for name in re.findall(r"skypanel_hubspot_\w+", expr)}
    unknown = used - exposed_names()
    assert not unknown, f"the dashboard uses metrics that metrics.py does not define: {unknown}"
    # Every metric the panel exports is on the dashboard somewhere.
    bases = {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in used}
    defined = {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in exposed_names()}
    assert defined - bases <= {
        f"{metrics.PREFIX}scrape_errors",
        f"{metrics.PREFIX}database_metrics_up",
        f"{metrics.PREFIX}imports_running",
    }


def test_the_readme_names_the_metrics_settings_and_the_alerts():
    readme = (ROOT / "README.md").read_text()
    for name in ("`METRICS_TOKEN`", "`METRICS_ALLOWED_IPS`", "`PROMETHEUS_MULTIPROC_DIR`"):
        assert name in readme
    assert "deploy/grafana/skypanel-hubspot.json" in readme
