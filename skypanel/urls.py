from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

admin.site.site_header = _("SkyPanel administration")
admin.site.site_title = "SkyPanel"

# "Bad Request (400)" says what was wrong when the body was too large.
handler400 = "skypanel.request_limits.bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    # The OpenAPI schema and its docs pages (assets from drf-spectacular-sidecar, no CDN); the
    # split Swagger view serves its start-up script as a file, which the CSP allows.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/", include("hubspot_integration.api.urls")),
    # Django's set_language: the footer's language switcher posts here (a cookie, no account).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("hubspot_integration.public_urls")),
]

# A refusal under /admin/ renders in the admin's look; elsewhere Django's own 403 answers.
handler403 = "hubspot_integration.admin.denied.permission_denied"
