from django.urls import path

from triggers.webhooks.views import WebhookView

urlpatterns = [
    path("<str:token>", WebhookView.as_view(), name="webhook"),
    path("<str:token>/<path:path_fragment>", WebhookView.as_view(), name="webhook-path"),
]
