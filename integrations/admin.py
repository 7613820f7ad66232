from django.contrib import admin

from integrations.models import ConfigVariable, Flow, Integration, Step


class ConfigVariableInline(admin.TabularInline):
    model = ConfigVariable
    extra = 0
    fields = ("position", "key", "type", "required", "default", "options", "description")


class FlowInline(admin.TabularInline):
    model = Flow
    extra = 0
    fields = ("position", "name", "trigger_type", "synchronous", "endpoint_security", "queue_type")
    show_change_link = True


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = ("position", "name", "action", "inputs")


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "endpoint_type", "created_at")
    list_filter = ("endpoint_type",)
    search_fields = ("name",)
    inlines = [ConfigVariableInline, FlowInline]


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ("name", "integration", "trigger_type", "synchronous", "queue_type")
    list_select_related = ("integration",)
    list_filter = ("trigger_type", "queue_type")
    search_fields = ("name", "integration__name")
    inlines = [StepInline]
