"""URLs: the admin, webhook endpoints, the management API and the customer wizard."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("trigger/", include("triggers.urls")),
]
