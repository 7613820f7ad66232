from django.contrib import admin

from instances.models import ApiKey, Customer, CustomerUser, Instance


class CustomerUserInline(admin.TabularInline):
    model = CustomerUser
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "created_at")
    search_fields = ("name", "external_id")
    inlines = [CustomerUserInline]


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "integration", "enabled", "deployed_at", "removed_at")
    list_select_related = ("customer", "integration")
    list_filter = ("enabled",)
    search_fields = ("name", "customer__name", "customer__external_id")
    readonly_fields = ("deployed_at", "removed_at", "created_at", "updated_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("masked_key", "instance", "flow_name", "label", "created_at")
    list_select_related = ("instance",)
    search_fields = ("flow_name", "label")
    exclude = ("key",)

    @admin.display(description="Key")
    def masked_key(self, obj: ApiKey) -> str:
        # Secrets never appear whole in the admin's lists.
        return f"••••{obj.key[-4:]}"
