from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "SkyPanel administration"
admin.site.site_title = "SkyPanel"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("hubspot_integration.api.urls")),
    path("", include("hubspot_integration.public_urls")),
]
