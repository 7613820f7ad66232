"""Executions are records: the admin shows them read-only, with steps, logs and payload,
and can replay them or cancel queued ones."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from core.codec import UndecodablePayload, unreadable_message
from executions.models import Execution, ExecutionLog, StepResult
from executions.queues import executions_cancel_queued_rows
from executions.rendering import rendered_headers_sendable, result_answer
from executions.results import execution_final_result
from executions.services import ReplayRefused, execution_replay
from instances.errors import InstanceStateError
from instances.models import Instance


def _printable(value: Any) -> Any:
    """Bytes are summarised; a page of base64 helps nobody."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {key: _printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable(item) for item in value]
    return value


def _preview(value: Any, limit: int = 2000) -> str:
    if isinstance(value, UndecodablePayload):
        # Said first, then the stored text as it is, so staff can see what is in the row.
        text = value.text if len(value.text) <= limit else value.text[:limit] + "…"
        return f"{value.message}\n\nStored text:\n{text}"
    text = json.dumps(_printable(value), indent=2, default=str)
    return text if len(text) <= limit else text[:limit] + "\n…"


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
            return f"stored in results storage, {obj.result_size} bytes"
        return format_html("<pre>{}</pre>", _preview(obj.result, 500))


class ExecutionLogInline(ReadOnlyInline):
    model = ExecutionLog
    fields = ("created_at", "level", "step_name", "message")
    readonly_fields = fields


@admin.action(description="Replay selected executions")
def replay_executions(modeladmin, request: HttpRequest, queryset) -> None:
    replayed = 0
    for execution in queryset.select_related("instance", "flow"):
        try:
            execution_replay(execution=execution)
            replayed += 1
        except (ReplayRefused, InstanceStateError) as error:
            modeladmin.message_user(request, f"{execution.id}: {error}", messages.ERROR)
    if replayed:
        modeladmin.message_user(request, f"Replayed {replayed} execution(s).", messages.SUCCESS)


@admin.action(description="Cancel selected queued executions")
def cancel_queued_executions(modeladmin, request: HttpRequest, queryset) -> None:
    canceled = executions_cancel_queued_rows(rows=queryset)
    skipped = queryset.count() - canceled
    modeladmin.message_user(request, f"Canceled {canceled} queued execution(s).", messages.SUCCESS)
    if skipped > 0:
        modeladmin.message_user(
            request,
            f"{skipped} selected execution(s) were not queued; left as they are.",
            messages.WARNING,
        )


class InstanceFilter(admin.SimpleListFilter):
    """Instances that have executions, named with their customer in one query."""

    title = "instance"
    parameter_name = "instance"

    def lookups(self, request, model_admin):
        instances = (
            Instance.objects.filter(executions__isnull=False)
            .distinct()
            .select_related("customer")
            .order_by("customer__name", "name")[:200]
        )
        return [(str(instance.pk), str(instance)) for instance in instances]

    def queryset(self, request, queryset):
        if self.value():
            try:
                return queryset.filter(instance_id=self.value())
            except (ValueError, ValidationError):  # not a UUID: nothing matches
                return queryset.none()
        return queryset


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "flow",
        "instance",
        "customer",
        "status",
        "trigger_kind",
        "created_at",
        "payload_state",
    )
    list_select_related = ("flow", "instance__customer", "customer")
    list_filter = (
        "status",
        "trigger_kind",
        "refused_at_trigger",
        InstanceFilter,
        ("flow__name", admin.AllValuesFieldListFilter),
        "created_at",
    )
    search_fields = ("=id", "flow__name", "instance__name", "customer__name")
    date_hierarchy = "created_at"
    inlines = [StepResultInline, ExecutionLogInline]
    actions = [replay_executions, cancel_queued_executions]
    show_full_result_count = False  # counting a huge table on every page load is slow
    fields = (
        "id",
        "instance",
        "customer",
        "integration",
        "flow",
        "status",
        "trigger_kind",
        "refused_at_trigger",
        "synchronous",
        "replay_of",
        "replays_list",
        "attempt",
        "retry_of",
        "not_before",
        "dedupe_id",
        "heartbeat_at",
        "created_at",
        "started_at",
        "ended_at",
        "error",
        "result_link",
        "payload_preview",
    )
    readonly_fields = fields

    def get_urls(self):
        view = self.admin_site.admin_view(self.result_view)
        return [
            path("<uuid:pk>/result/", view, name="executions_execution_result"),
            *super().get_urls(),
        ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Payload")
    def payload_state(self, obj: Execution) -> str:
        return unreadable_message(obj.trigger_payload) or "—"

    @admin.display(description="Trigger payload")
    def payload_preview(self, obj: Execution) -> str:
        return format_html("<pre>{}</pre>", _preview(obj.trigger_payload))

    @admin.display(description="Replays")
    def replays_list(self, obj: Execution) -> str:
        replays = list(obj.replays.values_list("id", flat=True)[:20])
        if not replays:
            return "—"
        links = [
            format_html(
                '<a href="{}">{}</a>',
                reverse("admin:executions_execution_change", args=[pk]),
                pk,
            )
            for pk in replays
        ]
        return format_html("<br>".join(["{}"] * len(links)), *links)

    @admin.display(description="Result")
    def result_link(self, obj: Execution) -> str:
        if not obj.is_finished:
            return "Not finished"
        url = reverse("admin:executions_execution_result", args=[obj.pk])
        return format_html('<a href="{}">Open the final result</a>', url)

    def result_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        """The final result as a synchronous caller would get it directly."""
        execution = get_object_or_404(Execution, pk=pk)
        if not self.has_view_permission(request, execution):
            return HttpResponse(status=403)
        rendered = result_answer(execution_final_result(execution))
        response = HttpResponse(
            rendered.body, status=rendered.status or 200, content_type=rendered.content_type
        )
        for name, value in rendered_headers_sendable(rendered).items():
            response[name] = value
        return response
