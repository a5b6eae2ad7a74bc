"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Skipped, with the reason, where /usr/bin/chromium is missing (`make test` installs it as root).
"""

import os

import pytest

from tests.helpers import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.browser

# Playwright's sync API runs an event loop in the test thread; Django's async-safety guard would
# then refuse the test's own ORM calls. The ORM work here is synchronous, so the guard is lifted.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def _browser_page(browser, live_server, **options):
    context = browser.new_context(base_url=live_server.url, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def page(browser, live_server):
    yield from _browser_page(browser, live_server)


@pytest.fixture
def german_page(browser, live_server):
    """A page of a browser set to German (its Accept-Language follows the locale)."""
    yield from _browser_page(browser, live_server, locale="de-DE")


def login(page, user, *, next_url="/admin/"):
    """Log in through the real admin login form."""
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def sign_in(page, user):
    """Sign in through the customer site's own login form."""
    page.goto("/accounts/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("text=Signed in as")
