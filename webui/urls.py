"""The customer config wizard, mounted at /wizard/ (config/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from webui import views

app_name = "webui"

urlpatterns = [
    path("", views.instance_list, name="instances"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="webui/login.html",
            redirect_authenticated_user=True,
            next_page="webui:instances",
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="webui:login"), name="logout"),
    path("instances/new/", views.instance_new, name="new"),
    path(
        "instances/new/<uuid:integration_id>/",
        views.instance_new_configure,
        name="new-configure",
    ),
    path("instances/<uuid:instance_id>/", views.instance_detail, name="instance"),
    path("instances/<uuid:instance_id>/configure/", views.instance_configure, name="configure"),
    path("instances/<uuid:instance_id>/history/", views.instance_history, name="history"),
    path("instances/<uuid:instance_id>/keys/", views.instance_flow_secrets, name="keys"),
    path("instances/<uuid:instance_id>/run-now/", views.instance_run_now, name="run-now"),
    *[
        path(
            f"instances/<uuid:instance_id>/{action}/",
            views.instance_action,
            {"action": action},
            name=action,
        )
        for action in ("deploy", "pause", "enable")
    ],
    path("executions/<uuid:execution_id>/", views.execution_detail, name="execution"),
    path(
        "executions/<uuid:execution_id>/replay/",
        views.execution_replay_view,
        name="replay",
    ),
    path("schedule-preview/", views.schedule_preview, name="schedule-preview"),
]
