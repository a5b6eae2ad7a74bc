#!/usr/bin/env python3
"""End-to-end smoke test of the production profile, run by CI (`.ci/run`).

    .venv/bin/python scripts/production_smoke.py

Starts the fake HubSpot on its own, then the production profile against the local PostgreSQL (a
fresh database `skypanel_smoke`) and Redis (cache in db 13, task queue in db 14): migrate,
collectstatic, gunicorn with 2 workers, 2 RQ workers and the outbox sweep, all with DEBUG=false.
Then, over HTTP, as a browser behind a TLS-terminating proxy would:

- `check --deploy` is clean of security warnings; the hardening headers and secure cookies are sent;
- repeated failed logins are locked out (429), even with the right password afterwards;
- the admin logs in, configures HubSpot against the fake, tests the connection;
- every gunicorn process sees the saved settings at once (shared Redis cache);
- a staff member creates a contact and a ticket; an RQ worker runs a task;
- the customer home page shows the chat widget with a CSP that allows its host; a signed webhook
  updates a customer's ticket;
- `/metrics` refuses a scrape without the token; with it, any gunicorn worker's answer counts the
  HubSpot calls of every process (both workers, a separate `manage.py` process).

TLS: the client sends `X-Forwarded-Proto: https` (the stack trusts it, TRUST_PROXY=true), so
SSL redirect, secure cookies and HSTS stay on exactly as in production; cookies marked Secure are
sent back by hand, as the browser would over its HTTPS leg. Everything started is stopped, the
database dropped and the Redis databases flushed at the end. Bounded by SMOKE_TIMEOUT (300 s).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from hubspot_integration.webhook_signature import sign_v3  # noqa: E402
from scripts.stack import FakeProcess, Stack, install_time_limit  # noqa: E402
from tests.fake_hubspot import FAKE_PORTAL_ID, FAKE_SERVICE_KEY  # noqa: E402

PORTAL_ID = str(FAKE_PORTAL_ID)
ADMIN = ("smoke-admin", "smoke-Admin-pass-91f3")
STAFF = ("smoke-staff", "smoke-Staff-pass-0c5e")
VICTIM = ("smoke-victim", "smoke-Victim-pass-77aa")
WEBHOOK_SECRET = "smoke-webhook-client-secret"
METRICS_TOKEN = "smoke-metrics-token-5b1f0c93d2e84a67"

passed: list[str] = []


class Failed(AssertionError):
    pass


def check(condition, message: str) -> None:
    if not condition:
        raise Failed(message)


def ok(message: str) -> None:
    passed.append(message)
    print(f"  ok    {message}", flush=True)


class Browser:
    """A client behind the TLS-terminating proxy: HTTPS as far as Django can tell."""

    def __init__(self, base: str):
        self.base = base
        self.origin = "https://" + base.split("://", 1)[1]
        self.cookies: dict[str, str] = {}
        self.http = requests.Session()

    def request(self, method: str, path: str, *, https: bool = True, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if https:
            headers.setdefault("X-Forwarded-Proto", "https")
        if method not in ("GET", "HEAD"):
            headers.setdefault("Origin", self.origin)
            headers.setdefault("Referer", self.origin + path)
            if "csrftoken" in self.cookies:
                headers.setdefault("X-CSRFToken", self.cookies["csrftoken"])
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.http.cookies.clear()
        response = self.http.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for cookie in response.cookies:
            if cookie.value:
                self.cookies[cookie.name] = cookie.value
            else:
                self.cookies.pop(cookie.name, None)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def login(self, username: str, password: str) -> requests.Response:
        page = self.get("/admin/login/")
        check(page.status_code == 200, f"login page: {page.status_code}")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.post(
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        )


def find_route(stack: Stack, module_prefix: str) -> str | None:
    """The first URL whose view lives in `module_prefix` (routes from other issues may not exist)."""
    code = f"""
from django.urls import get_resolver, URLPattern, URLResolver
def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            cb = p.callback
            mod = getattr(getattr(cb, "view_class", None), "__module__", None) or cb.__module__
            yield prefix + str(p.pattern), mod
for route, mod in walk(get_resolver().url_patterns):
    if mod.startswith({module_prefix!r}) and "<" not in route:
        print("/" + route.lstrip("^").rstrip("$"))
        break
