"""The instance page's Run now buttons: each schedule flow (Schedules section) and each
polling flow (Polling section) fires now, as beat would, through the service the API
calls (triggers.schedules.run_now). Mixed into instances.admin.InstanceAdmin, as the
Polling and State sections are, so instances/admin.py keeps one idea."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from instances.models import Instance
from triggers.schedules.run_now import (
    RunNowConflict,
    RunNowNotFound,
    RunNowRefused,
    RunNowResult,
    flow_run_now,
)


def _execution_link(execution_id: Any) -> SafeString:
    return format_html(
        '<a href="{}">{}</a>',
        reverse("admin:executions_execution_change", args=[execution_id]),
        execution_id,
    )


def run_now_message(flow_name: str, result: RunNowResult) -> SafeString:
    """What the page says after a Run now: the new execution, or the poll's outcome with
    the executions it started (a failed poll's failed one)."""
    if result.poll is None:
        execution_id = result.execution.pk if result.execution else None
        return format_html("Ran '{}' now: execution {}.", flow_name, _execution_link(execution_id))
    poll = result.poll
    links = format_html_join(", ", "{}", ((_execution_link(pk),) for pk in poll.executions))
    if poll.status == "failed":
        return format_html(
            "Polled '{}' now: the poll failed ({}): {}.", flow_name, poll.error, links
        )
    if not poll.executions:
        return format_html(
            "Polled '{}' now: {} items, nothing new to run.", flow_name, poll.item_count
        )
    return format_html(
        "Polled '{}' now: {} items, {} new executions: {}.",
        flow_name,
        poll.item_count,
        len(poll.executions),
        links,
    )


class InstanceRunNowAdmin(admin.ModelAdmin):
    def get_urls(self) -> list[Any]:
        run_now = self.admin_site.admin_view(self.run_now_view)
        return [
            path("<uuid:pk>/run-now/", run_now, name="instances_instance_run_now"),
            *super().get_urls(),
        ]

    def run_now_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        """POST ``flow``: fire that schedule or polling flow now; the page says what it did."""
        instance = get_object_or_404(Instance.objects.select_related("integration"), pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, instance):
            return HttpResponse(status=405 if request.method != "POST" else 403)
        flow_name = request.POST.get("flow", "")
        try:
            result = flow_run_now(instance=instance, flow_name=flow_name, user=request.user)
        except RunNowConflict as error:
            if error.execution is not None:
                message = format_html(
                    "'{}' did not run: {} (execution {}).",
                    flow_name,
                    str(error),
                    _execution_link(error.execution.pk),
                )
                self.message_user(request, message, messages.WARNING)
            else:
                self.message_user(request, f"{flow_name!r} did not run: {error}", messages.ERROR)
        except (RunNowNotFound, RunNowRefused) as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            level = messages.ERROR if result.poll and result.poll.status == "failed" else None
            self.message_user(
                request, run_now_message(flow_name, result), level or messages.SUCCESS
            )
        return HttpResponseRedirect(reverse("admin:instances_instance_change", args=[pk]))
