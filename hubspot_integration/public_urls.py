"""The customer-facing pages (home, support, my tickets, contact, accounts), the webhook and the
OAuth callback."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from . import webhooks
from .api.public_views import PublicConfigView
from .oauth import views as oauth_views
from .views import accounts, profile, public, support
from .views.metrics import metrics_view

urlpatterns = [
    path("", public.home, name="home"),
    path("support/", support.support_request, name="support"),
    path("support/received/", support.support_received, name="support-received"),
    path("support/tickets/", support.my_tickets, name="my-tickets"),
    path("support/tickets/<int:pk>/", support.my_ticket, name="my-ticket"),
    path("contact/", public.contact, name="contact"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path(
        "accounts/logout/",
        # The logged-out page clears the chat widget's identity in the browser.
        auth_views.LogoutView.as_view(
            # Not registration/logged_out.html: the admin's own sign-out page uses that name.
            template_name="registration/signed_out.html",
            extra_context={"hubspot_clear_identity": True},
        ),
        name="logout",
    ),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/signup/done/", accounts.signup_done, name="signup-done"),
    path("accounts/verify-email/", accounts.send_verification, name="verify-email-send"),
    path("accounts/verify-email/<str:token>/", accounts.verify_email, name="verify-email"),
    path("accounts/profile/", profile.profile, name="profile"),
    path("accounts/profile/data/", profile.my_data, name="my-data"),
    path("accounts/profile/delete/", profile.delete_account, name="delete-account"),
    path("accounts/deleted/", profile.account_deleted, name="account-deleted"),
    path("accounts/consent/", profile.record_consent, name="record-consent"),
    path("hubspot/webhooks/", webhooks.receive, name="hubspot-webhooks"),
    # Connect with HubSpot comes back here (register this URL in the app's auth settings). The
    # admin's own login and staff check apply: only the admin who started it can finish it.
    path(
        "hubspot/oauth/callback/",
        admin.site.admin_view(oauth_views.callback),
        name="hubspot-oauth-callback",
    ),
    path("api/hubspot/config", PublicConfigView.as_view(), name="hubspot-public-config"),
    # Prometheus' scrape: a bearer token or an allowed address, no session (views/metrics.py).
    path("metrics", metrics_view, name="metrics"),
]
