from django.urls import path
from rest_framework.routers import DefaultRouter

from api.views.alerts import AlertEventViewSet, AlertMonitorViewSet
from api.views.customers import CustomerViewSet
from api.views.executions import ExecutionViewSet
from api.views.instances import InstanceViewSet
from api.views.integrations import IntegrationViewSet
from api.views.replay import BulkReplayView, ReplayJobCancelView, ReplayJobView
from api.views.run_now import FlowRunNowView


class OptionalSlashRouter(DefaultRouter):
    """SPEC §5 writes lists with a trailing slash and details without; accept both."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("integrations", IntegrationViewSet, basename="integration")
router.register("customers", CustomerViewSet, basename="customer")
router.register("instances", InstanceViewSet, basename="instance")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("alert-monitors", AlertMonitorViewSet, basename="alert-monitor")
router.register("alert-events", AlertEventViewSet, basename="alert-event")

urlpatterns = [
    # Before the router: its executions/<pk> route would take "replay" for an id.
    path("executions/replay", BulkReplayView.as_view(), name="executions-replay"),
    path("replay-jobs/<uuid:pk>", ReplayJobView.as_view(), name="replay-job"),
    path("replay-jobs/<uuid:pk>/cancel", ReplayJobCancelView.as_view(), name="replay-job-cancel"),
    path(
        "instances/<uuid:pk>/flows/<str:flow_name>/run",
        FlowRunNowView.as_view(),
        name="instance-flow-run",
    ),
    *router.urls,
]
