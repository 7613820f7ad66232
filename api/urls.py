from rest_framework.routers import DefaultRouter

from api import views


class OptionalSlashRouter(DefaultRouter):
    """SPEC §5 writes lists with a trailing slash and details without; accept both."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("integrations", views.IntegrationViewSet, basename="integration")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("instances", views.InstanceViewSet, basename="instance")
router.register("executions", views.ExecutionViewSet, basename="execution")

urlpatterns = router.urls
