"""URLs: the admin, webhook endpoints, the management API and the customer wizard."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from triggers.result_views import result_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("trigger/", include("triggers.urls")),
    path("results/<str:token>", result_view, name="sync-result"),
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("wizard/", include("webui.urls")),
]

handler404 = "api.exceptions.not_found"
handler500 = "api.exceptions.server_error"