"""
    found = stack.shell(code)
    return found.splitlines()[-1] if found else None


# --- the steps ------------------------------------------------------------------------------------
def step_deploy_check(stack: Stack) -> None:
    result = stack.manage("check", "--deploy", quiet=True)
    out = result.stdout + result.stderr
    security = [line for line in out.splitlines() if "security." in line]
    check(not security, "check --deploy security warnings:\n" + "\n".join(security))
    ok("manage.py check --deploy: no errors, no security warnings")


def step_headers(stack: Stack) -> None:
    b = Browser(stack.url)
    plain = b.get("/admin/login/", https=False)
    check(plain.status_code == 301, f"plain HTTP should redirect, got {plain.status_code}")
    check(plain.headers["Location"].startswith("https://"), plain.headers.get("Location"))
    ok("plain HTTP is redirected to HTTPS (SECURE_SSL_REDIRECT)")
    page = b.get("/admin/login/")
    h = page.headers
    check("max-age=" in h.get("Strict-Transport-Security", ""), f"HSTS: {h}")
    check(h.get("X-Content-Type-Options") == "nosniff", "nosniff")
    check(h.get("Referrer-Policy"), "Referrer-Policy")
    check(h.get("X-Frame-Options") == "DENY", "X-Frame-Options")
    csp = h.get("Content-Security-Policy", "")
    check("default-src 'self'" in csp and "frame-ancestors 'none'" in csp, f"CSP: {csp}")
    check("hs-scripts.com" not in csp, "CSP allows HubSpot before any feature is on")
    set_cookie = (
        page.raw.headers.get_all("Set-Cookie") if hasattr(page.raw.headers, "get_all") else []
    )
    csrf = [c for c in set_cookie if c.startswith("csrftoken=")]
    check(csrf and "Secure" in csrf[0], f"csrftoken cookie not Secure: {set_cookie}")
    ok(
        "HSTS, nosniff, Referrer-Policy, X-Frame-Options, base CSP (no HubSpot hosts), Secure CSRF cookie"
    )


def step_lockout(stack: Stack) -> None:
    b = Browser(stack.url)
    statuses = [b.login(VICTIM[0], "wrong-password").status_code for _ in range(6)]
    check(429 in statuses, f"no lock-out after 6 failures: {statuses}")
    right = b.login(*VICTIM).status_code
    check(right == 429, f"locked-out user logged in with the right password: {right}")
    other = Browser(stack.url).login(*ADMIN)
    check(other.status_code == 302, f"another user's login was blocked too: {other.status_code}")
    ok(f"login throttling: failures {statuses} -> locked out (429), other users unaffected")


def step_admin_configures(stack: Stack) -> Browser:
    admin = Browser(stack.url)
    response = admin.login(*ADMIN)
    check(
        response.status_code == 302 and "sessionid" in admin.cookies,
        f"admin login: {response.status_code}",
    )
    set_cookie = response.raw.headers.get_all("Set-Cookie")
    session = [c for c in set_cookie if c.startswith("sessionid=")]
    check(
        session and "Secure" in session[0] and "HttpOnly" in session[0],
        f"session cookie: {session}",
    )
    ok("admin logs in through /admin/login/ (Secure, HttpOnly session cookie)")

    payload = {
        "enabled": True,
        "portalId": PORTAL_ID,
        "credentialType": "service_key",  # what a HubSpot account created today gets
        "apiKey": FAKE_SERVICE_KEY,
        "chatEnabled": True,
        "ticketEnabled": True,
        "webhookSecret": WEBHOOK_SECRET,
    }
    put = admin.request("PUT", "/api/admin/settings/hubspot", json=payload)
    check(put.status_code == 200, f"PUT settings: {put.status_code} {put.text[:300]}")
    check(FAKE_SERVICE_KEY not in put.text, "the service key came back in the answer")
    ok(
        "admin saves the HubSpot settings with a service key (PUT /api/admin/settings/hubspot), not echoed"
    )

    # A separate process finds the saved settings already in Redis (written through on save).
    other_process = stack.shell(
        "from django.core.cache import cache\n"
        "from hubspot_integration.models import HubSpotSettings as S, SETTINGS_CACHE_KEY as K\n"
        "cached = cache.get(K) is not None\n"
        "s = S.load()\n"
        "print(cached, s.portal_id, s.chat_enabled, s.is_configured)"
    )
    check(other_process.endswith(f"True {PORTAL_ID} True True"), other_process)
    ok("a separate process reads the just-saved settings from Redis (written through by gunicorn)")

    test = admin.post("/api/admin/settings/hubspot/test-connection")
    body = test.json()
    check(
        test.status_code == 200 and body.get("success"),
        f"test-connection: {test.status_code} {body}",
    )
    ok(f"test connection: {body.get('message')}")

    # Every gunicorn worker answers from the shared cache: all agree at once.
    seen = set()
    for _ in range(12):
        config = admin.get("/api/admin/settings/hubspot/config").json().get("data", {})
        seen.add((config.get("portalId"), config.get("chatEnabled"), config.get("hasApiKey")))
    check(seen == {(PORTAL_ID, True, True)}, f"processes disagree about the settings: {seen}")
    ok("every gunicorn process answers with the saved settings")
    return admin


def step_staff_writes(stack: Stack) -> dict:
    staff = Browser(stack.url)
    check(staff.login(*STAFF).status_code == 302, "staff login")
    contact = staff.post(
        "/api/admin/settings/hubspot/contacts",
        json={"email": "smoke.contact@example.com", "firstname": "Smoke", "lastname": "Test"},
    )
    check(
        contact.status_code in (200, 201, 202),
        f"create contact: {contact.status_code} {contact.text[:300]}",
    )
    ok(
        f"staff create a contact: {contact.status_code} {'queued' if contact.status_code == 202 else 'created'}"
    )
    ticket = staff.post(
        "/api/admin/settings/hubspot/tickets",
        json={
            "subject": "Smoke test ticket",
            "content": "Created by the production smoke test",
            "email": "smoke.contact@example.com",
            "priority": "HIGH",
        },
    )
    check(
        ticket.status_code in (201, 202), f"create ticket: {ticket.status_code} {ticket.text[:300]}"
    )
    data = ticket.json()
    if ticket.status_code == 202:  # queued: the workers or the sweep deliver it
        op = data["operation"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = stack.shell(
                "from hubspot_integration.models import OutboxOperation as O; "
                f"o=O.objects.get(pk={op}); print(o.status, o.hubspot_object_id)"
            ).split()
            if state[0] == "succeeded":
                data = {"ticket": {"id": state[1]}}
                break
            time.sleep(1)
        check("ticket" in data, "queued ticket was not delivered within 60 s")
    ticket_id = data["ticket"]["id"]
    ok(f"staff create a ticket: HubSpot ticket {ticket_id}")
    return {"ticket_id": ticket_id}


def step_rq_workers(stack: Stack) -> None:
    count = stack.rq_worker_count()
    check(count >= 2, f"{count} RQ workers registered, expected 2")
    out = stack.shell(
        "import time\n"
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from hubspot_integration.tasks import drain_outbox\n"
        "now = drain_outbox.enqueue()\n"
        "# A retry's shape: due in 2 s, moved onto the queue by RQ's scheduler.\n"
        "later = drain_outbox.using(run_after=timezone.now() + timedelta(seconds=2)).enqueue()\n"
        "deadline = time.monotonic() + 30\n"
        "while time.monotonic() < deadline:\n"
        "    now.refresh(); later.refresh()\n"
        "    if now.is_finished and later.is_finished: break\n"
        "    time.sleep(0.2)\n"
        "print(now.status, later.status, now.worker_ids + later.worker_ids)"
    )
    check(out.startswith("SUCCESSFUL SUCCESSFUL"), f"tasks through RQ: {out}")
    ok(
        f"{count} RQ workers on Redis; a task and a delayed task (run_after) from another process ran: {out.splitlines()[-1]}"
    )


def step_customer_page(stack: Stack) -> None:
    b = Browser(stack.url)
    home = b.get("/")
    check(home.status_code == 200, f"GET /: {home.status_code}")
    check(f"hs-scripts.com/{PORTAL_ID}.js" in home.text, "the chat widget script is not on /")
    csp = home.headers.get("Content-Security-Policy", "")
    check(
        "js.hs-scripts.com" in csp and "app.hubspot.com" in csp,
        f"CSP lacks the widget hosts: {csp}",
    )
    ok("customer home page shows the chat widget; the CSP allows its script and iframe hosts")


def step_webhook(stack: Stack, ticket_id: str) -> None:
    route = find_route(stack, "hubspot_integration.webhooks")
    check(route, "no URL route is served by hubspot_integration.webhooks")
    stack.shell(
        "from hubspot_integration.models import CustomerTicket as T; "
        f"T.objects.create(email='smoke.contact@example.com', subject='Smoke test ticket', "
        f"hubspot_id='{ticket_id}', stage='81234568')"
    )
    closed_stage = "81234571"
    now_ms = int(time.time() * 1000)
    events = [
        {
            "eventId": now_ms % 1_000_000_007,
            "subscriptionId": 1,
            "portalId": int(PORTAL_ID),
            "appId": 1,
            "occurredAt": now_ms,
            "subscriptionType": "ticket.propertyChange",
            "attemptNumber": 0,
            "objectId": int(ticket_id),
            "changeSource": "CRM_UI",
            "propertyName": "hs_pipeline_stage",
            "propertyValue": closed_stage,
        }
    ]
    body = json.dumps(events).encode()
    b = Browser(stack.url)
    timestamp = str(now_ms)
    uri = b.origin + route
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": sign_v3(WEBHOOK_SECRET, "POST", uri, body, timestamp),
        "X-HubSpot-Signature-Version": "v3",
    }
    bad = b.post(route, data=body, headers={**headers, "X-HubSpot-Signature-v3": "AAAA"})
    check(bad.status_code in (400, 401, 403), f"badly signed webhook accepted: {bad.status_code}")
    response = b.post(route, data=body, headers=headers)
    check(
        response.status_code in (200, 202, 204),
        f"webhook: {response.status_code} {response.text[:200]}",
    )
    deadline = time.monotonic() + 30
    stage = ""
    while time.monotonic() < deadline:
        stage = stack.shell(
            "from hubspot_integration.models import CustomerTicket as T; "
            f"print(T.objects.get(hubspot_id='{ticket_id}').stage)"
        )
        if stage == closed_stage:
            break
        time.sleep(0.5)
    check(stage == closed_stage, f"webhook did not update the ticket: stage {stage!r}")
    ok(
        f"a signed webhook ({route}) moved the customer's ticket to stage {closed_stage}; bad signature refused"
    )


def _calls(text: str) -> dict[tuple[str, str], float]:
    found = {}
    for match in re.finditer(
        r'^skypanel_hubspot_calls_total\{operation="([^"]+)",status="([^"]+)"\} (\S+)$',
        text,
        re.MULTILINE,
    ):
        found[(match.group(1), match.group(2))] = float(match.group(3))
    return found


def step_metrics(stack: Stack, admin: Browser) -> None:
    b = Browser(stack.url)
    refused = b.get("/metrics")
    check(refused.status_code == 403, f"/metrics without the token: {refused.status_code}")
    wrong = b.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"})
    check(wrong.status_code == 403, f"/metrics with a wrong token: {wrong.status_code}")
    ok("/metrics refuses a scrape without the token and with a wrong one (403)")

    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}

    def scrape() -> str:
        response = b.get("/metrics", headers=bearer)
        check(response.status_code == 200, f"/metrics with the token: {response.status_code}")
        check(response.headers["Content-Type"].startswith("text/plain; version="), "content type")
        return response.text

    # A fresh rate window for the burst below: the steps before spent part of this one, and a
    # connection test the limiter holds back is (rightly) recorded as a failing check.
    time.sleep(10.5)
    before = _calls(scrape())
    # Calls from the web workers (gunicorn hands the requests to either) and one from a separate
    # process that exits at once: every one must be in the total whichever worker answers.
    reached = 0  # checks that got as far as account.details (the panel's limiter may hold one)
    for _ in range(4):
        test = admin.post("/api/admin/settings/hubspot/test-connection")
        check(test.status_code == 200, f"test connection: {test.status_code}")
        checks = test.json().get("checks") or []
        reached += any(c.get("name") == "token" and c.get("ok") for c in checks)
    check(reached, "no connection test reached HubSpot's account details")
    stack.shell(
        "from hubspot_integration.credentials import get_client\nget_client().account_details()"
    )
    totals = set()
    for _ in range(6):
        text = scrape()
        after = _calls(text)
        totals.add(sum(after.values()))
    check(len(totals) == 1, f"the gunicorn workers disagree about the call totals: {totals}")
    grew = totals.pop() - sum(before.values())
    key = ("account.details", "200")
    # Each connection test that reached HubSpot called account.details once (a held-back one
    # did not); the shell process once more.
    check(
        after.get(key, 0) - before.get(key, 0) >= reached + 1,
        f"account.details calls counted: {before.get(key)} -> {after.get(key)} "
        f"({reached} connection tests reached HubSpot, plus the shell's call)",
    )
    check("skypanel_hubspot_call_duration_seconds_bucket" in text, "no latency histogram")
    check("skypanel_hubspot_outbox_rows{" in text, "no outbox rows from the database")
    check("skypanel_hubspot_database_metrics_up 1.0" in text, "database metrics not read")
    files = {p.name.split("_")[-1] for p in (stack.logdir / "metrics").glob("counter_*.db")}
    ok(
        f"/metrics with the token: {grew:g} new HubSpot calls counted over {len(files)} processes' "
        "files, the same total from every gunicorn worker; latency histogram, outbox rows"
    )


# --- main ---------------------------------------------------------------------------------------
def main() -> int:
    limit = int(os.environ.get("SMOKE_TIMEOUT", "300"))
    install_time_limit(limit, f"smoke test took longer than {limit} s")
    started = time.monotonic()
    fake = stack = None
    try:
        print("== fake HubSpot", flush=True)
        fake = FakeProcess(seed=True)
        print(f"  {fake.url}")
        stack = Stack(
            name="smoke",
            hubspot_url=fake.url,
            cache_db=13,
            rq_db=14,
            extra_env={"METRICS_TOKEN": METRICS_TOKEN},
        )
        print(f"== production profile: migrate, collectstatic ({stack.db_name})", flush=True)
        stack.prepare()
        stack.shell(
            "from django.contrib.auth.models import Group, User\n"
            f"User.objects.create_user({STAFF[0]!r}, password={STAFF[1]!r}, is_staff=True)"
            ".groups.add(Group.objects.get(name='HubSpot staff'))\n"
            f"User.objects.create_user({VICTIM[0]!r}, password={VICTIM[1]!r}, is_staff=True)"
        )
        stack.manage(
            "createsuperuser",
            "--noinput",
            quiet=True,
            env={
                "DJANGO_SUPERUSER_USERNAME": ADMIN[0],
                "DJANGO_SUPERUSER_PASSWORD": ADMIN[1],
                "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
            },
        )
        print(
            f"== gunicorn x{stack.web_workers}, RQ workers x{stack.rq_workers}, sweep on {stack.url}",
            flush=True,
        )
        stack.start()
        print("== smoke test", flush=True)
        step_deploy_check(stack)
        step_headers(stack)
        step_lockout(stack)
        admin = step_admin_configures(stack)
        created = step_staff_writes(stack)
        step_rq_workers(stack)
        step_customer_page(stack)
        step_webhook(stack, created["ticket_id"])
        step_metrics(stack, admin)
        for name, proc in stack.procs.items():
            check(proc.poll() is None, f"{name} died during the run:\n{stack.tail(name)}")
        errors = [
            line
            for name in stack.procs
            for line in stack.tail(name, 2000).splitlines()
            if '"level": "ERROR"' in line or "Traceback" in line
        ]
        check(not errors, "errors in the logs:\n" + "\n".join(errors[:20]))
        leaked = [
            name
            for name in stack.procs
            for secret in (FAKE_SERVICE_KEY, METRICS_TOKEN)
            if secret in (stack.logdir / f"{name}.log").read_text()
        ]
        check(not leaked, f"the token appears in the logs of {leaked}")
        ok("no errors and no token in the logs of gunicorn, the workers and the sweep")
    except (Failed, RuntimeError, TimeoutError, requests.RequestException) as err:
        print(f"\nFAILED: {err}", file=sys.stderr)
        if stack:
            for name in stack.procs:
                print(f"--- {name} log (tail) ---\n{stack.tail(name)}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        if stack:
            stack.stop()
        if fake:
            fake.stop()
    elapsed = time.monotonic() - started
    print(f"\nproduction smoke: {len(passed)} passed in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
