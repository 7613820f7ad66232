"""Bulk replay in the admin (SPEC §10): the executions list's action and its "Replay all
matching the current filters" link lead to one confirmation page (the count and a sample
of what ``replay_preview`` counts: finished executions only, and a definition to run); a
confirmed replay is a job made by ``replay_job_create``, shown read-only with its
progress and a Cancel button."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from executions.models import Execution, ReplayDefinition, ReplayItem, ReplayJob, ReplayJobStatus
from executions.replay import ReplayTooMany, replay_job_cancel, replay_job_create, replay_preview

ITEMS_SHOWN = 100


def replay_confirm(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    executions: QuerySet[Execution],
    *,
    filter_shown: dict[str, Any],
    hidden: list[tuple[str, str]],
) -> HttpResponse:
    """The confirmation page, or on a confirmed POST the job and a redirect to it."""
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        definition = request.POST.get("definition", ReplayDefinition.CURRENT)
        if definition not in ReplayDefinition.values:
            definition = ReplayDefinition.CURRENT
        try:
            job = replay_job_create(
                executions=executions,
                filter_shown=filter_shown,
                definition=definition,
                user=request.user,
            )
        except ReplayTooMany as error:
            model_admin.message_user(request, str(error), messages.ERROR)
        else:
            model_admin.message_user(
                request, f"Replay job queued: {job.total} execution(s).", messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:executions_replayjob_change", args=[job.pk]))
    preview = replay_preview(executions)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Replay these executions?",
        "opts": model_admin.model._meta,
        "preview": preview,
        "filter_shown": json.dumps(filter_shown),
        "hidden": hidden,
        "definitions": ReplayDefinition.choices,
    }
    return TemplateResponse(request, "admin/executions/replay_confirm.html", context)


@admin.action(description="Replay these executions (bulk replay)")
def replay_bulk(model_admin: admin.ModelAdmin, request: HttpRequest, queryset) -> HttpResponse:
    """The selected rows; the job's filter records how many were selected, not which."""
    selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
    hidden = [("action", "replay_bulk")] + [(ACTION_CHECKBOX_NAME, value) for value in selected]
    return replay_confirm(
        model_admin,
        request,
        queryset,
        filter_shown={"admin": "selected", "selected": len(selected)},
        hidden=hidden,
    )


def replay_matching_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Every execution the list shows with its current filters (the query string,
    which the confirming POST keeps in its URL)."""
    changelist = model_admin.get_changelist_instance(request)
    query = request.GET.urlencode()
    return replay_confirm(
        model_admin,
        request,
        changelist.get_queryset(request),
        filter_shown={"admin": query},
        hidden=[],
    )


@admin.register(ReplayJob)
class ReplayJobAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "total", "created", "skipped", "created_at")
    list_filter = ("status",)
    change_form_template = "admin/executions/replayjob/change_form.html"
    fields = (
        "status",
        "progress",
        "total",
        "created",
        "skipped",
        "definition",
        "filter",
        "created_by",
        "created_at",
        "started_at",
        "ended_at",
        "items_list",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(self.cancel_view))
        return [
            path("<uuid:pk>/cancel/", view, name="executions_replayjob_cancel"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, **kwargs):
        job = kwargs.get("obj")
        context["can_cancel"] = job is not None and job.status in (
            ReplayJobStatus.QUEUED,
            ReplayJobStatus.RUNNING,
        )
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description="Progress")
    def progress(self, obj: ReplayJob) -> str:
        done = obj.created + obj.skipped
        percent = round(100 * done / obj.total) if obj.total else 100
        return format_html(
            '<div class="tf-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"'
            ' aria-valuenow="{}"><span style="width: {}%"></span></div>{} of {} done ({}%)',
            percent,
            percent,
            done,
            obj.total,
            percent,
        )

    @admin.display(description=f"Items (the first {ITEMS_SHOWN})")
    def items_list(self, obj: ReplayJob) -> str:
        items = ReplayItem.objects.filter(job=obj).order_by("position")[:ITEMS_SHOWN]
        rows = format_html_join(
            "",
            '<tr><td><a href="{}"><code>{}</code></a></td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:executions_execution_change", args=[item.execution_id]),
                    item.execution_id.hex[:8],
                    item.get_outcome_display(),
                    format_html(
                        '<a href="{}">replay <code>{}</code></a>',
                        reverse("admin:executions_execution_change", args=[item.replay_id]),
                        item.replay_id.hex[:8],
                    )
                    if item.replay_id
                    else item.reason,
                )
                for item in items
            ),
        )
        return format_html(
            '<div style="overflow-x: auto"><table><thead><tr><th>Execution</th>'
            "<th>Outcome</th><th>Replay or reason</th></tr></thead><tbody>{}</tbody></table></div>",
            rows,
        )

    def cancel_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        job = get_object_or_404(ReplayJob, pk=pk)
        if replay_job_cancel(job_id=job.pk):
            self.message_user(request, "Canceled the replay job.", messages.SUCCESS)
        else:
            self.message_user(request, "The job had already ended.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:executions_replayjob_change", args=[pk]))
