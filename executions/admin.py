"""Executions are records: the admin shows them read-only, with steps, logs and payload,
and can replay them or cancel queued ones."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core.codec import UndecodablePayload, unreadable_message
from executions.admin_replay import replay_bulk, replay_matching_view
from executions.models import Execution, ExecutionLog, StepResult
from executions.queues import executions_cancel_queued_rows
from executions.rendering import rendered_headers_sendable, result_answer
from executions.results import execution_final_result
from executions.selectors import elapsed, elapsed_display, executions_listed
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


def _moment(value: datetime | None, empty: str = "—", *, narrow: bool = False) -> str:
    """A time to the second in the user's zone (Django's current time zone), the zone
    and the exact instant in the tooltip; ``narrow`` puts the time under the date."""
    if value is None:
        return empty
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{} ({})">{}{}{}</time>',
        value.isoformat(),
        local.isoformat(),
        timezone.get_current_timezone_name(),
        local.strftime("%Y-%m-%d"),
        mark_safe("<br>") if narrow else " ",  # a fixed tag, nothing interpolated
        local.strftime("%H:%M:%S"),
    )


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
        "status",
        "duration",  # beside the status, so a phone shows it without scrolling the table
        "started",
        "action",
        "result_preview",
        "error",
    )
    readonly_fields = fields

    @admin.display(description="Started")
    def started(self, obj: StepResult) -> str:
        return _moment(obj.started_at)

    @admin.display(description="Duration")
    def duration(self, obj: StepResult) -> str:
        return elapsed_display(elapsed(obj.started_at, obj.ended_at))

    @admin.display(description="Result")
    def result_preview(self, obj: StepResult) -> str:
        if obj.result_file:
            return f"stored in results storage, {obj.result_size} bytes"
        return format_html("<pre>{}</pre>", _preview(obj.result, 500))


class ExecutionLogInline(ReadOnlyInline):
    model = ExecutionLog
    fields = ("logged", "level", "step_name", "message")
    readonly_fields = fields

    @admin.display(description="Logged")
    def logged(self, obj: ExecutionLog) -> str:
        return _moment(obj.created_at)


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


class FlowNameFilter(admin.AllValuesFieldListFilter):
    """Flows by name (a name spans an integration's versions), titled "flow": Django would
    title it by the field, "name"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "flow"


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


class ExecutionChangeList(ChangeList):
    """The page of rows is read with the list's columns only; actions, the detail and
    delete still get whole rows."""

    def get_results(self, request: HttpRequest) -> None:
        self.queryset = executions_listed(self.queryset)
        super().get_results(request)


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    # Short columns first, so status, trigger and start fit a 1280 px screen.
    list_display = (
        "short_id",
        "status_badge",
        "trigger",
        "instance_name",
        "flow_name",
        "started",
        "duration",
    )
    list_display_links = ("short_id",)
    list_filter = (
        "status",
        "trigger_kind",
        "refused_at_trigger",
        ("integration", admin.RelatedOnlyFieldListFilter),
        ("customer", admin.RelatedOnlyFieldListFilter),
        InstanceFilter,
        ("flow__name", FlowNameFilter),
        "created_at",
    )
    search_fields = ("=id", "flow__name", "instance__name", "customer__name")
    date_hierarchy = "created_at"
    inlines = [StepResultInline, ExecutionLogInline]
    actions = [replay_executions, replay_bulk, cancel_queued_executions]
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
        "not_before_moment",
        "dedupe_id",
        "heartbeat",
        "created",
        "started_full",
        "ended",
        "duration",
        "error",
        "result_link",
        "payload_preview",
    )
    readonly_fields = fields

    def get_urls(self):
        view = self.admin_site.admin_view(self.result_view)
        matching = self.admin_site.admin_view(lambda request: replay_matching_view(self, request))
        return [
            path("<uuid:pk>/result/", view, name="executions_execution_result"),
            path("replay/", matching, name="executions_execution_replay_matching"),
            *super().get_urls(),
        ]

    def get_changelist(self, request, **kwargs):
        return ExecutionChangeList

    def changelist_view(self, request, extra_context=None):
        context = {"time_zone_name": timezone.get_current_timezone_name(), **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="ID", ordering="id")
    def short_id(self, obj: Execution) -> str:
        return format_html('<code title="{}">{}</code>', obj.id, obj.id.hex[:8])

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Execution) -> str:
        problem = unreadable_message(obj.trigger_payload)
        return format_html(
            '<span class="tf-badge tf-badge-{}">{}</span>{}',
            obj.status,
            obj.get_status_display(),
            format_html('<br><small class="tf-problem">{}</small>', problem) if problem else "",
        )

    @admin.display(description="Trigger", ordering="trigger_kind")
    def trigger(self, obj: Execution) -> str:
        refused = " (refused)" if obj.refused_at_trigger else ""
        return f"{obj.get_trigger_kind_display()}{refused}"

    @admin.display(description="Instance", ordering="instance__name")
    def instance_name(self, obj: Execution) -> str:
        return format_html(
            '{}<br><small class="tf-muted">{}</small>',
            obj.instance.name,
            obj.instance.customer.name,
        )

    @admin.display(description="Flow", ordering="flow__name")
    def flow_name(self, obj: Execution) -> str:
        return obj.flow.name

    @admin.display(description="Not before")
    def not_before_moment(self, obj: Execution) -> str:
        return _moment(obj.not_before)

    @admin.display(description="Heartbeat")
    def heartbeat(self, obj: Execution) -> str:
        return _moment(obj.heartbeat_at)

    @admin.display(description="Created")
    def created(self, obj: Execution) -> str:
        return _moment(obj.created_at)

    @admin.display(description="Started", ordering="started_at")
    def started(self, obj: Execution) -> str:
        return _moment(obj.started_at, "not started", narrow=True)

    @admin.display(description="Started")
    def started_full(self, obj: Execution) -> str:
        return _moment(obj.started_at, "not started")

    @admin.display(description="Ended")
    def ended(self, obj: Execution) -> str:
        return _moment(obj.ended_at, "not ended")

    @admin.display(description="Duration")
    def duration(self, obj: Execution) -> str:
        """Ended minus started; a run still going says how long so far."""
        shown = elapsed_display(elapsed(obj.started_at, obj.ended_at))
        if obj.started_at and obj.ended_at is None:
            return format_html('{}<br><small class="tf-muted">so far</small>', shown)
        return shown

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
