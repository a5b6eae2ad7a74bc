"""Site users become HubSpot contacts: through the fake HubSpot and the real SDK, both ways."""

import io
import json
import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from hubspot_integration.models import (
    CustomerEmail,
    HubSpotSettings,
    HubSpotUserContact,
    OutboxOperation,
)
from hubspot_integration.services import outbox
from hubspot_integration.services.email_verification import mark_verified
from hubspot_integration.tasks import process_webhook_events
from hubspot_integration.webhook_signature import sign_v3
from tests.helpers import client_for
from tests.test_settings_admin import form_data

UPSERT = "/crm/objects/2026-09/contacts/batch/upsert"
SETTINGS_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"
SETTINGS_API = "/api/admin/settings/hubspot"
PASSWORD = "a-Long-pass-phrase-42"
LINK = re.compile(r"http://testserver(/accounts/verify-email/[^/\s]+/)")
SECRET = "app-client-secret-0123456789"
KIND = OutboxOperation.Kind.SYNC_USER_CONTACT


@pytest.fixture
def immediate(settings, django_capture_on_commit_callbacks):
    """`with immediate():` commits like a request ends: the queued work runs, as on a server
    whose worker is idle (the test's own transaction never commits)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return lambda: django_capture_on_commit_callbacks(execute=True)


def contact(fake, email):
    found = [c for c in fake.objects("contacts") if c["properties"].get("email") == email]
    return found[0] if found else None


def upserts(fake):
    return fake.count("POST", UPSERT)


def sync_rows():
    return OutboxOperation.objects.filter(kind=KIND)


def make_customers(n, *, prefix="user", verified=True):
    users = User.objects.bulk_create(
        User(
            username=f"{prefix}{i}",
            email=f"{prefix}{i}@example.com",
            first_name=f"First{i}",
            last_name=f"Last{i}",
            password="!",
        )
        for i in range(n)
    )
    users = list(User.objects.filter(username__startswith=prefix).order_by("pk"))
    if verified:
        CustomerEmail.objects.bulk_create(CustomerEmail(user=u, email=u.email) for u in users)
    return users


def run_sync(*args):
    out = io.StringIO()
    try:
        call_command("hubspot_sync_users", "--no-progress", *args, stdout=out, stderr=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


# --- sign-up, verification, profile changes ---------------------------------------------------------
@pytest.mark.django_db
def test_a_verified_signup_becomes_a_contact_with_the_mapped_properties(
    hubspot_settings, fake_hubspot, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/signup/",
            {
                "username": "newbie",
                "email": "NewBie@Example.com",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
        user = User.objects.get(username="newbie")
        user.first_name, user.last_name = "New", "Bie"
        user.save()
    assert upserts(fake_hubspot) == 0  # not confirmed yet: HubSpot hears nothing
    link = LINK.search(mail.outbox[0].body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(link).status_code == 302
    found = contact(fake_hubspot, "newbie@example.com")
    assert found["properties"]["firstname"] == "New"
    assert found["properties"]["lastname"] == "Bie"
    assert HubSpotUserContact.objects.get(user=user).contact_id == found["id"]
    assert upserts(fake_hubspot) == 1
    assert sync_rows().get().status == "succeeded"


@pytest.mark.django_db
def test_an_unverified_user_is_never_sent(hubspot_settings, fake_hubspot, customer, immediate):
    customer.first_name = "Changed"
    with immediate():
        customer.save()
    assert run_sync()[0] == 0  # nobody to send
    assert upserts(fake_hubspot) == 0 and not sync_rows().exists()
    assert contact(fake_hubspot, customer.email) is None


@pytest.mark.django_db
def test_a_profile_change_updates_the_contact_and_an_unchanged_save_sends_nothing(
    hubspot_settings, fake_hubspot, customer, immediate
):
    with immediate():
        mark_verified(customer)
    contact_id = HubSpotUserContact.objects.get(user=customer).contact_id
    assert contact(fake_hubspot, customer.email)["id"] == contact_id
    customer.last_name = "Renamed"
    with immediate():
        customer.save()
    assert contact(fake_hubspot, customer.email)["properties"]["lastname"] == "Renamed"
    assert upserts(fake_hubspot) == 2
    with immediate():
        customer.save()  # nothing mapped changed
        customer.is_superuser = False
        customer.save(update_fields=["is_superuser"])
        client_for(customer).get("/")  # signing in saves last_login
    assert upserts(fake_hubspot) == 2
    assert HubSpotUserContact.objects.get(user=customer).contact_id == contact_id


@pytest.mark.django_db
def test_an_existing_contact_is_updated_not_duplicated(
    hubspot_settings, fake_hubspot, customer, immediate
):
    existing = fake_hubspot.create_object(
        "contacts", {"email": customer.email, "company": "Acme", "lastname": "Old"}
    )
    customer.last_name = "Customer"
    with immediate():
        customer.save()
        mark_verified(customer)
    [found] = [
        c for c in fake_hubspot.objects("contacts") if c["properties"]["email"] == customer.email
    ]
    assert found["id"] == existing["id"] == HubSpotUserContact.objects.get().contact_id
    assert found["properties"]["company"] == "Acme"  # what the panel does not map stays
    assert found["properties"]["lastname"] == "Customer"
    assert sync_rows().get().result == {"created": False}


@pytest.mark.django_db
def test_staff_and_switched_off_sync_send_nothing(
    hubspot_settings, fake_hubspot, hubspot_staff, customer, immediate
):
    with immediate():
        mark_verified(hubspot_staff)
        hubspot_settings.user_sync_enabled = False
        hubspot_settings.save()
        mark_verified(customer)
    assert upserts(fake_hubspot) == 0 and not sync_rows().exists()


@pytest.mark.django_db
def test_a_changed_email_waits_for_its_confirmation_then_moves_the_same_contact(
    hubspot_settings, fake_hubspot, customer, immediate
):
    with immediate():
        mark_verified(customer)
    contact_id = HubSpotUserContact.objects.get().contact_id
    customer.email = "moved@example.com"
    with immediate():
        customer.save()
    assert contact(fake_hubspot, "moved@example.com") is None
    assert contact(fake_hubspot, "cus@example.com")["id"] == contact_id  # keeps its email
    with immediate():
        mark_verified(customer)
    assert contact(fake_hubspot, "moved@example.com")["id"] == contact_id
    assert contact(fake_hubspot, "cus@example.com") is None
    assert len(fake_hubspot.objects("contacts")) == 1


# --- the outbox: outage, refusals ---------------------------------------------------------------------
@pytest.mark.django_db
def test_an_outage_leaves_the_user_queued_then_delivered(
    hubspot_settings, fake_hubspot, customer, immediate
):
    fake_hubspot.faults.down()
    with immediate():
        mark_verified(customer)
    row = sync_rows().get()
    assert row.status == "pending" and row.last_error
    assert not HubSpotUserContact.objects.filter(user=customer).exclude(contact_id="").exists()
    fake_hubspot.faults.up()
    sync_rows().update(next_attempt_at=timezone.now())
    outbox.process_due()
    assert sync_rows().get().status == "succeeded"
    assert (
        contact(fake_hubspot, customer.email)["id"] == HubSpotUserContact.objects.get().contact_id
    )


@pytest.mark.django_db
def test_changes_waiting_in_the_outbox_are_one_write(hubspot_settings, fake_hubspot, customer):
    mark_verified(customer)  # the database task backend: nothing is sent yet
    for name in ("A", "B", "C"):
        customer.first_name = name
        customer.save()
    assert sync_rows().count() == 1
    outbox.process_due()
    assert upserts(fake_hubspot) == 1
    assert contact(fake_hubspot, customer.email)["properties"]["firstname"] == "C"


@pytest.mark.django_db
def test_an_input_hubspot_refuses_fails_alone(hubspot_settings, fake_hubspot):
    fake_hubspot.define_property("contacts", "member_no", unique=True)
    fake_hubspot.create_object("contacts", {"email": "other@example.com", "member_no": "user1"})
    hubspot_settings.user_property_map = {"email": "email", "username": "member_no"}
    hubspot_settings.save()
    users = make_customers(3)
    code, out = run_sync()
    assert code == 1
    assert "created 2, updated 0, refused 1, queued 0" in out.lower()
    assert upserts(fake_hubspot) == 1  # HubSpot answered 207 for the one input: one call
    failed = sync_rows().get(status="failed")
    assert failed.payload == {"user_id": users[1].pk}
    assert "member_no=user1 already exists" in failed.last_error
    assert contact(fake_hubspot, "user0@example.com")["properties"]["member_no"] == "user0"
    assert contact(fake_hubspot, "user1@example.com") is None


@pytest.mark.django_db
def test_an_address_hubspot_refuses_fails_alone(hubspot_settings, fake_hubspot):
    users = make_customers(3)
    User.objects.filter(pk=users[1].pk).update(email="nodot@localhost")
    CustomerEmail.objects.filter(user=users[1]).update(email="nodot@localhost")
    code, out = run_sync()
    assert code == 1 and "created 2, updated 0, refused 1, queued 0" in out.lower()
    assert "Email address nodot@localhost is invalid" in sync_rows().get(status="failed").last_error
    assert contact(fake_hubspot, "user0@example.com") and contact(fake_hubspot, "user2@example.com")


@pytest.mark.django_db
def test_a_value_that_fails_the_whole_batch_fails_only_its_user(hubspot_settings, fake_hubspot):
    fake_hubspot.define_property("contacts", "plan", "enumeration", ["First0", "First2", "First3"])
    hubspot_settings.user_property_map = {"email": "email", "first_name": "plan"}
    hubspot_settings.save()
    make_customers(4)  # First1 is not one of the options: HubSpot refuses the batch (400)
    code, out = run_sync()
    assert code == 1 and "created 3, updated 0, refused 1, queued 0" in out.lower()
    refused = sync_rows().get(status="failed")
    assert "First1" in refused.last_error
    assert contact(fake_hubspot, "user3@example.com")["properties"]["plan"] == "First3"


# --- the backfill command ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_thousand_existing_users_backfill_in_ten_batch_calls(hubspot_settings, fake_hubspot):
    make_customers(1000)
    make_customers(5, prefix="unconfirmed", verified=False)
    code, out = run_sync()
    assert code == 0, out
    assert "Users: 1000. Created 1000, updated 0, refused 0, queued 0." in out
    assert upserts(fake_hubspot) == 10
    assert HubSpotUserContact.objects.exclude(contact_id="").count() == 1000
    assert len(fake_hubspot.objects("contacts")) == 1000
    # Run again: everyone is linked, nothing to send; --all sends them again as updates.
    assert run_sync()[1].startswith("Users: 0.")
    code, out = run_sync("--all")
    assert code == 0 and "Created 0, updated 1000" in out
    assert upserts(fake_hubspot) == 20


@pytest.mark.django_db
def test_backfill_dry_run_sends_nothing(hubspot_settings, fake_hubspot):
    make_customers(3)
    code, out = run_sync("--dry-run")
    assert (code, out.strip()) == (0, "Would send 3 users; nothing was sent.")
    assert upserts(fake_hubspot) == 0 and not sync_rows().exists()


@pytest.mark.django_db
def test_backfill_exit_codes_when_hubspot_is_off_or_down(db, fake_hubspot, hubspot_settings):
    make_customers(2)
    fake_hubspot.faults.down()
    code, out = run_sync()
    assert code == 1 and "created 0, updated 0, refused 0, queued 2" in out.lower()
    assert "worker will send them" in out
    hubspot_settings.enabled = False
    hubspot_settings.save()
    code, out = run_sync()
    assert code == 1 and "Nothing was sent" in out


# --- the mapping on the settings page and the API ------------------------------------------------------
def settings_form(**overrides):
    return form_data(enabled="on", portal_id="12345678", credential_type="private_app", **overrides)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "prop,words",
    [("nosuchprop", "HubSpot has no contact property “nosuchprop”"), ("score", "is read-only")],
)
def test_a_mapping_to_a_missing_or_read_only_property_is_refused(
    hubspot_settings, fake_hubspot, hubspot_admin, prop, words
):
    fake_hubspot.define_property("contacts", "score", "number", calculated=True)
    mapping = {"email": "email", "last_name": prop}
    page = client_for(hubspot_admin).post(
        SETTINGS_URL, settings_form(user_property_map=json.dumps(mapping))
    )
    assert page.status_code == 200  # the form again, with the error
    text = page.content.decode()
    assert f"last_name → {prop}" in text and words in text
    api = client_for(hubspot_admin).put(
        SETTINGS_API, {"userPropertyMap": mapping}, content_type="application/json"
    )
    assert api.status_code == 400
    message = " ".join(api.json()["details"]["userPropertyMap"])
    assert f"last_name → {prop}" in message and words in message
    assert HubSpotSettings.objects.get().user_property_map == {
        "email": "email",
        "first_name": "firstname",
        "last_name": "lastname",
    }


@pytest.mark.django_db
def test_a_mapping_to_a_writable_property_is_saved(hubspot_settings, fake_hubspot, hubspot_admin):
    fake_hubspot.define_property("contacts", "nickname")
    mapping = {"email": "email", "first_name": "nickname"}
    page = client_for(hubspot_admin).post(
        SETTINGS_URL, settings_form(user_property_map=json.dumps(mapping))
    )
    assert page.status_code == 302
    assert HubSpotSettings.objects.get().user_property_map == mapping
    api = client_for(hubspot_admin).get(f"{SETTINGS_API}/config").json()["data"]
    assert api["userPropertyMap"] == mapping
    assert (api["userSyncEnabled"], api["userSyncFromHubspot"]) == (True, False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mapping,words",
    [
        ({"first_name": "firstname"}, "email must stay mapped"),
        ({"email": "email", "password": "x"}, "“password” is not a user field"),
        ({"email": "email", "first_name": "email"}, "both mapped to “email”"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused_without_asking_hubspot(
    hubspot_settings, fake_hubspot, hubspot_admin, mapping, words
):
    api = client_for(hubspot_admin).put(
        SETTINGS_API, {"userPropertyMap": mapping}, content_type="application/json"
    )
    assert api.status_code == 400 and words in " ".join(api.json()["details"]["userPropertyMap"])
    assert fake_hubspot.count("GET", "/crm/properties/") == 0


@pytest.mark.django_db
def test_a_changed_mapping_is_refused_while_hubspot_cannot_be_asked(
    hubspot_settings, fake_hubspot, hubspot_admin
):
    fake_hubspot.faults.down()
    body = {"userPropertyMap": {"email": "email", "first_name": "firstname"}, "chatEnabled": True}
    api = client_for(hubspot_admin).put(SETTINGS_API, body, content_type="application/json")
    assert api.status_code == 400
    assert "cannot be asked now" in " ".join(api.json()["details"]["userPropertyMap"])
    # Other settings save as before: an unchanged mapping is not checked.
    body = {"chatEnabled": True}
    response = client_for(hubspot_admin).put(SETTINGS_API, body, content_type="application/json")
    assert response.status_code == 200


# --- HubSpot to panel: the webhook ----------------------------------------------------------------------
def deliver(events):
    body = json.dumps(events).encode()
    timestamp = int(time.time() * 1000)
    signature = sign_v3(SECRET, "POST", "http://testserver/hubspot/webhooks/", body, timestamp)
    return Client().post(
        "/hubspot/webhooks/",
        body,
        content_type="application/json",
        HTTP_X_HUBSPOT_SIGNATURE_V3=signature,
        HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=str(timestamp),
    )


def change_event(event_id, contact_id, name, value, *, occurred=None):
    return {
        "eventId": event_id,
        "subscriptionId": 2,
        "portalId": 12345678,
        "appId": 99,
        "occurredAt": occurred or int(time.time() * 1000) + 1000,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": int(contact_id),
        "changeSource": "CRM_UI",
        "propertyName": name,
        "propertyValue": value,
    }


@pytest.fixture
def linked(hubspot_settings, fake_hubspot, customer, immediate):
    hubspot_settings.webhook_secret = SECRET
    hubspot_settings.save()
    with immediate():
        mark_verified(customer)
    return HubSpotUserContact.objects.get(user=customer)


@pytest.mark.django_db
def test_a_hubspot_change_reaches_the_user_only_when_switched_on(
    linked, hubspot_settings, customer, fake_hubspot
):
    assert (
        deliver([change_event(7001, linked.contact_id, "firstname", "Hubert")]).status_code == 204
    )
    process_webhook_events.call()
    customer.refresh_from_db()
    assert customer.first_name == ""  # the direction is off by default
    hubspot_settings.user_sync_from_hubspot = True
    hubspot_settings.save()
    deliver([change_event(7002, linked.contact_id, "firstname", "Hubert")])
    deliver([change_event(7002, linked.contact_id, "firstname", "Hubert")])  # redelivered
    process_webhook_events.call()
    customer.refresh_from_db()
    assert customer.first_name == "Hubert"
    assert upserts(fake_hubspot) == 1  # the change is not sent back to HubSpot
    assert sync_rows().count() == 1


@pytest.mark.django_db
def test_a_redelivered_change_applies_once(linked, hubspot_settings, customer, immediate):
    hubspot_settings.user_sync_from_hubspot = True
    hubspot_settings.save()
    deliver([change_event(7101, linked.contact_id, "lastname", "First")])
    process_webhook_events.call()
    customer.last_name = "Mine"  # changed in the panel since (and sent to HubSpot)
    with immediate():
        customer.save()
    deliver([change_event(7101, linked.contact_id, "lastname", "First")])
    process_webhook_events.call()
    customer.refresh_from_db()
    assert customer.last_name == "Mine"


@pytest.mark.django_db
def test_the_email_an_unmapped_property_and_older_events_never_change_the_user(
    linked, hubspot_settings, customer
):
    hubspot_settings.user_sync_from_hubspot = True
    hubspot_settings.save()
    past = int((timezone.now() - timedelta(hours=1)).timestamp() * 1000)
    deliver(
        [
            change_event(7201, linked.contact_id, "email", "evil@example.com"),
            change_event(7202, linked.contact_id, "company", "Acme"),
            change_event(7203, linked.contact_id, "firstname", "Stale", occurred=past),
            change_event(7204, "999999", "firstname", "Nobody"),
        ]
    )
    process_webhook_events.call()
    customer.refresh_from_db()
    assert (customer.email, customer.first_name) == ("cus@example.com", "")


@pytest.mark.django_db
def test_a_changed_email_whose_contact_was_deleted_in_hubspot_makes_one_by_the_new_address(
    hubspot_settings, fake_hubspot, customer, immediate
):
    with immediate():
        mark_verified(customer)
    link = HubSpotUserContact.objects.get()
    link.contact_id = "999999"  # deleted in HubSpot since
    link.save()
    customer.email = "moved@example.com"
    customer.save()
    with immediate():
        mark_verified(customer)
    moved = contact(fake_hubspot, "moved@example.com")
    assert moved and HubSpotUserContact.objects.get().contact_id == moved["id"]
    assert sync_rows().filter(status="succeeded").count() == 2


@pytest.mark.django_db
def test_the_user_page_in_the_admin_shows_the_contact_id(
    hubspot_settings, fake_hubspot, customer, superuser, immediate
):
    with immediate():
        mark_verified(customer)
    contact_id = HubSpotUserContact.objects.get().contact_id
    page = client_for(superuser).get(f"/admin/auth/user/{customer.pk}/change/")
    assert page.status_code == 200 and contact_id in page.content.decode()
