"""A refusal in the admin is the admin's own "no permission" page, not a bare "403 Forbidden"."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from hubspot_integration.admin.denied import permission_denied
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

ADMIN = "/admin/hubspot_integration/"

# Pages only HubSpot admins may open: a "HubSpot staff" member is refused each of them.
ADMIN_ONLY = [
    ("get", ADMIN + "hubspotsettings/"),  # the settings page (its changelist sends to the form)
    ("get", ADMIN + "hubspotsettings/1/change/"),
    ("post", ADMIN + "hubspotsettings/test-connection/"),
    ("get", ADMIN + "settingsauditentry/"),
]
# Pages every HubSpot page needs a HubSpot permission for: staff without any are refused.
HUBSPOT_PAGES = [
    ("get", ADMIN + "hubspotcontact/"),
    ("get", ADMIN + "hubspotticket/"),
    ("get", ADMIN + "crmdashboard/"),
    ("post", ADMIN + "crmdashboard/refresh/"),
    ("get", ADMIN + "contactimport/add/"),
]


def assert_admin_denied_page(response):
    assert response.status_code == 403
    page = response.content.decode()
    assert "<h1>Permission denied</h1>" in page
    assert "SkyPanel administration" in page  # the admin's header: its look, not a bare page
    assert 'id="back-to-admin"' in page and 'href="/admin/"' in page
    assert "403 Forbidden" not in page


@pytest.mark.parametrize("method, url", ADMIN_ONLY)
def test_hubspot_staff_get_the_admin_no_permission_page(
    hubspot_settings, hubspot_staff, method, url
):
    response = getattr(client_for(hubspot_staff), method)(url)
    assert_admin_denied_page(response)


@pytest.mark.parametrize("method, url", HUBSPOT_PAGES)
def test_staff_without_hubspot_permissions_get_it_too(hubspot_settings, plain_staff, method, url):
    response = getattr(client_for(plain_staff), method)(url)
    assert_admin_denied_page(response)


def test_the_admin_may_open_what_staff_may_not(hubspot_settings, hubspot_admin):
    assert client_for(hubspot_admin).get(ADMIN + "settingsauditentry/").status_code == 200


def test_outside_the_admin_django_answers_as_before(db):
    request = RequestFactory().get("/support/tickets/")
    response = permission_denied(request, PermissionDenied())
    assert response.status_code == 403
    assert "Permission denied" not in response.content.decode()
