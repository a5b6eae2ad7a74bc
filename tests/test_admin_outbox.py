"""The outbox admin: who sees it, read-only detail, and the admins' retry and discard actions."""

import pytest
from django.contrib.messages import get_messages

from hubspot_integration.models import OutboxOperation
from hubspot_integration.services import outbox
from tests.helpers import client_for

LIST_URL = "/admin/hubspot_integration/outboxoperation/"
Status = OutboxOperation.Status

pytestmark = pytest.mark.django_db


def change_url(pk):
    return f"{LIST_URL}{pk}/change/"


def make(status, **fields):
    return OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_CONTACT,
        payload={"properties": {"email": f"{status}@example.com"}},
        status=status,
        **fields,
    )


def act(client, action, *operations):
    return client.post(
        LIST_URL,
        {"action": action, "_selected_action": [op.pk for op in operations]},
        follow=True,
    )


MATRIX = [
    (None, 302),
    ("customer", 302),
    ("plain_staff", 403),
    ("staff", 200),  # HubSpot staff see the outbox (view permission) ...
    ("admin", 200),
    ("superuser", 200),
]


@pytest.mark.parametrize("page", ["list", "change"])
@pytest.mark.parametrize("who,expected", MATRIX)
def test_outbox_pages_check_the_permission(users, page, who, expected):
    operation = make(Status.FAILED)
    url = LIST_URL if page == "list" else change_url(operation.pk)
    response = client_for(users.get(who) if who else None).get(url)
    assert response.status_code == expected
    if expected == 302:
        assert "/admin/login/" in response["Location"]


def test_list_shows_what_staff_need(hubspot_staff, hubspot_admin):
    make(
        Status.FAILED,
        attempts=3,
        last_error="HubSpot rejected the request (400): Email address x is invalid",
        correlation_id="abc-123",
        requested_by=hubspot_staff,
    )
    html = client_for(hubspot_admin).get(LIST_URL).content.decode()
    for text in ("Create contact", "Failed", "Email address x is invalid", "abc-123", "sam"):
        assert text in html
    assert "Retry the selected failed operations" in html
    filtered = client_for(hubspot_admin).get(LIST_URL, {"status__exact": "pending"})
    assert "abc-123" not in filtered.content.decode()


def test_staff_see_no_actions_and_cannot_use_them(hubspot_staff):
    operation = make(Status.FAILED)
    client = client_for(hubspot_staff)
    assert "Retry the selected" not in client.get(LIST_URL).content.decode()
    act(client, "retry_operations", operation)
    operation.refresh_from_db()
    assert operation.status == Status.FAILED


@pytest.mark.parametrize("who", ["admin", "superuser"])
def test_no_add_no_delete_no_edit(users, who):
    operation = make(Status.FAILED, last_error="boom")
    client = client_for(users[who])
    assert client.get(LIST_URL + "add/").status_code == 403
    assert client.get(f"{LIST_URL}{operation.pk}/delete/").status_code == 403
    detail = client.get(change_url(operation.pk)).content.decode()
    assert 'name="_save"' not in detail and "boom" in detail
    assert client.post(change_url(operation.pk), {"status": "succeeded"}).status_code == 403
    operation.refresh_from_db()
    assert operation.status == Status.FAILED


def test_retry_puts_failed_operations_back_and_they_run(
    hubspot_admin, hubspot_settings, fake_hubspot
):
    # A 400 is permanent: the operation fails at once and waits for a person.
    fake_hubspot.faults.fail_next(1, status=400, path_prefix="/crm/objects/2026-09/contacts")
    payload = {"properties": {"email": "retry@example.com"}}
    failed = outbox.submit(OutboxOperation.Kind.CREATE_CONTACT, payload).operation
    assert failed.status == Status.FAILED and fake_hubspot.objects("contacts") == []
    done = make(Status.SUCCEEDED)
    response = act(client_for(hubspot_admin), "retry_operations", failed, done)
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert "1 operation(s) queued for another attempt." in shown
    assert "1 skipped: only failed operations can be retried." in shown
    failed.refresh_from_db()
    assert failed.status == Status.PENDING
    outbox.process_due()
    failed.refresh_from_db()
    assert failed.status == Status.SUCCEEDED
    assert [c["properties"]["email"] for c in fake_hubspot.objects("contacts")] == [
        "retry@example.com"
    ]


def test_discard_stops_pending_and_failed_ones(hubspot_admin):
    pending, failed, done = make(Status.PENDING), make(Status.FAILED), make(Status.SUCCEEDED)
    response = act(client_for(hubspot_admin), "discard_operations", pending, failed, done)
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert "2 operation(s) discarded." in shown
    for operation, status in ((pending, "discarded"), (failed, "discarded"), (done, "succeeded")):
        operation.refresh_from_db()
        assert operation.status == status
    assert outbox.process_due() == 0


def _shown(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def act_filtered(client, query, action, *operations):
    return client.post(
        f"{LIST_URL}?{query}",
        {"action": action, "_selected_action": [op.pk for op in operations]},
        follow=True,
    )


@pytest.mark.parametrize(
    "query, action, statuses, done_message",
    [
        ("status__exact=failed", "retry_operations", ["failed", "failed"], "2 operation(s) queued"),
        (
            "status__exact=pending",
            "discard_operations",
            ["pending", "pending"],
            "2 operation(s) disc",
        ),
        ("status__exact=failed", "discard_operations", ["failed", "failed"], "2 operation(s) disc"),
    ],
)
def test_actions_under_a_status_filter_count_what_they_changed(
    hubspot_admin, query, action, statuses, done_message
):
    """The changed rows leave the filtered list: the counts come from the selection, so no
    "-2 skipped" appears."""
    operations = [make(status) for status in statuses]
    shown = _shown(act_filtered(client_for(hubspot_admin), query, action, *operations))
    assert any(m.startswith(done_message) for m in shown), shown
    assert not any("skipped" in m for m in shown), shown


def test_actions_on_a_mixed_selection_under_a_filter(hubspot_admin):
    failed, pending, done = make(Status.FAILED), make(Status.PENDING), make(Status.SUCCEEDED)
    client = client_for(hubspot_admin)
    query = "kind__exact=create_contact"
    shown = _shown(act_filtered(client, query, "retry_operations", failed, pending, done))
    assert shown == [
        "1 operation(s) queued for another attempt.",
        "2 skipped: only failed operations can be retried.",
    ]
    # The retried one is pending now: both pending ones go under the pending filter, and a second
    # discard of all three changes nothing.
    shown = _shown(
        act_filtered(client, "status__exact=pending", "discard_operations", failed, pending)
    )
    assert shown == ["2 operation(s) discarded."]
    shown = _shown(act_filtered(client, query, "discard_operations", failed, pending, done))
    assert shown == [
        "0 operation(s) discarded.",
        "3 skipped: only pending or failed operations can be discarded.",
    ]
    assert {op.status for op in OutboxOperation.objects.all()} == {"discarded", "succeeded"}
