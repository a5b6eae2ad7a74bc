"""Who reaches what: every admin page, API endpoint and public page, for every role.

`TABLE` below is the one place that says what each role gets from each URL pattern: a row per
probe (a URL name, or the route of an unnamed pattern, and a method), a column per role. Every
role's test sends every probe with one client of its own and compares the status (and, for a
redirect, whether it goes to a login page); the API probes run twice, by session and by DRF token.

Completeness: the URL resolver is walked (includes, the admin site and every registered
ModelAdmin's own URLs) and every pattern must have a row, or a commented entry in `ALLOWLIST`;
a row or allowlist entry naming no pattern is stale and fails too. An API view must have a probe
for every HTTP method it implements. So a new page, endpoint or method fails here until someone
decides who may use it.

Writes are probed with bodies that cannot change anything shared: invalid ones (a 400, or a form
shown again with its errors, means the permission let the request through), or ones that are
no-ops here (refresh a cache, disconnect what is not connected, archive a contact seeded to be
archived).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_tasks_db.models import DBTaskResult, get_date_max
from rest_framework.authtoken.models import Token
from rest_framework.views import APIView

from hubspot_integration.models import (
    ContactImport,
    CustomerTicket,
    HubSpotSettings,
    OutboxOperation,
    SettingsAuditEntry,
)
from hubspot_integration.roles import STAFF_GROUP
from hubspot_integration.services import imports
from hubspot_integration.services.email_verification import mark_verified
from tests.helpers import make_user as _user

pytestmark = pytest.mark.django_db

# The columns of the table, in order.
ROLES = (
    "anon",  # nobody signed in; by token: a key that is no one's
    "cust",  # a customer whose email is not confirmed
    "verif",  # a customer whose email is confirmed
    "pstaff",  # is_staff, no HubSpot permission
    "hstaff",  # the "HubSpot staff" group
    "hadmin",  # the "HubSpot admins" group (not a superuser)
    "super",  # superuser
)


# --- what an answer may be ------------------------------------------------------------------------
@dataclass(frozen=True)
class Redirect:
    """A 301/302 whose Location starts with `to`; `to=None`: anywhere but a login page."""

    to: str | None = None

    def matches(self, response) -> bool:
        if response.status_code not in (301, 302):
            return False
        where = urlsplit(response["Location"]).path
        if self.to is None:
            return not where.startswith(LOGIN_PAGES)
        return where.startswith(self.to)

    def __repr__(self) -> str:
        return f"redirect to {self.to}" if self.to else "redirect (not to a login page)"


LOGIN_PAGES = ("/admin/login/", "/accounts/login/")
LOGIN = Redirect("/admin/login/")  # the admin's own check: not signed in, or not staff
SIGNIN = Redirect("/accounts/login/")  # the customer site's login_required
AWAY = Redirect()  # a redirect the view chose (done, or back to a page), not a login page


def matches(expected, response) -> bool:
    if isinstance(expected, Redirect):
        return expected.matches(response)
    return response.status_code == expected


# --- the table --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class P:
    """One probe: `key` is a URL name (namespaced) or, for an unnamed pattern, its full route."""

    key: str
    method: str
    expect: tuple
    args: dict = field(default_factory=dict)  # path kwargs; "{name}" is filled from the world
    query: str = ""
    data: dict | None = None  # form body (admin, public pages) or JSON body (API)
    path: str = ""  # a literal path, for a pattern reverse() cannot build
    fresh: bool = False  # a client of its own (logout would end the shared one's session)
    bad_token: object = None  # the "anon" column by token (a key that is no one's), if it differs
    api: bool = False

    def expected(self, role: str, kind: str):
        if kind == "token" and role == "anon" and self.bad_token is not None:
            return self.bad_token
        return self.expect[ROLES.index(role)]

    def label(self) -> str:
        extra = f"?{self.query}" if self.query else ""
        return f"{self.method} {self.key} {self.args or ''}{extra}".replace("  ", " ")


def row(key, method, *expect, **options) -> P:
    assert len(expect) == len(ROLES), f"{key} {method}: {len(expect)} columns"
    return P(key, method, tuple(expect), **options)


def api(key, method, *expect, **options) -> P:
    return row(key, method, *expect, api=True, **options)


def superuser_only_admin(
    prefix: str, obj: str, *, add=True, change=True, delete=True, saved=200
) -> list[P]:
    """The standard pages of a ModelAdmin that only a superuser may use (the model's own
    permissions, which no HubSpot group holds). `add`/`change`/`delete`: whether even the
    superuser may (read-only admins refuse everyone); `saved`: the superuser's answer to an empty
    change form (200: its errors; AWAY: nothing to edit, so it is saved unchanged)."""
    name = f"admin:{prefix.replace('/', '_')}"
    oid = {"object_id": obj}
    mine = 200
    # fmt: off
    return [
        #                                        anon   cust   verif  pstaff hstaff hadmin super
        row(f"{name}_changelist", "GET",         LOGIN, LOGIN, LOGIN, 403,   403,   403,   mine),
        row(f"{name}_add", "GET",                LOGIN, LOGIN, LOGIN, 403,   403,   403,   mine if add else 403),
        row(f"{name}_add", "POST",               LOGIN, LOGIN, LOGIN, 403,   403,   403,   mine if add else 403, data={}),
        row(f"{name}_change", "GET",             LOGIN, LOGIN, LOGIN, 403,   403,   403,   mine, args=oid),
        row(f"{name}_change", "POST",            LOGIN, LOGIN, LOGIN, 403,   403,   403,   saved if change else 403, args=oid, data={}),
        row(f"{name}_delete", "GET",             LOGIN, LOGIN, LOGIN, 403,   403,   403,   mine if delete else 403, args=oid),
        row(f"{name}_delete", "POST",            LOGIN, LOGIN, LOGIN, 403,   403,   403,   mine if delete else 403, args=oid, data={}),
        row(f"{name}_history", "GET",            LOGIN, LOGIN, LOGIN, 403,   403,   403,   mine, args=oid),
        # The pre-1.9 change URL: a redirect to the change page (which checks), for any staff.
        row(f"admin/{prefix}/<path:object_id>/", "GET",
                                                 LOGIN, LOGIN, LOGIN, AWAY,  AWAY,  AWAY,  AWAY,  args=oid),
    ]
    # fmt: on


HS = "admin:hubspot_integration"
HSR = "admin/hubspot_integration"  # routes of the unnamed legacy redirects
SETTINGS_ID = {"object_id": str(HubSpotSettings.SINGLETON_PK)}

# A form POST with an empty body is harmless on Django's own pages: an add or change form comes
# back with its errors (200), and a delete page without its "post" confirmation asks again (200).
# fmt: off
ADMIN_SITE = [
    #   key                                  method  anon   cust   verif  pstaff hstaff hadmin super
    row("admin:index", "GET",                        LOGIN, LOGIN, LOGIN, 200,   200,   200,   200),
    # The login page itself: public by design; staff already signed in go on to the index.
    row("admin:login", "GET",                        200,   200,   200,   AWAY,  AWAY,  AWAY,  AWAY),
    # Non-staff are sent to the index (and from there to the login page); staff are signed out.
    row("admin:logout", "POST",                      AWAY,  AWAY,  AWAY,  200,   200,   200,   200,   fresh=True),
    # A link (GET) signs no one out.
    row("admin:logout", "GET",                       AWAY,  AWAY,  AWAY,  405,   405,   405,   405),
    # Everyone's own password.
    row("admin:password_change", "GET",              LOGIN, LOGIN, LOGIN, 200,   200,   200,   200),
    row("admin:password_change_done", "GET",         LOGIN, LOGIN, LOGIN, 200,   200,   200,   200),
    row("admin:jsi18n", "GET",                       LOGIN, LOGIN, LOGIN, 200,   200,   200,   200),
    # Autocomplete answers only for a model its caller may view, whichever field asks: groups and
    # users (names, emails) are the superuser's; the outbox is staff's to read.
    row("admin:autocomplete", "GET",                 LOGIN, LOGIN, LOGIN, 403,   403,   403,   200,
        query="app_label=auth&model_name=user&field_name=groups&term=Hub"),
    row("admin:autocomplete", "GET",                 LOGIN, LOGIN, LOGIN, 403,   403,   403,   200,
        query="app_label=hubspot_integration&model_name=outboxoperation&field_name=requested_by&term=a"),
    row("admin:autocomplete", "GET",                 LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,
        query="app_label=hubspot_integration&model_name=customerticket&field_name=operation&term=1"),
    # "View on site" of a user: no model here has a public URL, so nothing for anyone.
    row("admin:view_on_site", "GET",                 LOGIN, LOGIN, LOGIN, 404,   404,   404,   404,
        args={"content_type_id": "{user_ct}", "object_id": "{customer_pk}"}),
    # An app's index lists only what its caller may use; an app with nothing to show is a 404.
    row("admin:app_list", "GET",                     LOGIN, LOGIN, LOGIN, 404,   200,   200,   200,   args={"app_label": "hubspot_integration"}),
    row("admin:app_list", "GET",                     LOGIN, LOGIN, LOGIN, 404,   404,   404,   200,   args={"app_label": "auth"}),
    row("admin:app_list", "GET",                     LOGIN, LOGIN, LOGIN, 404,   404,   404,   200,   args={"app_label": "authtoken"}),
    row("admin:app_list", "GET",                     LOGIN, LOGIN, LOGIN, 404,   404,   404,   200,   args={"app_label": "axes"}),
    row("admin:app_list", "GET",                     LOGIN, LOGIN, LOGIN, 404,   404,   404,   200,   args={"app_label": "django_tasks_database"}),
    row("admin/(?P<url>.*)$", "GET",                 LOGIN, LOGIN, LOGIN, 404,   404,   404,   404,   path="/admin/no-such-page/"),
]

# Users, groups, tokens, login records and task results: superuser only. Each of these grants a
# permission or stands in for a person (a token is an account's key to the API).
SUPERUSER_ONLY = [
    *superuser_only_admin("auth/user", "{customer_pk}"),
    #   key                                  method  anon   cust   verif  pstaff hstaff hadmin super
    row("admin:auth_user_password_change", "GET",    LOGIN, LOGIN, LOGIN, 403,   403,   403,   200,   args={"id": "{customer_pk}"}),
    row("admin:auth_user_password_change", "POST",   LOGIN, LOGIN, LOGIN, 403,   403,   403,   200,   args={"id": "{customer_pk}"}, data={}),
    *superuser_only_admin("auth/group", "{group_pk}"),
    *superuser_only_admin("authtoken/tokenproxy", "{customer_pk}"),
    # axes' records are all read-only fields: an empty change form saves them as they are.
    *superuser_only_admin("axes/accessattempt", "{attempt_pk}", add=False, saved=AWAY),
    *superuser_only_admin("axes/accesslog", "{access_log_pk}", add=False, saved=AWAY),
    *superuser_only_admin("axes/accessfailurelog", "{failure_log_pk}", add=False, saved=AWAY),
    *superuser_only_admin("django_tasks_database/dbtaskresult", "{task_pk}", add=False, change=False, delete=False),
]

HUBSPOT_ADMIN = [
    #   key                                  method  anon   cust   verif  pstaff hstaff hadmin super
    # -- HubSpot settings: HubSpot admins (view/change settings, test the connection) ----------
    row(f"{HS}_hubspotsettings_changelist", "GET",   LOGIN, LOGIN, LOGIN, 403,   403,   AWAY,  AWAY),
    row(f"{HS}_hubspotsettings_change", "GET",       LOGIN, LOGIN, LOGIN, 403,   403,   200,   200,   args=SETTINGS_ID),
    # An invalid choice: the form comes back with its error, nothing is saved.
    row(f"{HS}_hubspotsettings_change", "POST",      LOGIN, LOGIN, LOGIN, 403,   403,   200,   200,   args=SETTINGS_ID, data={"rate_limit_per_10s": "fast"}),
    row(f"{HS}_hubspotsettings_history", "GET",      LOGIN, LOGIN, LOGIN, 403,   403,   200,   200,   args=SETTINGS_ID),
    row(f"{HS}_hubspotsettings_add", "GET",          LOGIN, LOGIN, LOGIN, 403,   403,   403,   403),
    row(f"{HS}_hubspotsettings_add", "POST",         LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   data={}),
    row(f"{HS}_hubspotsettings_delete", "GET",       LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   args=SETTINGS_ID),
    row(f"{HS}_hubspotsettings_delete", "POST",      LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   args=SETTINGS_ID, data={}),
    row(f"{HSR}/hubspotsettings/<path:object_id>/", "GET",
                                                     LOGIN, LOGIN, LOGIN, AWAY,  AWAY,  AWAY,  AWAY,  args=SETTINGS_ID),
    # GET goes back to the settings page; POST runs the check against the fake.
    row(f"{HS}_hubspotsettings_test", "GET",         LOGIN, LOGIN, LOGIN, 403,   403,   AWAY,  AWAY),
    row(f"{HS}_hubspotsettings_test", "POST",        LOGIN, LOGIN, LOGIN, 403,   403,   200,   200),
    # No client ID is stored: Connect ends on the settings page with a message.
    row(f"{HS}_hubspotsettings_oauth_connect", "POST",
                                                     LOGIN, LOGIN, LOGIN, 403,   403,   AWAY,  AWAY),
    # Nothing is connected: Disconnect says so on the settings page.
    row(f"{HS}_hubspotsettings_oauth_disconnect", "POST",
                                                     LOGIN, LOGIN, LOGIN, 403,   403,   AWAY,  AWAY),
    # HubSpot's callback without a round trip started: back to the settings page.
    row("hubspot-oauth-callback", "GET",             LOGIN, LOGIN, LOGIN, 403,   403,   AWAY,  AWAY,   query="code=x&state=y"),
    # -- the settings audit log: HubSpot admins read it; nobody adds, edits or deletes ---------
    row(f"{HS}_settingsauditentry_changelist", "GET",
                                                     LOGIN, LOGIN, LOGIN, 403,   403,   200,   200),
    row(f"{HS}_settingsauditentry_change", "GET",    LOGIN, LOGIN, LOGIN, 403,   403,   200,   200,   args={"object_id": "{audit_pk}"}),
    row(f"{HS}_settingsauditentry_change", "POST",   LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   args={"object_id": "{audit_pk}"}, data={}),
    row(f"{HS}_settingsauditentry_history", "GET",   LOGIN, LOGIN, LOGIN, 403,   403,   200,   200,   args={"object_id": "{audit_pk}"}),
    row(f"{HS}_settingsauditentry_add", "GET",       LOGIN, LOGIN, LOGIN, 403,   403,   403,   403),
    row(f"{HS}_settingsauditentry_add", "POST",      LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   data={}),
    row(f"{HS}_settingsauditentry_delete", "GET",    LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   args={"object_id": "{audit_pk}"}),
    row(f"{HS}_settingsauditentry_delete", "POST",   LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   args={"object_id": "{audit_pk}"}, data={}),
    row(f"{HSR}/settingsauditentry/<path:object_id>/", "GET",
                                                     LOGIN, LOGIN, LOGIN, AWAY,  AWAY,  AWAY,  AWAY,  args={"object_id": "{audit_pk}"}),
]

HUBSPOT_STAFF = [
    #   key                                  method  anon   cust   verif  pstaff hstaff hadmin super
    # -- contacts (manage_contacts) -------------------------------------------------------------
    row(f"{HS}_hubspotcontact_changelist", "GET",    LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_hubspotcontact_add", "GET",           LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_hubspotcontact_add", "POST",          LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   data={}),
    row(f"{HS}_hubspotcontact_change", "GET",        LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{contact}"}),
    row(f"{HS}_hubspotcontact_change", "POST",       LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{contact}"}, data={}),
    # The confirmation page (its POST archives at once, so it is left to test_admin_contacts).
    row(f"{HS}_hubspotcontact_delete", "GET",        LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{contact}"}),
    # GDPR delete needs gdpr_delete_contacts too (the admins' group); a POST without the
    # confirmation's "post=yes" only shows the page again (its real POST is in test_account).
    row(f"{HS}_hubspotcontact_gdpr_delete", "GET",   LOGIN, LOGIN, LOGIN, 403,   403,   200,   200,   args={"object_id": "{contact}"}),
    row(f"{HS}_hubspotcontact_gdpr_delete", "POST",  LOGIN, LOGIN, LOGIN, 403,   403,   200,   200,   args={"object_id": "{contact}"}, data={}),
    # A reply to a contact's chat thread, and closing/reopening it: POST only; an empty reply or
    # no status is refused before anything is queued (back to the contact's page).
    row(f"{HS}_hubspotcontact_thread_reply", "POST", LOGIN, LOGIN, LOGIN, 403,   AWAY,  AWAY,  AWAY,  args={"object_id": "{contact}", "thread_id": "1"}, data={}),
    row(f"{HS}_hubspotcontact_thread_reply", "GET",  LOGIN, LOGIN, LOGIN, 403,   405,   405,   405,   args={"object_id": "{contact}", "thread_id": "1"}),
    row(f"{HS}_hubspotcontact_thread_status", "POST",
                                                     LOGIN, LOGIN, LOGIN, 403,   AWAY,  AWAY,  AWAY,  args={"object_id": "{contact}", "thread_id": "1"}, data={}),
    row(f"{HS}_hubspotcontact_thread_status", "GET", LOGIN, LOGIN, LOGIN, 403,   405,   405,   405,   args={"object_id": "{contact}", "thread_id": "1"}),
    # The list's CSV export, and its bulk actions (an empty POST names no action: back to the list).
    row(f"{HS}_hubspotcontact_export", "GET",          LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_hubspotcontact_actions", "POST",        LOGIN, LOGIN, LOGIN, 403,   AWAY,  AWAY,  AWAY,  data={}),
    row(f"{HS}_hubspotcontact_actions", "GET",         LOGIN, LOGIN, LOGIN, 403,   405,   405,   405),
    # -- tickets (manage_tickets) ---------------------------------------------------------------
    row(f"{HS}_hubspotticket_changelist", "GET",     LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_hubspotticket_add", "GET",            LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_hubspotticket_add", "POST",           LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   data={}),
    row(f"{HS}_hubspotticket_change", "GET",         LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{ticket}"}),
    row(f"{HS}_hubspotticket_change", "POST",        LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{ticket}"}, data={}),
    row(f"{HS}_hubspotticket_refresh_pipelines", "POST",
                                                     LOGIN, LOGIN, LOGIN, 403,   AWAY,  AWAY,  AWAY),
    # The list's CSV export, and its bulk actions (an empty POST names no action: back to the list).
    row(f"{HS}_hubspotticket_export", "GET",          LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_hubspotticket_actions", "POST",        LOGIN, LOGIN, LOGIN, 403,   AWAY,  AWAY,  AWAY,  data={}),
    row(f"{HS}_hubspotticket_actions", "GET",         LOGIN, LOGIN, LOGIN, 403,   405,   405,   405),
    # -- the CRM dashboard (view_crm_dashboard) -------------------------------------------------
    row(f"{HS}_crmdashboard_changelist", "GET",      LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_crmdashboard_refresh", "POST",        LOGIN, LOGIN, LOGIN, 403,   AWAY,  AWAY,  AWAY),
    # -- companies (manage_companies) -----------------------------------------------------------
    row(f"{HS}_hubspotcompany_changelist", "GET",    LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_hubspotcompany_add", "GET",           LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_hubspotcompany_add", "POST",          LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   data={}),
    row(f"{HS}_hubspotcompany_change", "GET",        LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{company}"}),
    row(f"{HS}_hubspotcompany_change", "POST",       LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{company}"}, data={}),
    # The confirmation page (its POST archives at once, so it is left to test_companies).
    row(f"{HS}_hubspotcompany_delete", "GET",        LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{company}"}),
    # The list's CSV export, and its bulk actions (an empty POST names no action: back to the list).
    row(f"{HS}_hubspotcompany_export", "GET",          LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_hubspotcompany_actions", "POST",        LOGIN, LOGIN, LOGIN, 403,   AWAY,  AWAY,  AWAY,  data={}),
    row(f"{HS}_hubspotcompany_actions", "GET",         LOGIN, LOGIN, LOGIN, 403,   405,   405,   405),
    # -- contact imports (import_contacts; deleting one is the superuser's) ---------------------
    row(f"{HS}_contactimport_changelist", "GET",     LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_contactimport_add", "GET",            LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_contactimport_add", "POST",           LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   data={}),
    row(f"{HS}_contactimport_change", "GET",         LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{import_pk}"}),
    row(f"{HS}_contactimport_change", "POST",        LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{import_pk}"}, data={}),
    row(f"{HS}_contactimport_status", "GET",         LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"import_id": "{import_pk}"}),
    row(f"{HS}_contactimport_history", "GET",        LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{import_pk}"}),
    row(f"{HS}_contactimport_delete", "GET",         LOGIN, LOGIN, LOGIN, 403,   403,   403,   200,   args={"object_id": "{import_pk}"}),
    row(f"{HS}_contactimport_delete", "POST",        LOGIN, LOGIN, LOGIN, 403,   403,   403,   200,   args={"object_id": "{import_pk}"}, data={}),
    row(f"{HSR}/contactimport/<path:object_id>/", "GET",
                                                     LOGIN, LOGIN, LOGIN, AWAY,  AWAY,  AWAY,  AWAY,  args={"object_id": "{import_pk}"}),
    # -- customers' tickets (view_customerticket; HubSpot is the truth, so read-only) -----------
    row(f"{HS}_customerticket_changelist", "GET",    LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_customerticket_change", "GET",        LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{customer_ticket_pk}"}),
    row(f"{HS}_customerticket_change", "POST",       LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   args={"object_id": "{customer_ticket_pk}"}, data={}),
    row(f"{HS}_customerticket_history", "GET",       LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{customer_ticket_pk}"}),
    row(f"{HS}_customerticket_add", "GET",           LOGIN, LOGIN, LOGIN, 403,   403,   403,   403),
    row(f"{HS}_customerticket_add", "POST",          LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   data={}),
    row(f"{HS}_customerticket_delete", "GET",        LOGIN, LOGIN, LOGIN, 403,   403,   403,   200,   args={"object_id": "{customer_ticket_pk}"}),
    row(f"{HS}_customerticket_delete", "POST",       LOGIN, LOGIN, LOGIN, 403,   403,   403,   200,   args={"object_id": "{customer_ticket_pk}"}, data={}),
    row(f"{HSR}/customerticket/<path:object_id>/", "GET",
                                                     LOGIN, LOGIN, LOGIN, AWAY,  AWAY,  AWAY,  AWAY,  args={"object_id": "{customer_ticket_pk}"}),
    # -- the outbox (view: staff; retry/discard actions: admins; rows are never edited) ---------
    row(f"{HS}_outboxoperation_changelist", "GET",   LOGIN, LOGIN, LOGIN, 403,   200,   200,   200),
    row(f"{HS}_outboxoperation_change", "GET",       LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{operation_pk}"}),
    row(f"{HS}_outboxoperation_change", "POST",      LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   args={"object_id": "{operation_pk}"}, data={}),
    row(f"{HS}_outboxoperation_history", "GET",      LOGIN, LOGIN, LOGIN, 403,   200,   200,   200,   args={"object_id": "{operation_pk}"}),
    row(f"{HS}_outboxoperation_add", "GET",          LOGIN, LOGIN, LOGIN, 403,   403,   403,   403),
    row(f"{HS}_outboxoperation_add", "POST",         LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   data={}),
    row(f"{HS}_outboxoperation_delete", "GET",       LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   args={"object_id": "{operation_pk}"}),
    row(f"{HS}_outboxoperation_delete", "POST",      LOGIN, LOGIN, LOGIN, 403,   403,   403,   403,   args={"object_id": "{operation_pk}"}, data={}),
    row(f"{HSR}/outboxoperation/<path:object_id>/", "GET",
                                                     LOGIN, LOGIN, LOGIN, AWAY,  AWAY,  AWAY,  AWAY,  args={"object_id": "{operation_pk}"}),
]

# By session and by token. Not signed in is a 401 (token authentication comes first, so the
# answer says `WWW-Authenticate: Token`); signed in without the permission, a 403. `bad_token`:
# the answer to a key that is no one's, where it differs from the session's anonymous one.
API = [
    #   key                                  method  anon   cust   verif  pstaff hstaff hadmin super
    api("hubspot_api:settings-config", "GET",        401,   403,   403,   403,   403,   200,   200),
    # OPTIONS (DRF's metadata) passes the same permission check.
    api("hubspot_api:settings-config", "OPTIONS",    401,   403,   403,   403,   403,   200,   200),
    api("hubspot_api:settings", "PUT",               401,   403,   403,   403,   403,   400,   400,   data={"dashboardCacheSeconds": -1}),
    # The permission is checked before the method: only those allowed learn that GET is not one.
    api("hubspot_api:settings", "GET",               401,   403,   403,   403,   403,   405,   405),
    api("hubspot_api:test-connection", "POST",       401,   403,   403,   403,   403,   200,   200),
    api("hubspot_api:contacts", "GET",               401,   403,   403,   403,   200,   200,   200),
    api("hubspot_api:contacts", "POST",              401,   403,   403,   403,   400,   400,   400,   data={}),
    api("hubspot_api:contact", "GET",                401,   403,   403,   403,   200,   200,   200,   args={"contact_id": "{contact}"}),
    api("hubspot_api:contact", "PATCH",              401,   403,   403,   403,   400,   400,   400,   args={"contact_id": "{contact}"}, data={"email": "not-an-address"}),
    api("hubspot_api:companies", "GET",              401,   403,   403,   403,   200,   200,   200),
    api("hubspot_api:companies", "POST",             401,   403,   403,   403,   400,   400,   400,   data={}),
    api("hubspot_api:company", "GET",                401,   403,   403,   403,   200,   200,   200,   args={"company_id": "{company}"}),
    api("hubspot_api:company", "PATCH",              401,   403,   403,   403,   400,   400,   400,   args={"company_id": "{company}"}, data={"domain": "not a domain"}),
    api("hubspot_api:company", "DELETE",             401,   403,   403,   403,   200,   200,   200,   args={"company_id": "{doomed_company}"}),
    # A contact seeded to be archived (a fresh one in each role's test).
    api("hubspot_api:contact", "DELETE",             401,   403,   403,   403,   200,   200,   200,   args={"contact_id": "{doomed_contact}"}),
    api("hubspot_api:tickets", "GET",                401,   403,   403,   403,   200,   200,   200),
    api("hubspot_api:tickets", "POST",               401,   403,   403,   403,   400,   400,   400,   data={}),
    api("hubspot_api:ticket", "GET",                 401,   403,   403,   403,   200,   200,   200,   args={"ticket_id": "{ticket}"}),
    api("hubspot_api:ticket", "PATCH",               401,   403,   403,   403,   400,   400,   400,   args={"ticket_id": "{ticket}"}, data={"priority": "URGENT!"}),
    api("hubspot_api:pipelines", "GET",              401,   403,   403,   403,   200,   200,   200),
    api("hubspot_api:crm-summary", "GET",            401,   403,   403,   403,   200,   200,   200),
    api("hubspot_api:recent-contacts", "GET",        401,   403,   403,   403,   200,   200,   200),
    api("hubspot_api:deal-pipeline", "GET",          401,   403,   403,   403,   200,   200,   200),
    api("hubspot_api:analytics", "GET",              401,   403,   403,   403,   200,   200,   200),
    api("hubspot_api:forms-report", "GET",           401,   403,   403,   403,   200,   200,   200),
    api("hubspot_api:support-summary", "GET",        401,   403,   403,   403,   200,   200,   200),
    # Public, and without authentication at all: a bad key changes nothing.
    api("hubspot_api:health", "GET",                 200,   200,   200,   200,   200,   200,   200),
    api("hubspot-public-config", "GET",              200,   200,   200,   200,   200,   200,   200),
    # The OpenAPI schema and its docs pages: public (AllowAny), but a bad key is still refused.
    api("schema", "GET",                             200,   200,   200,   200,   200,   200,   200,   bad_token=401),
    api("api-docs", "GET",                           200,   200,   200,   200,   200,   200,   200,   bad_token=401),
    api("api-redoc", "GET",                          200,   200,   200,   200,   200,   200,   200,   bad_token=401),
]

# The customer site: public pages, a customer's own tickets, sign-up and email confirmation.
PUBLIC = [
    #   key                                  method  anon   cust   verif  pstaff hstaff hadmin super
    row("home", "GET",                               200,   200,   200,   200,   200,   200,   200),
    row("support", "GET",                            200,   200,   200,   200,   200,   200,   200),
    # No subject: the form comes back with its errors.
    row("support", "POST",                           200,   200,   200,   200,   200,   200,   200,   data={}),
    # Nothing was just sent from this session: back to the support page.
    row("support-received", "GET",                   AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY),
    row("my-tickets", "GET",                         SIGNIN, 200,  200,   200,   200,   200,   200),
    # A ticket's page is its owner's alone (the "cust" column's); anyone else's, staff too, is a 404.
    row("my-ticket", "GET",                          SIGNIN, 200,  404,   404,   404,   404,   404,   args={"pk": "{customer_ticket_pk}"}),
    row("contact", "GET",                            200,   200,   200,   200,   200,   200,   200),
    row("contact", "POST",                           200,   200,   200,   200,   200,   200,   200,   data={}),
    # Django's own sign-in and sign-out views: public by design.
    row("login", "GET",                              200,   200,   200,   200,   200,   200,   200),
    row("logout", "POST",                            200,   200,   200,   200,   200,   200,   200,   fresh=True),
    row("logout", "GET",                             405,   405,   405,   405,   405,   405,   405),
    # Signed in already: back home.
    row("signup", "GET",                             200,   AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY),
    row("signup", "POST",                            200,   AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  data={}),
    # Not just signed up in this session: back to the sign-up page.
    row("signup-done", "GET",                        AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY),
    # Sends a new link to the signed-in account's own address (or says it is confirmed).
    row("verify-email-send", "POST",                 SIGNIN, AWAY, AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  data={}),
    row("verify-email", "GET",                       400,   400,   400,   400,   400,   400,   400,   args={"token": "not-a-token"}),
    # The account page: every signed-in user's own; empty POSTs show the page with its errors.
    row("profile", "GET",                            SIGNIN, 200,  200,   200,   200,   200,   200),
    row("profile", "POST",                           SIGNIN, 200,  200,   200,   200,   200,   200,   data={}),
    row("my-data", "GET",                            SIGNIN, 200,  200,   200,   200,   200,   200),
    row("delete-account", "GET",                     SIGNIN, 200,  200,   200,   200,   200,   200),
    row("delete-account", "POST",                    SIGNIN, 200,  200,   200,   200,   200,   200,   data={}),
    # Only right after a deletion in this session: else back home.
    row("account-deleted", "GET",                    AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY),
    # The banner's answer: no choice is a 400 for anyone; GET is not allowed.
    row("record-consent", "POST",                    400,   400,   400,   400,   400,   400,   400,   data={}),
    row("record-consent", "GET",                     405,   405,   405,   405,   405,   405,   405),
    # Django's set_language (the footer's switcher): anyone's, a cookie and a redirect back; an
    # empty body changes nothing.
    row("set_language", "POST",                      AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  data={}),
    row("set_language", "GET",                       AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY,  AWAY),
    # Unsigned: refused whoever is signed in (the signature is the only credential).
    row("hubspot-webhooks", "POST",                  401,   401,   401,   401,   401,   401,   401,   data={}),
    # Prometheus' scrape: a bearer token or an allowed address, never a role (none set here).
    row("metrics", "GET",                            403,   403,   403,   403,   403,   403,   403),
    row("metrics", "POST",                           405,   405,   405,   405,   405,   405,   405,   data={}),
]
# fmt: on

TABLE = ADMIN_SITE + SUPERUSER_ONLY + HUBSPOT_ADMIN + HUBSPOT_STAFF + API + PUBLIC

# URL patterns with no row, each with the reason ({key: why}); stale entries fail like stale rows.
# Empty today: static files are WhiteNoise's (middleware, no URL pattern), and the patterns that
# are public by design (Django's sign-in and sign-out views, the OpenAPI schema and docs, the
# health check) have rows above, so that turning one private, or a private one public, shows.
ALLOWLIST: dict[str, str] = {}


# --- the site's URL patterns ---------------------------------------------------------------------
def url_patterns() -> dict[str, tuple[str, URLPattern]]:
    """Every URL pattern the site serves, with its full route, by the key the table uses: its
    namespaced name, or the route when it has no name."""
    found: dict[str, tuple[str, URLPattern]] = {}
    duplicates = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = ":".join(filter(None, [namespace, p.namespace]))
                walk(p.url_patterns, prefix + str(p.pattern), inner)
                continue
            route = prefix + str(p.pattern)
            key = (f"{namespace}:{p.name}" if namespace else p.name) if p.name else route
            if key in found:
                duplicates.append(key)
            found[key] = (route, p)

    walk(get_resolver().url_patterns, "", "")
    assert not duplicates, f"two patterns share a key, so one row would cover both: {duplicates}"
    return found


def model_admin_keys() -> set[str]:
    """The keys of every registered ModelAdmin's own URLs (admin.site.urls should hold them all)."""
    keys = set()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        for p in model_admin.get_urls():
            route = f"admin/{opts.app_label}/{opts.model_name}/{p.pattern}"
            keys.add(f"admin:{p.name}" if p.name else route)
    return keys


