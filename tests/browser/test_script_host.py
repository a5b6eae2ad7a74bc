"""In Chromium: a HubSpot admin cannot put a foreign script host on the customer pages.

The live server answers through the production middleware here (CSP on): the suite runs on the
development settings, which leave the Content-Security-Policy off.
"""

from urllib.parse import urlsplit

import pytest

from hubspot_integration.models import HubSpotSettings
from tests.browser.conftest import login
from tests.fake_hubspot import FAKE_PORTAL_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGE_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"
CSP_MIDDLEWARE = "hubspot_integration.csp.HubSpotCSPMiddleware"
FOREIGN = "https://cdn.attacker.example/hs.js"
LOADER_STUB = "window.__hsLoads = (window.__hsLoads || 0) + 1;"

PUT_SETTINGS = """async (body) => {
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const answer = await fetch("/api/admin/settings/hubspot", {
    method: "PUT",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
    body: JSON.stringify(body),
  });
  return {status: answer.status, body: await answer.json()};
}"""


@pytest.fixture
def production_csp(live_server, settings):
    """The live server's handler rebuilt with the CSP middleware (restored afterwards)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.testcases import _MediaFilesHandler

    middleware = list(settings.MIDDLEWARE)
    if CSP_MIDDLEWARE not in middleware:
        middleware.insert(1, CSP_MIDDLEWARE)
    settings.MIDDLEWARE = middleware
    httpd = live_server.thread.httpd
    original = httpd.get_app()
    httpd.set_app(StaticFilesHandler(_MediaFilesHandler(WSGIHandler())))
    yield live_server
    httpd.set_app(original)


@pytest.fixture
def chat(hubspot_settings):
    hubspot_settings.chat_enabled = True
    hubspot_settings.save()
    return hubspot_settings


def _watch_script_hosts(context, seen: list):
    """Serve HubSpot's loader from a stub; record (and answer) anything asked of the attacker."""
    context.route(
        "https://*.hs-scripts.com/**",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=LOADER_STUB),
    )

    def foreign(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/javascript", body="window.__pwned = true;")

    context.route("https://cdn.attacker.example/**", foreign)


def _customer_view(browser, live_server, seen):
    """What an anonymous visitor's browser gets on the home page: CSP header, script hosts."""
    context = browser.new_context(base_url=live_server.url)
    _watch_script_hosts(context, seen)
    page = context.new_page()
    page.set_default_timeout(10_000)
    response = page.goto("/")
    page.wait_for_function("window.__hsLoads === 1")
    csp = response.headers.get("content-security-policy", "")
    html = page.content()
    hosts = {
        urlsplit(src).hostname
        for src in page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    }
    pwned = page.evaluate("window.__pwned === true")
    context.close()
    return csp, html, hosts, pwned


def test_hubspot_admins_foreign_script_host_is_refused_and_reaches_no_customer_page(
    page, browser, hubspot_admin, chat, production_csp
):
    seen = []
    _watch_script_hosts(page.context, seen)
    login(page, hubspot_admin, next_url=CHANGE_URL)
    page.fill("#id_script_url_override", FOREIGN)
    page.click("input[name=_save]")
    page.wait_for_load_state()
    error = page.locator(".field-script_url_override .errorlist")
    assert "only a superuser" in error.inner_text()
    assert page.locator(".errornote").count() == 1  # the admin's "Please correct the error below."

    # The settings API from the same signed-in page: a 400 naming the key.
    answer = page.evaluate(PUT_SETTINGS, {"scriptUrlOverride": FOREIGN})
    assert answer["status"] == 400, answer
    assert list(answer["body"]["details"]) == ["scriptUrlOverride"]
    assert HubSpotSettings.objects.get().script_url_override == ""

    csp, html, hosts, pwned = _customer_view(browser, production_csp, seen)
    assert "js.hs-scripts.com" in csp
    assert "attacker" not in csp and "attacker" not in html
    assert hosts == {"localhost", "js.hs-scripts.com"}
    assert not pwned and seen == []


def test_hubspot_admin_may_pick_hubspots_regional_host(
    page, browser, hubspot_admin, chat, production_csp
):
    regional = f"https://js-eu1.hs-scripts.com/{FAKE_PORTAL_ID}.js"
    login(page, hubspot_admin, next_url=CHANGE_URL)
    page.fill("#id_script_url_override", regional)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    assert HubSpotSettings.objects.get().script_url_override == regional

    seen = []
    csp, html, hosts, _ = _customer_view(browser, production_csp, seen)
    assert "js-eu1.hs-scripts.com" in csp
    assert hosts == {"localhost", "js-eu1.hs-scripts.com"}
    assert seen == []
