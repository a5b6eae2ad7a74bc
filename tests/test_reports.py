"""Reporting through the fake HubSpot (real SDK): exact figures, caching, refresh, per-card errors,
and the reporting API's permissions and envelope."""

from collections import Counter
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token

from hubspot_integration.services import pipelines, reports
from hubspot_integration.tickets import service as tickets
from tests.fake_hubspot import CONTACT_FORM_ID, FAKE_TOKEN, NEWSLETTER_FORM_ID
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(hubspot_settings, fake_hubspot):
    fake_hubspot.seed_contacts(2500)
    fake_hubspot.seed_companies(40)
    fake_hubspot.seed_deals(350, pipelines=2)
    fake_hubspot.seed_tickets(120)
    fake_hubspot.analytics.add_submissions(CONTACT_FORM_ID, 30, days=20)
    fake_hubspot.analytics.form_views[CONTACT_FORM_ID] = 600
    return fake_hubspot


def expected_deals(fake):
    deals = fake.objects("deals")
    closed = {
        st["id"]
        for p in fake.pipelines("deals")
        for st in p["stages"]
        if st["metadata"]["isClosed"] == "true"
    }
    total = sum(Decimal(d["properties"]["amount"]) for d in deals)
    open_value = sum(
        Decimal(d["properties"]["amount"])
        for d in deals
        if d["properties"]["dealstage"] not in closed
    )
    return deals, total, open_value


def api(user, path):
    response = client_for(user).get(path)
    return response.status_code, response.json()


def test_summary_numbers_are_exact(seeded, hubspot_staff):
    deals, total, open_value = expected_deals(seeded)
    assert total > 0 and len(deals) == 350
    status, body = api(hubspot_staff, "/api/hubspot/crm/summary")
    assert status == 200, body
    assert body["success"] is True and body["timestamp"]
    data = body["data"]
    assert data["contacts_count"] == 2500
    assert data["companies_count"] == 40
    assert data["deals_count"] == 350
    assert data["total_deal_value"] == total  # every page summed, not the first 100
    assert data["open_deal_value"] == open_value
    assert seeded.server_errors == []


def test_pipeline_counts_in_hubspot_order(seeded, hubspot_staff):
    status, body = api(hubspot_staff, "/api/hubspot/deals/pipeline")
    assert status == 200
    stages = body["data"]["stages"]
    expected_order = [
        (p["id"], st["id"], st["label"], p["label"])
        for p in seeded.pipelines("deals")
        for st in sorted(p["stages"], key=lambda s: s["displayOrder"])
    ]
    assert [(s["pipeline"], s["stage"], s["label"], s["pipeline_label"]) for s in stages] == (
        expected_order
    )
    counts = Counter(
        (d["properties"]["pipeline"], d["properties"]["dealstage"]) for d in seeded.objects("deals")
    )
    values = Counter()
    for d in seeded.objects("deals"):
        key = (d["properties"]["pipeline"], d["properties"]["dealstage"])
        values[key] += int(d["properties"]["amount"])
    for s in stages:
        assert s["deal_count"] == counts[(s["pipeline"], s["stage"])]
        assert s["total_value"] == values[(s["pipeline"], s["stage"])]
    assert sum(s["deal_count"] for s in stages) == 350
    assert len({s["pipeline"] for s in stages}) == 2


def test_recent_contacts_newest_first(seeded, hubspot_staff):
    status, body = api(hubspot_staff, "/api/hubspot/contacts/recent?limit=5")
    assert status == 200
    newest = sorted(seeded.objects("contacts"), key=lambda c: c["createdAt"], reverse=True)[:5]
    assert [c["id"] for c in body["data"]] == [c["id"] for c in newest]
    first = body["data"][0]
    assert set(first) == {"id", "firstname", "lastname", "email", "company", "createdate"}
    assert first["email"] == newest[0]["properties"]["email"]


def test_tickets_by_status(seeded):
    open_stages = {
        st["id"]
        for p in seeded.pipelines("tickets")
        for st in p["stages"]
        if st["metadata"]["ticketState"] == "OPEN"
    }
    tickets = seeded.objects("tickets")
    expected_open = sum(1 for t in tickets if t["properties"]["hs_pipeline_stage"] in open_stages)
    got = reports.tickets_by_status().data
    assert got == {"open": expected_open, "closed": 120 - expected_open}
    assert 0 < expected_open < 120