def api_methods(pattern: URLPattern) -> set[str]:
    cls = getattr(pattern.callback, "cls", None)
    if cls is None or not issubclass(cls, APIView):
        return set()
    return {
        m.upper() for m in cls.http_method_names if m not in ("head", "options") and hasattr(cls, m)
    }


def test_every_url_pattern_has_a_row_and_every_row_a_pattern():
    patterns = url_patterns()
    rows = {p.key for p in TABLE}
    missing = sorted(set(patterns) - rows - set(ALLOWLIST))
    assert not missing, (
        "URL patterns with no row in tests/test_security_matrix.py TABLE (say who may use them, "
        f"or add them to ALLOWLIST with the reason): {missing}"
    )
    stale = sorted((rows | set(ALLOWLIST)) - set(patterns))
    assert not stale, f"rows or allowlist entries naming no URL pattern: {stale}"
    both = sorted(rows & set(ALLOWLIST))
    assert not both, f"in the table and the allowlist: {both}"


def test_every_model_admin_url_is_served_and_covered():
    patterns = url_patterns()
    keys = model_admin_keys()
    assert keys, "no ModelAdmin URLs found"
    assert not sorted(keys - set(patterns)), "ModelAdmin URLs missing from the resolver"
    assert not sorted(keys - {p.key for p in TABLE} - set(ALLOWLIST))


