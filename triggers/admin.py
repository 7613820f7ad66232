"""Endpoints in the admin: every webhook URL, a "Test this flow" page that sends a sample
request through the real webhook view, and an activity page (the last hour)."""

from __future__ import annotations

import json
import uuid

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from instances.endpoints import endpoint_url
from instances.models import Endpoint
from triggers.webhooks.activity import endpoint_activity_summary, recorder
from triggers.webhooks.trial import endpoint_trial_invoke

TEXT_PREVIEW_BYTES = 20_000


class FlowTrialForm(forms.Form):
    method = forms.ChoiceField(
        choices=[(m, m) for m in ("POST", "GET", "PUT", "PATCH", "DELETE")], initial="POST"
    )
    path_fragment = forms.CharField(required=False, max_length=500, label="Path fragment")
    content_type = forms.CharField(initial="application/json", max_length=200)
    headers = forms.JSONField(
        initial=dict, required=False, help_text='A JSON object, e.g. {"x-acme-flow": "Orders"}.'
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "cols": 80}),
        required=False,
        initial='{"hello": "world"}',
    )

    def clean_headers(self) -> dict[str, str]:
        headers = self.cleaned_data.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(v, str | int | float) for v in headers.values()
        ):
            raise forms.ValidationError("Headers must be a JSON object of names to values.")
        return {str(k): str(v) for k, v in headers.items()}


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "endpoint_type", "integration_name", "instance", "flow_name", "tools")
    list_select_related = ("instance__customer",)
    list_filter = ("endpoint_type",)
    search_fields = ("integration_name", "flow_name", "instance__name")
    readonly_fields = ("token", "created_at", "tools")

    def get_urls(self) -> list[URLPattern]:
        return [
            # The trial page keeps the URL and name it had as the "test" page.
            path(
                "<uuid:pk>/test/",
                self.admin_site.admin_view(self.trial_view),
                name="triggers_endpoint_test",
            ),
            path(
                "<uuid:pk>/activity/",
                self.admin_site.admin_view(self.activity_view),
                name="triggers_endpoint_activity",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="URL")
    def url(self, obj: Endpoint) -> str:
        return endpoint_url(obj.token)

    @admin.display(description="Tools")
    def tools(self, obj: Endpoint) -> str:
        if not obj.pk:
            return "—"
        return format_html(
            '<a href="{}">Test this flow</a> · <a href="{}">Activity</a>',
            reverse("admin:triggers_endpoint_test", args=[obj.pk]),
            reverse("admin:triggers_endpoint_activity", args=[obj.pk]),
        )

    def _context(self, request: HttpRequest, endpoint: Endpoint, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "endpoint": endpoint,
            "endpoint_url": endpoint_url(endpoint.token),
            "opts": self.model._meta,
        }

    def trial_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        endpoint = get_object_or_404(Endpoint.objects.select_related("instance"), pk=pk)
        if not self.has_change_permission(request, endpoint):
            return HttpResponse(status=403)
        result = None
        form = FlowTrialForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            response = endpoint_trial_invoke(
                endpoint=endpoint,
                method=data["method"],
                body=data["body"].encode(),
                content_type=data["content_type"],
                headers=data["headers"],
                path_fragment=data["path_fragment"].strip("/"),
            )
            execution_id = response.get("triggerfish-executionid")
            # A streamed answer's body is not read here.
            content = response.content if isinstance(response, HttpResponse) else b""
            result = {
                "status": response.status_code,
                "headers": {name: value for name, value in response.items()},
                "body": content[:TEXT_PREVIEW_BYTES].decode("utf-8", errors="replace"),
                "truncated": len(content) > TEXT_PREVIEW_BYTES,
                "execution_url": (
                    reverse("admin:executions_execution_change", args=[execution_id])
                    if execution_id
                    else None
                ),
            }
        context = {
            **self._context(request, endpoint, "Test this flow"),
            "form": form,
            "result": result,
            "result_headers": json.dumps(result["headers"], indent=2) if result else "",
        }
        return TemplateResponse(request, "admin/triggers/endpoint/trial.html", context)

    def activity_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        endpoint = get_object_or_404(Endpoint, pk=pk)
        if not self.has_view_permission(request, endpoint):
            return HttpResponse(status=403)
        recorder.flush()  # this process's latest counts
        summary = endpoint_activity_summary(token=endpoint.token, hours=1)
        peak = max((point["requests"] for point in summary["series"]), default=0) or 1
        bars = [
            {
                "x": index * 8,
                "height": round(point["requests"] / peak * 100, 1),
                "y": round(100 - point["requests"] / peak * 100, 1),
                "label": f"{point['minute']:%H:%M} — {point['requests']} requests",
            }
            for index, point in enumerate(summary["series"])
        ]
        context = {
            **self._context(request, endpoint, "Endpoint activity (last hour)"),
            "summary": summary,
            "bars": bars,
            "chart_width": len(bars) * 8,
            "peak": peak,
        }
        return TemplateResponse(request, "admin/triggers/endpoint/activity.html", context)
