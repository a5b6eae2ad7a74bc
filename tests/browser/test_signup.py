"""In Chromium: sign up, confirm the address from the email, sign in, and only then does the chat
know who you are. A second sign-up with the same address sees the same page."""

import re

import pytest
from django.core import mail

from tests.browser.test_customer import STUB

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-Long-pass-phrase-42"


@pytest.fixture
def chat(hubspot_settings):
    hubspot_settings.chat_enabled = True
    hubspot_settings.tickets_enabled = True
    hubspot_settings.save()
    return hubspot_settings


def sign_up(page, username, email):
    page.goto("/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", email)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("#signup-form button[type=submit]")
    page.wait_for_selector("#check-inbox")
    return page.inner_text("main")


def test_signup_confirm_then_the_chat_knows_you(page, browser, live_server, chat, fake_hubspot):
    page.context.route(
        "https://*.hs-scripts.com/**",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=STUB),
    )
    answer = sign_up(page, "newbie", "newbie@example.com")
    assert "Signed in as" not in page.content()

    page.goto("/accounts/login/")
    page.fill("#id_username", "newbie")
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#verify-notice")
    page.goto("/")
    page.wait_for_function("window.__hsLoads === 1")
    assert page.evaluate("window.__hsSettingsAtLoad") == "null"  # anonymous until confirmed
    assert fake_hubspot.identification_tokens == []

    [message] = mail.outbox
    link = re.search(r"https?://\S+/accounts/verify-email/\S+/", message.body).group(0)
    page.goto(link)
    page.wait_for_selector("text=newbie@example.com is confirmed")
    assert page.locator("#verify-notice").count() == 0
    page.goto("/")
    page.wait_for_function("window.__hsLoads === 1")
    assert page.evaluate("window.hsConversationsSettings.identificationEmail") == (
        "newbie@example.com"
    )

    # Someone else tries the same address: the very same page, and the owner hears of it.
    other = browser.new_context(base_url=live_server.url).new_page()
    assert sign_up(other, "copycat", "NEWBIE@example.com") == answer
    assert [m.to for m in mail.outbox] == [["newbie@example.com"], ["newbie@example.com"]]
    assert "tried to sign up" in mail.outbox[1].subject
    other.context.close()