def test_every_method_of_every_api_view_is_probed():
    probed: dict[str, set[str]] = {}
    for p in TABLE:
        probed.setdefault(p.key, set()).add(p.method)
    patterns = url_patterns()
    unprobed = {
        key: sorted(api_methods(pattern) - probed.get(key, set()))
        for key, (_, pattern) in patterns.items()
        if api_methods(pattern) - probed.get(key, set())
    }
    assert not unprobed, f"API methods with no probe in TABLE: {unprobed}"
    # The API's rows (and only they) are also sent by token.
    misfiled = [p.label() for p in TABLE if p.api != patterns[p.key][0].startswith("api/")]
    assert not misfiled, f"rows of the API written with row() or others with api(): {misfiled}"


# --- the table's own promises ----------------------------------------------------------------------
# Checked on the table, so that loosening a row to match a loosened permission fails here too.
SUPERUSER_ONLY_KEYS = re.compile(r"^admin[:/](auth|authtoken|axes|django_tasks_database)[_/]")
ADMIN_ONLY_KEYS = re.compile(
    r"^(admin[:/]hubspot_integration[_/](hubspotsettings|settingsauditentry)"
    r"|hubspot-oauth-callback$|hubspot_api:(settings|settings-config|test-connection)$)"
)
REFUSED = (401, 403, 404, LOGIN)


