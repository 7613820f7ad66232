from django.contrib import admin

from triggers.endpoints import endpoint_url
from triggers.models import Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "endpoint_type", "integration_name", "instance", "flow_name")
    list_select_related = ("instance",)
    list_filter = ("endpoint_type",)
    search_fields = ("integration_name", "flow_name", "instance__name")
    readonly_fields = ("token", "created_at")

    @admin.display(description="URL")
    def url(self, obj: Endpoint) -> str:
        return endpoint_url(obj.token)
