"""Executions are records: the admin shows them read-only, with their steps and logs."""

from django.contrib import admin

from executions.models import Execution, ExecutionLog, StepResult


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StepResultInline(ReadOnlyInline):
    model = StepResult
    fields = (
        "position",
        "name",
        "action",
        "status",
        "started_at",
        "ended_at",
        "result_preview",
        "error",
    )
    readonly_fields = fields

    @admin.display(description="Result")
    def result_preview(self, obj: StepResult) -> str:
        if obj.result_file:
            return f"stored file, {obj.result_size} bytes"
        text = repr(obj.result)
        return text if len(text) <= 500 else text[:500] + "…"


class ExecutionLogInline(ReadOnlyInline):
    model = ExecutionLog
    fields = ("created_at", "level", "step_name", "message")
    readonly_fields = fields


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ("id", "flow", "instance", "customer", "status", "trigger_kind", "created_at")
    list_select_related = ("flow", "instance", "customer")
    list_filter = ("status", "trigger_kind", "created_at")
    search_fields = ("id", "flow__name", "instance__name", "customer__name")
    date_hierarchy = "created_at"
    inlines = [StepResultInline, ExecutionLogInline]
    exclude = ("trigger_payload",)
    readonly_fields = (
        "id",
        "instance",
        "customer",
        "integration",
        "flow",
        "status",
        "trigger_kind",
        "synchronous",
        "replay_of",
        "attempt",
        "created_at",
        "started_at",
        "ended_at",
        "error",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_view_permission(request, obj)