def test_hubspot_admins_reach_nothing_that_is_the_superusers():
    for p in TABLE:
        if SUPERUSER_ONLY_KEYS.match(p.key) or p.args.get("app_label") in (
            "auth",
            "authtoken",
            "axes",
            "django_tasks_database",
        ):
            if p.key.endswith("<path:object_id>/"):
                continue  # a redirect to the change page, which refuses
            for role in ("pstaff", "hstaff", "hadmin"):
                assert p.expected(role, "session") in REFUSED, (p.label(), role)


def test_staff_reach_no_page_that_is_the_hubspot_admins():
    checked = 0
    for p in TABLE:
        if ADMIN_ONLY_KEYS.match(p.key) and not p.key.endswith("<path:object_id>/"):
            checked += 1
            for role in ("anon", "cust", "verif", "pstaff", "hstaff"):
                assert p.expected(role, "session") in REFUSED, (p.label(), role)
    assert checked >= 20


# --- the world the probes run in -----------------------------------------------------------------
@pytest.fixture
def world(
    hubspot_settings,
    fake_hubspot,
    superuser,
    hubspot_admin,
    hubspot_staff,
    plain_staff,
    customer,
    django_user_model,
):
    """Users of every role with API tokens, and one object of each kind a path names."""
    hubspot_settings.tickets_enabled = True
    hubspot_settings.webhook_secret = "matrix-webhook-secret"  # so an unsigned delivery is a 401
    hubspot_settings.save()
    verified = _user(django_user_model, "vic")
    mark_verified(verified)
    users = {
        "cust": customer,
        "verif": verified,
        "pstaff": plain_staff,
        "hstaff": hubspot_staff,
        "hadmin": hubspot_admin,
        "super": superuser,
    }
    tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}

    contact = fake_hubspot.create_object(
        "contacts", {"email": "mia@example.com", "firstname": "Mia"}
    )
    doomed = fake_hubspot.create_object("contacts", {"email": "gone@example.com"})
    company = fake_hubspot.create_object(
        "companies",
        {"name": "Acme", "domain": "acme.example"},
        associations={"contacts": [contact["id"]]},
    )
    doomed_company = fake_hubspot.create_object("companies", {"name": "Gone Ltd"})
    pipeline = fake_hubspot.pipelines("tickets")[0]
    ticket = fake_hubspot.create_object(
        "tickets",
        {
            "subject": "Cannot log in",
            "hs_pipeline": pipeline["id"],
            "hs_pipeline_stage": pipeline["stages"][0]["id"],
            "hs_ticket_priority": "LOW",
        },
        associations={"contacts": [contact["id"]]},
    )
    contact_import = imports.start_import(
        "people.csv", user=hubspot_staff, upload=ContentFile(b"email\na@example.com\n")
    )
    operation = OutboxOperation.objects.create(
        kind=OutboxOperation.Kind.CREATE_CONTACT, status=OutboxOperation.Status.SUCCEEDED
    )
    access = {
        "user_agent": "probe",
        "ip_address": "127.0.0.1",
        "username": "pat",
        "path_info": "/admin/login/",
    }
    return {
        "users": users,
        "tokens": tokens,
        "contact": contact["id"],
        "doomed_contact": doomed["id"],
        "company": company["id"],
        "doomed_company": doomed_company["id"],
        "ticket": ticket["id"],
        "import_pk": contact_import.pk,
        "operation_pk": operation.pk,
        "customer_ticket_pk": CustomerTicket.objects.create(
            user=customer, email=customer.email, subject="Printer"
        ).pk,
        "audit_pk": SettingsAuditEntry.objects.create(
            actor_name="root", source="admin", summary="x"
        ).pk,
        "customer_pk": customer.pk,
        "user_ct": ContentType.objects.get_for_model(get_user_model()).pk,
        "group_pk": Group.objects.get(name=STAFF_GROUP).pk,
        "attempt_pk": AccessAttempt.objects.create(failures_since_start=1, **access).pk,
        "access_log_pk": AccessLog.objects.create(**access).pk,
        "failure_log_pk": AccessFailureLog.objects.create(**access).pk,
        "task_pk": DBTaskResult.objects.create(
            task_path="hubspot_integration.tasks.drain_outbox",
            args_kwargs={"args": [], "kwargs": {}},
            backend_name="default",
            queue_name="default",
            run_after=get_date_max(),
        ).pk,
    }