def test_forms_and_analytics(seeded, hubspot_staff):
    status, body = api(hubspot_staff, "/api/hubspot/forms?days=30")
    assert status == 200
    rows = {f["form_id"]: f for f in body["data"]}
    assert rows[CONTACT_FORM_ID]["submissions"] == 30
    assert rows[CONTACT_FORM_ID]["conversion_rate"] == pytest.approx(30 / 600)
    assert rows[NEWSLETTER_FORM_ID]["conversion_rate"] is None  # no views given
    assert rows[CONTACT_FORM_ID]["form_name"] == "Contact us"

    status, body = api(hubspot_staff, "/api/hubspot/analytics?days=7")
    assert status == 200
    assert body["data"]["page_views"] == 7 * seeded.analytics.pageviews_per_day
    assert body["data"]["sessions"] == 7 * seeded.analytics.visits_per_day
    assert body["data"]["new_contacts"] > 0


def test_missing_analytics_scope_degrades(seeded, hubspot_settings):
    from tests.fake_hubspot import ALL_SCOPES

    limited = "pat-na1-99999999-2222-3333-4444-555555555555"
    seeded.add_token(limited, [s for s in ALL_SCOPES if s != "business-intelligence"])
    hubspot_settings.access_token = limited
    hubspot_settings.save()
    seeded.analytics.add_submissions(NEWSLETTER_FORM_ID, 3)
    cards = reports.dashboard()
    assert not cards["analytics"].ok
    assert "business-intelligence" in cards["analytics"].error
    assert cards["analytics"].missing_scopes == ["business-intelligence"]
    forms = cards["forms"]
    assert forms.ok, forms.error  # falls back to counting submissions, no rates
    rows = {f["form_id"]: f for f in forms.data["forms"]}
    assert rows[CONTACT_FORM_ID]["submissions"] == 30
    assert rows[NEWSLETTER_FORM_ID]["submissions"] == 3
    assert rows[CONTACT_FORM_ID]["conversion_rate"] is None
    assert "business-intelligence" in forms.data["note"]
    assert cards["summary"].ok and cards["summary"].data["contacts_count"] == 2500
    assert FAKE_TOKEN not in str(cards) and limited not in str(cards)


def test_second_load_is_cached_and_refresh_asks_again(seeded):
    first = reports.dashboard()
    assert all(c.ok for c in first.values()), {k: c.error for k, c in first.items()}
    calls = seeded.count()
    second = reports.dashboard()
    assert seeded.count() == calls  # not one HubSpot call
    assert all(c.from_cache for c in second.values())
    assert second["summary"].fetched_at == first["summary"].fetched_at
    reports.refresh()
    reports.dashboard()
    assert seeded.count() > calls


def test_the_dashboard_and_the_ticket_pages_read_the_same_cached_pipelines(seeded):
    reports.dashboard()
    calls = seeded.count()
    assert [p["id"] for p in tickets.pipelines()] == [p["id"] for p in seeded.pipelines("tickets")]
    assert seeded.count() == calls  # the dashboard's read filled the ticket pages' cache
    reports.refresh()
    assert pipelines.cached("tickets") is None and pipelines.cached("deals") is None


@pytest.mark.parametrize(
    "metadata, state",
    [
        ({"ticketState": "OPEN"}, "open"),
        ({"ticketState": "CLOSED"}, "closed"),
        ({"isClosed": "true", "probability": "1.0"}, "closed"),
        ({"isClosed": "false"}, "open"),
        ({}, "open"),
    ],
)
def test_a_stage_is_open_or_closed_by_what_hubspot_says_of_it(metadata, state):
    assert pipelines.stage_state({"id": "1", "metadata": metadata}) == state


def test_settings_change_invalidates(seeded, hubspot_settings):
    reports.dashboard()
    calls = seeded.count()
    hubspot_settings.dashboard_cache_seconds = 600
    hubspot_settings.save()
    reports.dashboard()
    assert seeded.count() > calls


def test_zero_ttl_never_caches(seeded, hubspot_settings):
    hubspot_settings.dashboard_cache_seconds = 0
    hubspot_settings.save()
    reports.summary()
    calls = seeded.count()
    reports.summary()
    assert seeded.count() > calls


def test_one_failing_card_leaves_the_others(seeded):
    seeded.faults.fail_next(50, status=503, path_prefix="/crm/objects/2026-09/deals")
    cards = reports.dashboard()
    assert not cards["summary"].ok and not cards["pipeline"].ok
    assert "server error (503)" in cards["pipeline"].error
    for name in ("tickets", "recent_contacts", "forms", "analytics"):
        assert cards[name].ok, (name, cards[name].error)
    seeded.faults.clear()
    assert reports.dashboard()["summary"].ok  # errors are not cached


def test_api_refresh_and_cache_flags(seeded, hubspot_staff):
    _, first = api(hubspot_staff, "/api/hubspot/crm/summary")
    calls = seeded.count()
    _, second = api(hubspot_staff, "/api/hubspot/crm/summary")
    assert second["cached"] is True and seeded.count() == calls
    _, third = api(hubspot_staff, "/api/hubspot/crm/summary?refresh=true")
    assert third["cached"] is False and seeded.count() > calls


