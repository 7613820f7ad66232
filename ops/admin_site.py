"""The admin site: a dashboard on the home page (ops.dashboard) and django-celery-beat's
raw models under "Advanced", below the product's apps, on the home page and in the sidebar."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ops.dashboard import dashboard_read

#: Apps listed last, under "Advanced": the schedule rows Triggerfish writes for itself
#: (docs/schedules.md); editing them by hand is rarely what an operator wants.
ADVANCED_APPS = {"django_celery_beat": "Beat's schedule rows (django-celery-beat)"}


class TriggerfishAdminSite(admin.AdminSite):
    site_header = "Triggerfish administration"
    site_title = "Triggerfish admin"
    index_title = "Dashboard"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        apps = super().get_app_list(request, app_label)
        product = [app for app in apps if app["app_label"] not in ADVANCED_APPS]
        advanced = [
            {**app, "name": ADVANCED_APPS[app["app_label"]], "advanced": True}
            for app in apps
            if app["app_label"] in ADVANCED_APPS
        ]
        return product + advanced

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        context = {"dashboard": dashboard_read(), **(extra_context or {})}
        return super().index(request, extra_context=context)