def client_for_role(world, role: str, kind: str) -> Client:
    if kind == "token":
        key = world["tokens"].get(role, "0" * 40)  # "anon": a key that is no one's
        return Client(HTTP_AUTHORIZATION=f"Token {key}")
    client = Client()
    if role != "anon":
        client.force_login(world["users"][role])
    return client


def url_of(probe: P, world) -> str:
    args = {k: str(v).format_map(world) for k, v in probe.args.items()}
    if probe.path:
        path = probe.path
    elif "/" in probe.key:  # an unnamed pattern: its route with the arguments put in
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: args[m.group(1)], probe.key)
    else:
        path = reverse(probe.key, kwargs=args)
    return f"{path}?{probe.query}" if probe.query else path


def send(client: Client, probe: P, world):
    url = url_of(probe, world)
    method = getattr(client, probe.method.lower())
    if probe.data is None:
        return method(url)
    if probe.api:
        return method(url, probe.data, content_type="application/json")
    return method(url, probe.data)


def describe(response) -> str:
    if response.status_code in (301, 302):
        return f"{response.status_code} to {response['Location']}"
    return str(response.status_code)


# What the admin pages show when a HubSpot call failed (a message; a dashboard card's error).
HUBSPOT_FAILED = re.compile(rb"Could not read|card-error")


