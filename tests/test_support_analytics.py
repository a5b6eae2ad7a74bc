"""Support analytics through the fake HubSpot (real SDK): exact for 12,000 tickets, cached,
refreshed, stale or the error envelope when HubSpot is down, staff only, charted on the dashboard.

The expected figures are computed here from what was seeded, not by the code under test."""

import datetime as dt
import math
from collections import Counter

import pytest
from django.utils import timezone

from hubspot_integration.services import report_cache, support_reports
from tests.fake_hubspot import ALL_SCOPES, FAKE_TOKEN
from tests.fake_hubspot.common import iso
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

URL = "/api/hubspot/support/summary"
DASHBOARD = "/admin/hubspot_integration/crmdashboard/"
DAY = 86_400_000
MINUTE = 60_000
PRIORITIES = ["LOW", "MEDIUM", "HIGH", "URGENT", None]


def _start_ms(period):
    today = timezone.now().astimezone(dt.UTC).date()
    first = today - dt.timedelta(days=period - 1)
    return int(dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC).timestamp() * 1000)


def _date(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date().isoformat()


def _median(values):
    s, n = sorted(values), len(values)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _p90(values):
    s = sorted(values)
    return s[math.ceil(len(s) * 9 / 10) - 1]


def seed_support(fake, n):
    """n tickets created from 40 days before the 30-day period to its last day: about a third
    open, spread over every open stage and priority; the others closed after a known time."""
    pipes = fake.pipelines("tickets")
    open_stages = [
        (p["id"], s["id"])
        for p in pipes
        for s in p["stages"]
        if s["metadata"]["ticketState"] == "OPEN"
    ]
    closed_stages = [
        (p["id"], s["id"])
        for p in pipes
        for s in p["stages"]
        if s["metadata"]["ticketState"] == "CLOSED"
    ]
    first = _start_ms(30) - 40 * DAY
    now = int(timezone.now().timestamp() * 1000)
    step = (now - DAY - first) // n
    rows, seeded = [], []
    for i in range(n):
        created = first + i * step + i % 7
        closed = created + ((i * 37) % 2880 + 1) * MINUTE
        if i % 3 == 0 or closed >= now:
            closed = None
        pipeline, stage = (closed_stages if closed else open_stages)[i % 5 % 2 if closed else i % 5]
        props = {"subject": f"Ticket {i}", "hs_pipeline": pipeline, "hs_pipeline_stage": stage}
        if PRIORITIES[i % 5]:
            props["hs_ticket_priority"] = PRIORITIES[i % 5]
        if closed:
            props["closed_date"] = iso(closed)
        rows.append((props, created))
        seeded.append((created, closed, stage, PRIORITIES[i % 5]))
    fake.state.bulk_insert("tickets", rows)
    return seeded, open_stages


def expected(seeded, open_stages, period):
    start = _start_ms(period)
    days = [_date(start + i * DAY) for i in range(period)]
    opened = Counter(_date(c) for c, _, _, _ in seeded if c >= start)
    closed = Counter(_date(x) for _, x, _, _ in seeded if x and x >= start)
    times = [x - c for c, x, _, _ in seeded if x and x >= start]
    open_rows = [(stage, prio) for _, x, stage, prio in seeded if not x]
    by_stage = Counter(stage for stage, _ in open_rows)
    by_priority = Counter(prio or "" for _, prio in open_rows)
    return {
        "per_day": [{"date": d, "opened": opened[d], "closed": closed[d]} for d in days],
        "opened": sum(opened.values()),
        "closed": sum(closed.values()),
        "median": _median(times) / 1000,
        "p90": _p90(times) / 1000,
        "count": len(times),
        "by_stage": {s: by_stage[s] for _, s in open_stages},
        "by_priority": by_priority,
    }


@pytest.fixture
def support(hubspot_settings, fake_hubspot):
    seeded, open_stages = seed_support(fake_hubspot, 12_000)
    return fake_hubspot, seeded, open_stages


def seed_chats(fake):
    """Threads before and in the 7-day period, answered after known times, one unanswered."""
    start = _start_ms(7)
    now = int(timezone.now().timestamp() * 1000)
    threads = []
    for i, created in enumerate([start - 3 * DAY, *[start + k * 7 * 3_600_000 for k in range(6)]]):
        created = min(created, now - 10 * MINUTE)
        closed = created + 2 * MINUTE if i % 2 else None
        t = fake.add_thread(at=created, status="CLOSED" if closed else "OPEN", closed_at=closed)
        fake.add_message(t["id"], "Hello?", at=created + 1000)
        reply = None
        if i != 3:
            fake.add_message(t["id"], "Note", type="COMMENT", sender="Agent", at=created + 2000)
            m = fake.add_message(
                t["id"], "Hi!", direction="OUTGOING", sender="Agent", at=created + (i + 1) * 30_000
            )
            reply = int(dt.datetime.fromisoformat(m["createdAt"]).timestamp() * 1000) - created
        threads.append((created, closed, reply))
    return threads, start


@pytest.mark.parametrize("period", [30, 90])
def test_support_summary_is_exact_for_12000_tickets(support, hubspot_staff, period):
    fake, seeded, open_stages = support
    want = expected(seeded, open_stages, period)
    before = fake.count()
    response = client_for(hubspot_staff).get(f"{URL}?period={period}")
    assert response.status_code == 200, response.content
    body = response.json()
    calls = fake.count() - before
    assert body["success"] is True and body["cached"] is False and body["stale"] is False
    data = body["data"]
    assert data["period"] == period and data["start"] == want["per_day"][0]["date"]
    t = data["tickets"]
    assert t["per_day"] == want["per_day"]
    # The exact figures are the seed's (they move with the time of day); the floors only say the
    # period held thousands of tickets.
    assert t["opened"] == want["opened"] > 4_000
    assert t["closed"] == want["closed"] > 2_500
    assert t["time_to_close"] == {
        "count": want["count"],
        "median_seconds": want["median"],
        "p90_seconds": want["p90"],
    }
    assert {s["stage"]: s["count"] for s in t["open_by_stage"]} == want["by_stage"]
    assert {p["priority"]: p["count"] for p in t["open_by_priority"]} == want["by_priority"]
    assert [p["label"] for p in t["open_by_priority"]][:4] == ["Low", "Medium", "High", "Urgent"]
    assert data["chat"]["opened"] == 0 and data["chat_note"] == ""
    # Every closed ticket is read (200 a page, one more search where a window passes 10,000),
    # the opened per day counted the cheaper way: a search a day, or every page of the period.
    pages = math.ceil(want["closed"] / 200) + 1
    opened_calls = 1 + min(period, math.ceil(want["opened"] / 200) + 1)
    # + the pipelines, a search per open stage (5) and priority (4), the threads' one page.
    assert calls <= opened_calls + pages + 1 + 9 + 1, calls
    assert fake.server_errors == []
    # Cached: a second call asks HubSpot nothing; refresh reads again.
    before = fake.count()
    again = client_for(hubspot_staff).get(f"{URL}?period={period}").json()
    assert again["cached"] is True and fake.count() == before
    assert again["data"] == data
    fresh = client_for(hubspot_staff).get(f"{URL}?period={period}&refresh=true").json()
    assert fresh["cached"] is False and fake.count() > before
    assert fresh["data"]["tickets"] == t


def test_a_quiet_period_is_read_and_a_busy_one_counted_per_day(hubspot_settings, fake_hubspot):
    seeded, open_stages = seed_support(fake_hubspot, 600)
    want = expected(seeded, open_stages, 7)
    got = support_reports.summary(7).data["tickets"]
    assert got["per_day"] == want["per_day"] and got["opened"] == want["opened"]
    assert got["time_to_close"]["median_seconds"] == want["median"]
    assert got["time_to_close"]["p90_seconds"] == want["p90"]


def test_chat_threads_and_time_to_first_reply(hubspot_settings, fake_hubspot):
    threads, start = seed_chats(fake_hubspot)
    chat = support_reports.summary(7).data["chat"]
    in_period = [t for t in threads if t[0] >= start]
    assert chat["opened"] == len(in_period) == 6
    assert chat["closed"] == sum(1 for t in threads if t[1] and t[1] >= start)
    replies = [r for c, _, r in in_period if r is not None]
    assert chat["first_reply"] == {
        "count": len(replies),
        "median_seconds": _median(replies) / 1000,
        "unanswered": 1,
    }
    assert sum(d["opened"] for d in chat["per_day"]) == 6


def test_without_conversations_scope_the_chat_says_so_and_tickets_show(
    hubspot_settings, fake_hubspot
):
    limited = "pat-na1-no-conversations"
    fake_hubspot.add_token(limited, [s for s in ALL_SCOPES if s != "conversations.read"])
    hubspot_settings.access_token = limited
    hubspot_settings.save()
    fake_hubspot.seed_tickets(20)
    data = support_reports.summary(30).data
    assert data["chat"] is None and "conversations.read" in data["chat_note"]
    assert sum(s["count"] for s in data["tickets"]["open_by_stage"]) > 0
    page = client_for_superuser_page(hubspot_settings)
    assert 'id="support-chat-note"' in page and "conversations.read" in page
    assert limited not in page and FAKE_TOKEN not in page


def client_for_superuser_page(_settings):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("support-su", "su@example.com", "x")
    return client_for(user).get(DASHBOARD).content.decode()


def test_hubspot_down_gives_stale_figures_or_the_envelope(
    hubspot_settings, fake_hubspot, hubspot_staff
):
    fake_hubspot.seed_tickets(30)
    fake_hubspot.faults.down()
    status = client_for(hubspot_staff).get(URL)
    assert status.status_code == 503 and status.json()["success"] is False
    fake_hubspot.faults.up()
    first = client_for(hubspot_staff).get(URL).json()
    assert first["stale"] is False
    fake_hubspot.faults.down()
    stale = client_for(hubspot_staff).get(f"{URL}?refresh=true").json()
    assert stale["stale"] is True and stale["error"]
    assert stale["data"] == first["data"] and stale["fetched_at"] == first["fetched_at"]


def test_plain_staff_and_anonymous_are_refused(hubspot_settings, plain_staff):
    assert client_for(plain_staff).get(URL).status_code == 403
    assert client_for(None).get(URL).status_code == 401


def test_period_outside_the_choices_is_the_default(hubspot_settings, fake_hubspot, hubspot_staff):
    body = client_for(hubspot_staff).get(f"{URL}?period=45").json()
    assert body["data"]["period"] == 30 and len(body["data"]["tickets"]["per_day"]) == 30


def test_durations_median_and_nearest_rank_p90():
    assert support_reports.durations([]) == {
        "count": 0,
        "median_seconds": None,
        "p90_seconds": None,
    }
    got = support_reports.durations([4000, 1000, 3000, 2000])
    assert got == {"count": 4, "median_seconds": 2.5, "p90_seconds": 4}
    assert support_reports.durations(list(range(1000, 11000, 1000)))["p90_seconds"] == 9


def test_dashboard_shows_the_support_card_with_its_charts(
    hubspot_settings, fake_hubspot, hubspot_staff
):
    seed_support(fake_hubspot, 300)
    seed_chats(fake_hubspot)
    page = client_for(hubspot_staff).get(f"{DASHBOARD}?period=7").content.decode()
    assert 'id="card-support"' in page and "Support, last 7 days" in page
    for chart in (
        "support-tickets-per-day",
        "support-times",
        "support-by-stage",
        "support-by-priority",
        "support-chats-per-day",
        "support-chat-totals",
    ):
        assert f'id="{chart}"' in page, chart
    # Readable without colour: a legend naming both series, a hatched second series, labels.
    assert 'class="legend-label">Opened<' in page and 'class="legend-label">Closed<' in page
    assert "url(#support-tickets-per-day-hatch)" in page
    assert ">Support Pipeline: New<" in page and ">Urgent<" in page
    assert ">Ticket close, 90th percentile<" in page
    assert report_cache.ttl() > 0
