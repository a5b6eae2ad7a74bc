"""Sign-up verifies the email address by a signed link; until then the account is not trusted with it.

Sign-up never tells who has an account, and one address makes one account even under concurrent
sign-ups (a unique index on lower(email); the race itself runs on PostgreSQL).
"""

import re
import threading
import time

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from hubspot_integration.models import CustomerEmail
from hubspot_integration.services import email_verification
from hubspot_integration.services.email_verification import is_verified, mark_verified
from hubspot_integration.views.forms import SignupForm
from tests.helpers import client_for

PASSWORD = "a-Long-pass-phrase-42"
LINK = re.compile(r"http://testserver(/accounts/verify-email/[^/\s]+/)")


def signup_data(username="newbie", email="newbie@example.com"):
    return {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}


def link_in(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


# --- sign-up and the link -------------------------------------------------------------------------
@pytest.mark.django_db
def test_signup_sends_a_link_and_does_not_sign_in(client, mailoutbox):
    response = client.post("/accounts/signup/", signup_data(email="NewBie@Example.com"))
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/done/"
    page = client.get("/accounts/signup/done/").content.decode()
    assert "Check your inbox" in page and "Signed in as" not in page
    user = User.objects.get(username="newbie")
    assert user.email == "newbie@example.com" and not is_verified(user)
    [message] = mailoutbox
    assert message.to == ["newbie@example.com"]
    assert "Confirm your email address" in message.subject
    assert message.from_email == "SkyPanel <noreply@localhost>"
    assert "expires in 72 hours" in message.body
    # The done page is the answer to a sign-up, not a page of its own.
    assert client.get("/accounts/signup/done/")["Location"] == "/accounts/signup/"


@pytest.mark.django_db
def test_the_link_verifies_once(client, mailoutbox):
    client.post("/accounts/signup/", signup_data())
    link = link_in(mailoutbox[0])
    response = client.get(link, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "newbie@example.com is confirmed" in response.content.decode()
    user = User.objects.get(username="newbie")
    assert is_verified(user)
    assert CustomerEmail.objects.get(user=user).email == "newbie@example.com"
    # Opened again: nothing more happens.
    again = client.get(link, follow=True)
    assert "already confirmed" in again.content.decode()
    assert CustomerEmail.objects.count() == 1


@pytest.mark.django_db
def test_a_link_opened_while_signed_in_leads_to_my_tickets(customer, mailoutbox):
    c = client_for(customer)
    c.post("/accounts/verify-email/")
    response = c.get(link_in(mailoutbox[0]))
    assert response["Location"] == "/support/tickets/"
    assert is_verified(customer)


@pytest.mark.django_db
def test_the_link_expires(client, mailoutbox, settings, monkeypatch):
    settings.EMAIL_VERIFICATION_MAX_AGE = 3600
    client.post("/accounts/signup/", signup_data())
    link = link_in(mailoutbox[0])
    assert "expires in 1 hour." in mailoutbox[0].body
    later = time.time() + 3601
    with monkeypatch.context() as m:
        m.setattr("django.core.signing.time.time", lambda: later)
        response = client.get(link)
    assert response.status_code == 400
    assert "The link has expired" in response.content.decode()
    assert not CustomerEmail.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper",
    [
        lambda link: link.replace("/accounts/verify-email/", "/accounts/verify-email/x"),
        lambda link: link[:-3] + "/",
        lambda link: "/accounts/verify-email/not-a-token/",
    ],
)
def test_a_tampered_link_verifies_nothing(client, mailoutbox, tamper):
    client.post("/accounts/signup/", signup_data())
    response = client.get(tamper(link_in(mailoutbox[0])))
    assert response.status_code == 400
    assert "does not work any more" in response.content.decode()
    assert not CustomerEmail.objects.exists()


@pytest.mark.django_db
def test_a_link_cannot_be_forged_for_another_user(customer, django_user_model):
    from django.core import signing

    other = django_user_model.objects.create_user("oth", "oth@example.com", PASSWORD)
    payload = {"u": other.pk, "s": email_verification._state(other)}
    for forged in (
        signing.dumps(payload, key="not-the-secret-key", salt=email_verification.SALT),
        signing.dumps(payload, salt="another-feature"),  # a token signed for something else
    ):
        assert email_verification.confirm(forged) == ("invalid", None)
    assert not is_verified(other)


@pytest.mark.django_db
def test_changing_the_email_unverifies_and_kills_older_links(customer, mailoutbox):
    old_link_token = email_verification.make_token(customer)
    mark_verified(customer)
    assert is_verified(customer)
    customer.email = "moved@example.com"
    customer.save()
    customer = User.objects.get(pk=customer.pk)  # as the next request loads it
    assert not is_verified(customer)
    # A link sent before the change, or before the verification, does not confirm the new one.
    assert email_verification.confirm(old_link_token) == ("invalid", None)
    c = client_for(customer)
    assert "Please confirm" in c.get("/").content.decode()
    c.post("/accounts/verify-email/", {"next": "/support/"})
    [message] = mailoutbox
    assert message.to == ["moved@example.com"]
    c.get(link_in(message))
    assert is_verified(User.objects.get(pk=customer.pk))


@pytest.mark.django_db
def test_a_newer_link_replaces_nothing_but_both_stop_after_use(customer, mailoutbox):
    c = client_for(customer)
    c.post("/accounts/verify-email/")
    c.post("/accounts/verify-email/")
    first, second = (link_in(m) for m in mailoutbox)
    assert c.get(second).status_code == 302
    # The first link now names a state that is gone: it says "already confirmed", changes nothing.
    response = c.get(first, follow=True)
    assert "already confirmed" in response.content.decode()
    assert CustomerEmail.objects.count() == 1


@pytest.mark.django_db
def test_resend_needs_a_signed_in_unverified_user(client, customer, mailoutbox):
    assert client.post("/accounts/verify-email/")["Location"].startswith("/accounts/login/")
    c = client_for(customer)
    assert c.get("/accounts/verify-email/").status_code == 405
    response = c.post("/accounts/verify-email/", {"next": "/support/"})
    assert response["Location"] == "/support/"
    assert len(mailoutbox) == 1
    mark_verified(customer)
    response = c.post("/accounts/verify-email/", {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[0][0] == "/support/tickets/"  # not off-site
    assert "already confirmed" in response.content.decode()
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_resend_is_rate_limited(customer, mailoutbox):
    c = client_for(customer)
    for _ in range(5):
        c.post("/accounts/verify-email/")
    response = c.post("/accounts/verify-email/", follow=True)
    assert "several requests in a short time" in response.content.decode()
    assert len(mailoutbox) == 5


@pytest.mark.django_db
def test_the_notice_shows_only_to_unverified_customers(client, customer):
    assert 'id="verify-notice"' not in client.get("/").content.decode()
    c = client_for(customer)
    html = c.get("/support/").content.decode()
    assert 'id="verify-notice"' in html and "cus@example.com" in html
    assert 'name="next" value="/support/"' in html
    mark_verified(customer)
    assert 'id="verify-notice"' not in c.get("/support/").content.decode()


@pytest.mark.django_db
def test_verified_state_is_cached_and_dropped_on_change(customer, django_assert_num_queries):
    mark_verified(customer)
    fresh = User.objects.get(pk=customer.pk)
    assert is_verified(fresh)
    with django_assert_num_queries(0):
        assert is_verified(User(pk=customer.pk, email=customer.email))
    CustomerEmail.objects.filter(user=customer).delete()  # an admin unverifies the account
    assert not is_verified(User.objects.get(pk=customer.pk))


@pytest.mark.django_db
def test_an_unverified_customer_chats_anonymously(hubspot_settings, customer, fake_hubspot):
    hubspot_settings.chat_enabled = True
    hubspot_settings.save()
    c = client_for(customer)
    html = c.get("/").content.decode()
    assert 'id="hs-script-loader"' in html
    assert "identificationToken" not in html and "cus@example.com" not in html.split("</main>")[1]
    assert fake_hubspot.identification_tokens == []
    mark_verified(customer)
    assert "identificationToken" in c.get("/").content.decode()
    assert [t["email"] for t in fake_hubspot.identification_tokens] == ["cus@example.com"]


CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


# --- sign-up never tells who has an account --------------------------------------------------------
def _answer(client, data):
    response = client.post("/accounts/signup/", data)
    page = client.get(response["Location"]) if response.status_code == 302 else response
    # The footer's language switcher carries each client's own CSRF token: not an answer's part.
    html = CSRF_TOKEN.sub('name="csrfmiddlewaretoken" value=""', page.content.decode())
    return response.status_code, response.get("Location"), html


@pytest.mark.django_db
def test_a_taken_address_gets_the_same_answer_and_its_owner_an_email(customer, mailoutbox):
    new = _answer(Client(), signup_data("first", "first@example.com"))
    taken = _answer(Client(), signup_data("second", "CUS@example.com"))
    assert taken == new
    assert not User.objects.filter(username="second").exists()
    assert [m.to for m in mailoutbox] == [["first@example.com"], ["cus@example.com"]]
    notice = mailoutbox[1]
    assert "tried to sign up" in notice.subject
    assert "already has an account" in notice.body and "user name cus" in notice.body
    assert "http://testserver/accounts/login/" in notice.body
    assert "/accounts/verify-email/" not in notice.body  # nothing that would verify anyone


@pytest.mark.django_db
def test_the_owner_is_told_at_most_once_in_a_while(customer, mailoutbox):
    for i in range(3):
        _answer(Client(REMOTE_ADDR=f"10.0.0.{i}"), signup_data(f"try{i}", "cus@example.com"))
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_taken_username_is_still_said(customer, mailoutbox):
    status, _, html = _answer(Client(), signup_data("cus", "someone@example.com"))
    assert status == 200 and "A user with that username already exists" in html
    assert mailoutbox == []


@pytest.mark.django_db
def test_losing_the_race_for_an_address_gets_the_same_answer(client, mailoutbox, monkeypatch):
    # Another sign-up with this address commits between our check and our insert: the check saw
    # nothing, the insert meets the unique index.
    User.objects.create_user("rival", "Racer@example.com", PASSWORD)
    lookups = []
    real = email_verification.account_with

    def check_before_the_rival_committed(email):
        lookups.append(email)
        return None if len(lookups) == 1 else real(email)

    monkeypatch.setattr(email_verification, "account_with", check_before_the_rival_committed)
    response = client.post("/accounts/signup/", signup_data("racer", "racer@example.com"))
    assert response["Location"] == "/accounts/signup/done/"
    assert len(lookups) == 2  # the insert was tried and refused, then the owner looked up
    assert list(User.objects.values_list("username", flat=True)) == ["rival"]
    assert [m.to for m in mailoutbox] == [["Racer@example.com"]]
    assert "tried to sign up" in mailoutbox[0].subject


@pytest.mark.django_db
def test_losing_the_race_for_a_username_is_a_form_error(client, mailoutbox, monkeypatch):
    original = SignupForm.save

    def save_after_a_rival(self, *args, **kwargs):
        User.objects.create_user("racer", "rival@example.com", PASSWORD)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SignupForm, "save", save_after_a_rival)
    response = client.post("/accounts/signup/", signup_data("racer", "racer@example.com"))
    assert response.status_code == 200
    assert "A user with that username already exists" in response.content.decode()
    assert mailoutbox == []


@pytest.mark.django_db
def test_an_email_that_cannot_be_sent_still_gets_the_answer(client, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    response = client.post("/accounts/signup/", signup_data())
    assert response["Location"] == "/accounts/signup/done/"
    assert User.objects.filter(username="newbie").exists()
    assert "not sent" in caplog.text


# --- one account per address, in the database -----------------------------------------------------
@pytest.mark.django_db
def test_the_database_refuses_a_second_account_for_an_address():
    User.objects.create_user("ann", "Ann@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("ann2", "ann@example.COM")
    # Accounts without an email are many.
    User.objects.create_user("blank1", "")
    User.objects.create_user("blank2", "")
    assert User.objects.count() == 3


@pytest.mark.django_db
def test_admin_refuses_a_taken_address_as_a_form_error(superuser, customer):
    from django.contrib import admin

    from hubspot_integration.admin.users import UniqueEmailUserChangeForm

    assert admin.site._registry[User].form is UniqueEmailUserChangeForm
    data = {
        "username": superuser.username,
        "email": "CUS@example.com",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "is_active": "on",
    }
    form = UniqueEmailUserChangeForm(data, instance=superuser)
    assert form.errors["email"] == ["Another account has this email address."]
    data["email"] = "root@example.com"  # its own address: fine
    assert "email" not in UniqueEmailUserChangeForm(data, instance=superuser).errors


@pytest.mark.django_db(transaction=True)
def test_the_index_migration_reverses_and_reapplies():
    def index_exists():
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, "auth_user")
        return "hubspot_auth_user_email_ci_uniq" in constraints

    assert index_exists()
    executor = MigrationExecutor(connection)
    executor.migrate([("hubspot_integration", "0003_admin_pages")])
    assert not index_exists()
    User.objects.create_user("a", "same@example.com")
    User.objects.create_user("b", "SAME@example.com")
    executor = MigrationExecutor(connection)
    with pytest.raises(RuntimeError, match="same@example.com"):
        executor.migrate([("hubspot_integration", "0005_customer_email")])
    User.objects.filter(username="b").update(email="")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert index_exists()


# --- the race, for real: concurrent sign-ups on PostgreSQL ------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_signups_with_one_address_make_one_account(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): SQLite has one writer")
    from django.db import connections

    requests = 8
    # Every request passes the form's checks before any of them inserts: the widest race.
    barrier = threading.Barrier(requests, timeout=30)
    original = SignupForm.save

    def save_together(self, *args, **kwargs):
        barrier.wait()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SignupForm, "save", save_together)
    answers, failures = [], []

    def sign_up(i):
        try:
            client = Client(REMOTE_ADDR=f"10.1.0.{i}")
            data = signup_data(
                f"racer{i}", "Same.Person@example.com" if i % 2 else "same.person@example.com"
            )
            response = client.post("/accounts/signup/", data)
            answers.append((response.status_code, response.get("Location")))
        except Exception as err:  # collected: an exception in a thread would pass silently
            failures.append(repr(err))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert answers == [(302, "/accounts/signup/done/")] * requests
    assert User.objects.filter(email__iexact="same.person@example.com").count() == 1
    sent = [m.subject for m in mail.outbox]
    assert sum("Confirm your email" in s for s in sent) == 1
    assert sum("tried to sign up" in s for s in sent) == 1  # the rest within the notice interval


# --- configuration -------------------------------------------------------------------------------
def test_email_comes_from_email_url_in_production():
    import json

    from tests.test_production_profile import _manage, _production_env

    code = (
        "from django.conf import settings as s; import json; print(json.dumps([s.EMAIL_BACKEND, "
        "s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_HOST_USER, s.DEFAULT_FROM_EMAIL, "
        "s.EMAIL_VERIFICATION_MAX_AGE]))"
    )
    env = _production_env(
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
        DEFAULT_FROM_EMAIL="SkyPanel <help@example.com>",
        EMAIL_VERIFICATION_MAX_AGE="7200",
    )
    result = _manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        587,
        True,
        "mailer",
        "SkyPanel <help@example.com>",
        7200,
    ]
    # Without EMAIL_URL, the deploy check says the links would never reach anyone.
    result = _manage("check", "--deploy", env=_production_env())
    assert "hubspot.W003" in result.stdout + result.stderr
    result = _manage("check", "--deploy", env=env)
    assert "hubspot.W003" not in result.stdout + result.stderr, result.stderr