@pytest.mark.parametrize("kind", ["session", "token"])
@pytest.mark.parametrize("role", ROLES)
def test_who_reaches_what(world, role, kind):
    """Every probe of the table for one role, by one kind of authentication."""
    shared = client_for_role(world, role, kind)
    wrong = []
    for probe in TABLE:
        if kind == "token" and not probe.api:
            continue  # admin and public pages: by session only
        client = client_for_role(world, role, kind) if probe.fresh else shared
        expected = probe.expected(role, kind)
        response = send(client, probe, world)
        if not matches(expected, response):
            wrong.append(f"  {probe.label()}: expected {expected!r}, got {describe(response)}")
        elif response.status_code == 200 and HUBSPOT_FAILED.search(body_of(response)):
            # A page that could not read HubSpot still answers 200: it would prove too little.
            wrong.append(f"  {probe.label()}: 200, but the page could not read HubSpot")
    assert not wrong, f"{role} by {kind}:\n" + "\n".join(wrong)


def body_of(response) -> bytes:
    # A CSV export streams its answer.
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def test_a_deactivated_account_reaches_nothing(world):
    """A superuser switched off (is_active=False) keeps neither a session nor a working token."""
    user = world["users"]["super"]
    session = client_for_role(world, "super", "session")
    token = client_for_role(world, "super", "token")
    user.is_active = False
    user.save()
    assert LOGIN.matches(session.get(reverse("admin:index")))
    assert session.get(reverse("hubspot_api:settings-config")).status_code == 401
    assert token.get(reverse("hubspot_api:settings-config")).status_code == 401
    assert SIGNIN.matches(session.get(reverse("my-tickets")))


