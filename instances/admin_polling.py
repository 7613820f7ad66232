"""The instance page's Polling section (SPEC §8): where each polling flow stands, and a
Reset cursor button. Kept out of instances/admin.py so each file holds one idea; the
InstanceAdmin there is built on this class."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse

from instances.models import Instance
from instances.polling import poll_cursor_reset
from instances.selectors import instance_flow_details


class InstancePollingAdmin(admin.ModelAdmin):
    def get_urls(self) -> list[Any]:
        reset = self.admin_site.admin_view(self.poll_cursor_reset_view)
        return [
            path(
                "<uuid:pk>/poll-cursor-reset/",
                reset,
                name="instances_instance_poll_cursor_reset",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Polling")
    def poll_states(self, obj: Instance) -> str:
        """Each polling flow's cursor, last poll, item count, failures and back-off, from
        the read the API shares; a Reset cursor button once it has polled."""
        if obj._state.adding:
            return "—"
        flows, _ = instance_flow_details(obj)
        rows = [flow for flow in flows if flow.poll is not None]
        return render_to_string(
            "admin/instances/instance/_polls.html", {"rows": rows, "instance": obj}
        )

    def poll_cursor_reset_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        """POST ``flow``: the next poll of that flow starts from a null cursor (the ids it
        has seen still start nothing)."""
        instance = get_object_or_404(Instance, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, instance):
            return HttpResponse(status=405 if request.method != "POST" else 403)
        flow_name = request.POST.get("flow", "")
        if poll_cursor_reset(instance=instance, flow_name=flow_name):
            self.message_user(
                request,
                f"Reset the cursor of {flow_name!r}: its next poll starts over.",
                messages.SUCCESS,
            )
        else:
            self.message_user(request, f"{flow_name!r} has not polled yet.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:instances_instance_change", args=[pk]))