def test_hubspot_error_uses_envelope(seeded, hubspot_staff):
    seeded.faults.fail_next(50, status=503, path_prefix="/crm/objects/2026-09/deals")
    status, body = api(hubspot_staff, "/api/hubspot/deals/pipeline")
    assert status == 503
    assert body["success"] is False and "503" in body["message"] and "details" in body


REPORT_PATHS = [
    "/api/hubspot/crm/summary",
    "/api/hubspot/contacts/recent?limit=3",
    "/api/hubspot/deals/pipeline",
    "/api/hubspot/analytics",
    "/api/hubspot/forms",
]


@pytest.mark.parametrize("path", REPORT_PATHS)
@pytest.mark.parametrize(
    "who, expected",
    [
        ("superuser", 200),
        ("admin", 200),
        ("staff", 200),
        ("plain_staff", 403),
        ("customer", 403),
        (None, 401),
    ],
)
def test_permission_matrix(hubspot_settings, users, path, who, expected):
    status, body = api(users[who] if who else None, path)
    assert status == expected, body
    if expected != 200:
        assert body["success"] is False and body["message"] and "details" in body


def test_api_token_authentication(hubspot_settings, hubspot_staff):
    from django.test import Client

    token = Token.objects.create(user=hubspot_staff)
    response = Client().get("/api/hubspot/crm/summary", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    bad = Client().get("/api/hubspot/crm/summary", HTTP_AUTHORIZATION="Token nope")
    assert bad.status_code == 401
    assert bad.json()["success"] is False


def test_not_configured_is_an_envelope(db, hubspot_staff):
    status, body = api(hubspot_staff, "/api/hubspot/crm/summary")
    assert status == 409
    assert body["success"] is False and "HubSpot" in body["message"]


def test_health_is_public_and_secret_free(hubspot_settings):
    from django.test import Client

    response = Client().get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert set(body["components"]) == {"database", "cache", "tasks", "hubspot"}
    assert body["components"]["hubspot"]["configured"] is True
    text = response.content.decode()
    assert FAKE_TOKEN not in text and "pat-" not in text
    assert hubspot_settings.portal_id not in text


def test_health_reports_a_broken_cache(db, settings):
    from django.test import Client

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    response = Client().get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False and "cache" in body["message"]
    assert body["details"]["components"]["cache"]["ok"] is False


def test_health_checks_the_task_backend_behind_the_proxy(db, settings):
    """The database backend's table is queried: without it, tasks cannot be queued."""
    from django.db import connection
    from django.test import Client

    body = Client().get("/api/health").json()
    assert body["components"]["tasks"] == {
        "ok": True,
        "message": "Task backend DatabaseBackend is ready.",
    }
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE django_tasks_database_dbtaskresult")
    response = Client().get("/api/health")
    assert response.status_code == 503
    assert response.json()["details"]["components"]["tasks"]["ok"] is False


def test_health_reports_an_unreachable_task_queue(db, settings):
    """With the RQ backend, Redis that does not answer is a failed component, not a 500."""
    from django.test import Client

    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1}}
    response = Client().get("/api/health")
    body = response.json()
    assert response.status_code == 503
    assert body["details"]["components"]["tasks"] == {
        "ok": False,
        "message": "The task backend cannot be used.",
    }


# --- the reporting API when HubSpot cannot be asked ----------------------------------------------
HTML = "<html><body><h1>Sign in to the guest Wi-Fi</h1></body></html>"


def test_api_refresh_while_hubspot_is_down_answers_the_last_figures_marked_stale(
    seeded, hubspot_staff
):
    status, first = api(hubspot_staff, "/api/hubspot/crm/summary")
    assert status == 200 and first["stale"] is False and first["error"] == ""
    seeded.faults.down()
    status, body = api(hubspot_staff, "/api/hubspot/crm/summary?refresh=true")
    assert status == 200, body
    assert body["stale"] is True and body["cached"] is True
    assert "server error (503)" in body["error"]
    assert body["data"] == first["data"] and body["fetched_at"] == first["fetched_at"]
    seeded.faults.up()
    status, body = api(hubspot_staff, "/api/hubspot/crm/summary?refresh=true")
    assert status == 200 and body["stale"] is False and body["fetched_at"] > first["fetched_at"]


@pytest.mark.parametrize(
    "path, body",
    [(path, HTML) for path in REPORT_PATHS]
    + [
        (path, '"not an object"') for path in REPORT_PATHS if "analytics" in path or "forms" in path
    ],
)
def test_api_answer_that_is_not_hubspots_is_503_not_500(seeded, hubspot_staff, path, body):
    seeded.faults.fail_next(40, status=200, body=body)
    status, answer = api(hubspot_staff, path)
    assert status == 503, answer
    assert answer["success"] is False and answer["details"]["kind"] == "unavailable"
    assert seeded.server_errors == []