# --- CSRF: the table's client does not check it, so check that it stands before every write --------
CSRF_EXEMPT = {"hubspot-webhooks": 401}  # HubSpot's signature is its credential, not a cookie


def test_every_session_write_needs_the_csrf_token(world):
    """A superuser's browser sending each write of the table from another site (its cookie, no
    CSRF token) is refused before any view runs: 403, whatever the permission would say."""
    wrong = []
    for probe in TABLE:
        if probe.method in ("GET", "HEAD", "OPTIONS"):
            continue
        client = Client(enforce_csrf_checks=True)
        client.force_login(world["users"]["super"])
        response = send(client, probe, world)
        expected = CSRF_EXEMPT.get(probe.key, 403)
        if response.status_code != expected:
            wrong.append(f"  {probe.label()}: expected {expected}, got {describe(response)}")
    assert not wrong, "\n".join(wrong)


# --- admin actions: a changelist POST answers 302 whether or not the action was the caller's ----
# So the action's own message (or, for delete_selected, its confirmation page) says whether it ran:
# RAN, or NOT_RUN (Django's "No action selected" when the caller may not use it, or the changelist
# shown again when they have no action at all). The rows acted on are ones where every action is
# a no-op: a succeeded operation, a ticket not yet in HubSpot, and deleting stops at "Are you sure?".
RAN, NOT_RUN = "ran", "not run"

