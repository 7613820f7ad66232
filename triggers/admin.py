"""Endpoints in the admin: every webhook URL, a "Test this flow" page that sends a sample
request through the real webhook view, and an activity page (the last hour)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from executions.rendering import content_type_is_text_like
from instances.endpoints import endpoint_url
from instances.models import Endpoint
from triggers.webhooks.activity import endpoint_activity_summary, recorder
from triggers.webhooks.trial import endpoint_trial_invoke, location_shown, trial_result_follow

TEXT_PREVIEW_BYTES = 20_000
DEFAULT_CONTENT_TYPE = "application/json"
# The last request sent from the trial page, per endpoint, kept in the user's (database)
# session so that the next visit starts from it; no table, no migration.
SAVED_REQUEST_SESSION_KEY = "triggerfish.trial.{pk}"
SYNC_CHOICES = [
    ("", "As the flow is set"),
    ("true", "Synchronously: wait for the run and show its result"),
    ("false", "Asynchronously: answer at once"),
]


class FlowTrialForm(forms.Form):
    method = forms.ChoiceField(
        choices=[(m, m) for m in ("POST", "GET", "PUT", "PATCH", "DELETE")], initial="POST"
    )
    path_fragment = forms.CharField(required=False, max_length=500, label="Path fragment")
    synchronous = forms.ChoiceField(
        choices=SYNC_CHOICES,
        required=False,
        label="Run synchronously",
        widget=forms.RadioSelect,
        help_text="Sends the triggerfish-synchronous header; a 303 to the result is followed.",
    )
    content_type = forms.CharField(
        initial=DEFAULT_CONTENT_TYPE,
        required=False,
        max_length=200,
        help_text="With a file, the file's own type is sent unless you change this field.",
    )
    headers = forms.JSONField(
        initial=dict, required=False, help_text='A JSON object, e.g. {"x-acme-flow": "Orders"}.'
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "cols": 80}),
        required=False,
        initial='{"hello": "world"}',
    )
    body_file = forms.FileField(
        required=False,
        label="Body from a file",
        help_text="Its bytes are sent as the body, unchanged, instead of the text above.",
    )

    def clean_body_file(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("body_file")
        limit = settings.TRIGGERFISH_MAX_BODY_BYTES
        if upload is not None and (upload.size or 0) > limit:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; endpoints accept at most {limit:,} "
                "(TRIGGERFISH_MAX_BODY_BYTES)."
            )
        return upload

    def request_body(self) -> tuple[bytes, str]:
        """The body to send and its content type: the file's, or the text's."""
        data = self.cleaned_data
        typed = data["content_type"].strip()
        upload: UploadedFile | None = data.get("body_file")
        if upload is None:
            return data["body"].encode(), typed or "application/octet-stream"
        if "content_type" not in self.changed_data or not typed:
            typed = upload.content_type or "application/octet-stream"
        return upload.read(), typed

    def clean_headers(self) -> dict[str, str]:
        headers = self.cleaned_data.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(v, str | int | float) for v in headers.values()
        ):
            raise forms.ValidationError("Headers must be a JSON object of names to values.")
        return {str(k): str(v) for k, v in headers.items()}


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    # Four columns that fit 1280 px with the sidebar: the URL says the token's ends (the
    # whole URL is its title and the detail), the integration and type go under it.
    list_display = ("endpoint", "instance", "flow_name", "tools")
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

    @admin.display(description="Endpoint", ordering="integration_name")
    def endpoint(self, obj: Endpoint) -> str:
        token = obj.token
        shown = f"/trigger/{token[:6]}…{token[-4:]}" if len(token) > 12 else f"/trigger/{token}"
        return format_html(
            '<code title="{}">{}</code><br><span class="quiet">{} · {}</span>',
            endpoint_url(token),
            shown,
            obj.integration_name,
            obj.get_endpoint_type_display(),
        )

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
        session_key = SAVED_REQUEST_SESSION_KEY.format(pk=endpoint.pk)
        result = followed = None
        form = FlowTrialForm(
            request.POST or None,
            request.FILES or None,
            initial=request.session.get(session_key) or None,
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            body, content_type = form.request_body()
            sync_choice = data["synchronous"]
            response = endpoint_trial_invoke(
                endpoint=endpoint,
                method=data["method"],
                body=body,
                content_type=content_type,
                headers=data["headers"],
                path_fragment=data["path_fragment"].strip("/"),
                synchronous=None if not sync_choice else sync_choice == "true",
            )
            result = _answer_shown(response)
            final = trial_result_follow(response)
            followed = _answer_shown(final) if final is not None else None
            request.session[session_key] = _request_saved(data)
        context = {
            **self._context(request, endpoint, "Test this flow"),
            "form": form,
            "result": result,
            "followed": followed,
            "result_headers": result["headers_text"] if result else "",
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


# Header names whose values are credentials: a saved request never keeps them (the
# session table is not a vault); the flow's first API key is sent anyway when none is typed.
CREDENTIAL_HEADER_WORDS = ("key", "authorization", "signature", "secret", "token", "cookie")


def _request_saved(data: dict[str, Any]) -> dict[str, Any]:
    """What the next visit's form starts from: the text fields, never the file, and no
    header that carries a credential."""
    body = data["body"] if len(data["body"]) <= TEXT_PREVIEW_BYTES else ""
    headers = {
        name: value
        for name, value in data["headers"].items()
        if not any(word in name.lower() for word in CREDENTIAL_HEADER_WORDS)
    }
    return {
        "method": data["method"],
        "path_fragment": data["path_fragment"],
        "synchronous": data["synchronous"],
        "content_type": data["content_type"],
        "headers": headers,
        "body": body,
    }


def _answer_shown(response: HttpResponseBase) -> dict[str, Any]:
    """One answer as the trial page shows it: status, headers with credentials redacted,
    and a text preview of the body, or its size and type when it is not text."""
    headers = {name: value for name, value in response.items()}
    if "Location" in headers:
        headers["Location"] = location_shown(headers["Location"])
    preview, size = _body_preview(response)
    content_type = response.get("Content-Type", "")
    text_like = not size or content_type_is_text_like(content_type)
    execution_id = response.get("triggerfish-executionid")
    return {
        "status": response.status_code,
        "headers": headers,
        "headers_text": json.dumps(headers, indent=2),
        "body": preview.decode("utf-8", errors="replace") if text_like else "",
        "binary": "" if text_like else f"{size:,} bytes, {content_type or 'no content type'}",
        "truncated": text_like and size > TEXT_PREVIEW_BYTES,
        "execution_url": (
            reverse("admin:executions_execution_change", args=[execution_id])
            if execution_id
            else None
        ),
    }


def _body_preview(response: HttpResponseBase) -> tuple[bytes, int]:
    """The first TEXT_PREVIEW_BYTES of a body and its full size; a streamed one (a stored
    result file) is read through once and closed."""
    if isinstance(response, HttpResponse):
        return response.content[:TEXT_PREVIEW_BYTES], len(response.content)
    head, size = b"", 0
    try:
        for chunk in getattr(response, "streaming_content", ()):
            if len(head) < TEXT_PREVIEW_BYTES:
                head += chunk[: TEXT_PREVIEW_BYTES - len(head)]
            size += len(chunk)
    finally:
        response.close()
    return head, size
