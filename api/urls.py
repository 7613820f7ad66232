from rest_framework.routers import DefaultRouter

from api.views.customers import CustomerViewSet
from api.views.executions import ExecutionViewSet
from api.views.instances import InstanceViewSet
from api.views.integrations import IntegrationViewSet


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

urlpatterns = router.urls