# fmt: off
ACTIONS = [
    # changelist URL name,              action,               its message, or its page,        anon   cust   verif  pstaff hstaff   hadmin   super
    (f"{HS}_outboxoperation_changelist", "retry_operations",   "queued for another attempt",    LOGIN, LOGIN, LOGIN, 403,   NOT_RUN, RAN,     RAN),
    (f"{HS}_outboxoperation_changelist", "discard_operations", "discarded",                     LOGIN, LOGIN, LOGIN, 403,   NOT_RUN, RAN,     RAN),
    (f"{HS}_customerticket_changelist",  "sync_now",           "Synced from HubSpot",           LOGIN, LOGIN, LOGIN, 403,   RAN,     RAN,     RAN),
    (f"{HS}_customerticket_changelist",  "delete_selected",    "admin/delete_selected_confirmation.html", LOGIN, LOGIN, LOGIN, 403, NOT_RUN, NOT_RUN, RAN),
    (f"{HS}_contactimport_changelist",   "delete_selected",    "admin/delete_selected_confirmation.html", LOGIN, LOGIN, LOGIN, 403, NOT_RUN, NOT_RUN, RAN),
]
# fmt: on
ACTION_OBJECTS = {
    f"{HS}_outboxoperation_changelist": "operation_pk",
    f"{HS}_customerticket_changelist": "customer_ticket_pk",
    f"{HS}_contactimport_changelist": "import_pk",
}


def test_actions_table_names_real_actions(rf, superuser):
    for name, action, *_ in ACTIONS:
        model_admin = next(
            ma
            for m, ma in admin.site._registry.items()
            if f"{m._meta.app_label}_{m._meta.model_name}_changelist" in name
        )
        request = rf.get("/")
        request.user = superuser
        assert action in model_admin.get_actions(request), (name, action)


@pytest.mark.parametrize("role", ROLES)
def test_who_runs_which_admin_action(world, role):
    client = client_for_role(world, role, "session")
    wrong = []
    for name, action, said, *expect in ACTIONS:
        expected = expect[ROLES.index(role)]
        pk = world[ACTION_OBJECTS[name]]
        response = client.post(
            reverse(name), {"action": action, "_selected_action": [pk], "index": 0}
        )
        if expected in (RAN, NOT_RUN):
            shown = [str(m) for m in get_messages(response.wsgi_request)]
            shown += [t.name for t in response.templates or []]
            got = RAN if any(said in text for text in shown) else NOT_RUN
            ok = response.status_code in (200, 302) and got == expected
        else:
            got, ok = describe(response), matches(expected, response)
        if not ok:
            wrong.append(
                f"  {action} on {name}: expected {expected!r}, got {got!r} ({describe(response)})"
            )
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
    # Nothing the actions were allowed to do changed what the table's probes rely on.
    assert OutboxOperation.objects.filter(pk=world["operation_pk"]).exists()
    assert ContactImport.objects.filter(pk=world["import_pk"]).exists()
