"""Alert monitors in the admin (SPEC §9): a monitor with its channels inline, each webhook
channel's secret shown on request with a Rotate button, the monitor's recent events with
their deliveries; the events list, read only.

What a monitor may hold is checked by ``alerts.monitors`` (the API's check). The add form
takes its scope from the query string (``?integration=&customer=&instance=&flow_name=``),
which is how the instance and integration pages open it ("Add alert monitor").
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from alerts.events import EVENT_TYPES
from alerts.models import AlertChannel, AlertDelivery, AlertEvent, AlertMonitor, ChannelType
from alerts.monitors import (
    ChannelSpec,
    MonitorInvalid,
    MonitorSpec,
    channel_errors,
    channel_secret_rotate,
    monitor_errors,
)

RECENT_EVENTS = 20

# The API's paths of monitor_errors, as the form's fields.
_FORM_FIELD = {"flow": "flow_name", "cooldownSeconds": "cooldown_seconds"}


def _events_help() -> str:
    return format_html_join(
        "", "<li><code>{}</code>: {}</li>", ((n, e.description) for n, e in EVENT_TYPES.items())
    )


def _threshold_of(value: Any) -> Any:
    # Not a dict (a JSON list or number typed in): threshold_errors says so on the field.
    return {} if value is None else value


class AlertMonitorForm(forms.ModelForm):
    event = forms.ChoiceField(
        choices=[(name, name) for name in EVENT_TYPES],
        help_text=format_html('<ul class="tf-event-help">{}</ul>', _events_help()),
    )

    class Meta:
        model = AlertMonitor
        fields = (
            "name",
            "event",
            "integration",
            "customer",
            "instance",
            "flow_name",
            "threshold",
            "cooldown_seconds",
            "enabled",
        )
        labels = {"flow_name": "Flow"}
        help_texts = {
            "integration": "Empty: all. Any version of this integration's name.",
            "customer": "Empty: all.",
            "instance": "Empty: all.",
            "flow_name": "A flow's name; empty: all.",
            "threshold": 'JSON, by event: {"seconds": 600}, {"count": 3}, {"level": "warn"}, '
            '{"graceSeconds": 300}; {} takes the defaults.',
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        spec = MonitorSpec(
            name=cleaned.get("name") or "",
            event=cleaned.get("event") or "",
            integration=cleaned.get("integration"),
            customer=cleaned.get("customer"),
            instance=cleaned.get("instance"),
            flow_name=cleaned.get("flow_name") or "",
            threshold=_threshold_of(cleaned.get("threshold")),
            cooldown_seconds=cleaned.get("cooldown_seconds") or 0,
        )
        for error_path, message in monitor_errors(spec).items():
            name = _FORM_FIELD.get(error_path, error_path.split(".")[0])
            if name in self.fields and name in cleaned:
                self.add_error(name, f"{error_path}: {message}" if "." in error_path else message)
            elif not error_path.startswith("channels"):
                self.add_error(None, f"{error_path}: {message}")
        return cleaned


class AlertChannelForm(forms.ModelForm):
    # Text, checked by channel_errors (http or https only): Django's URLField would put a
    # scheme in front of "ops.example.com" instead of saying it is missing.
    url = forms.CharField(
        required=False,
        max_length=2000,
        label="URL",
        help_text="Webhook: an http or https URL.",
        widget=forms.URLInput(attrs={"size": 50}),
    )
    to = forms.CharField(
        required=False,
        label="To",
        help_text="Email: addresses, separated by commas.",
        widget=forms.TextInput(attrs={"size": 40}),
    )

    class Meta:
        model = AlertChannel
        fields = ("position", "type", "url", "to")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["to"] = ", ".join(self.instance.to)

    def clean_to(self) -> list[str]:
        raw = self.cleaned_data.get("to") or ""
        return [part.strip() for part in raw.split(",") if part.strip()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors or not cleaned.get("type"):
            return cleaned
        spec = ChannelSpec(cleaned["type"], cleaned.get("url") or "", tuple(cleaned["to"]))
        for error_path, message in channel_errors([spec]).items():
            name = error_path.removeprefix("channels[0].").split("[")[0]
            self.add_error(name if name in self.fields else None, message)
        return cleaned


class AlertChannelInline(admin.StackedInline):
    """One card per channel: a row of URL, addresses and secret was wider than a phone."""

    model = AlertChannel
    form = AlertChannelForm
    extra = 0
    max_num = 10
    fields = (("type", "position"), "url", "to", "secret_shown")
    readonly_fields = ("secret_shown",)

    @admin.display(description="Secret")
    def secret_shown(self, obj: AlertChannel) -> str:
        """A webhook channel's ``whsec_`` secret, hidden until asked for (shown to staff,
        SPEC §9), and a Rotate button posting the monitor's form to the rotate view."""
        if obj.pk is None or obj.type != ChannelType.WEBHOOK:
            return "—"
        position = list(obj.monitor.channels.values_list("pk", flat=True)).index(obj.pk)
        return render_to_string(
            "admin/alerts/alertmonitor/_secret.html",
            {
                "channel": obj,
                "rotate_url": reverse(
                    "admin:alerts_alertmonitor_rotate_secret", args=[obj.monitor_id, position]
                ),
            },
        )


@admin.register(AlertMonitor)
class AlertMonitorAdmin(admin.ModelAdmin):
    form = AlertMonitorForm
    inlines = [AlertChannelInline]
    list_display = ("name", "event", "scope", "enabled", "cooldown_seconds", "updated_at")
    list_filter = ("enabled", "event")
    list_select_related = ("integration", "customer", "instance")
    search_fields = ("name", "flow_name", "instance__name", "customer__name")
    readonly_fields = ("recent_events",)
    fieldsets = (
        (None, {"fields": ("name", "event", "enabled")}),
        ("Scope", {"fields": ("integration", "customer", "instance", "flow_name")}),
        ("When to notify", {"fields": ("threshold", "cooldown_seconds")}),
        ("Recent events", {"fields": ("recent_events",)}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: AlertMonitor | None = None):
        if obj is None:  # nothing has fired yet
            return self.fieldsets[:-1]
        return self.fieldsets

    def get_urls(self) -> list[Any]:
        rotate = self.admin_site.admin_view(self.rotate_secret_view)
        return [
            path(
                "<uuid:pk>/channels/<int:position>/rotate-secret/",
                rotate,
                name="alerts_alertmonitor_rotate_secret",
            ),
            *super().get_urls(),
        ]

    def rotate_secret_view(self, request: HttpRequest, pk: Any, position: int) -> HttpResponse:
        """POST: the channel's new secret (``alerts.monitors.channel_secret_rotate``, as
        the API's rotate-secret); the old one stops signing at once."""
        monitor = get_object_or_404(AlertMonitor, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, monitor):
            return HttpResponse(status=405 if request.method != "POST" else 403)
        try:
            channel = channel_secret_rotate(monitor=monitor, position=position)
        except MonitorInvalid as error:
            self.message_user(request, error.fields["position"], messages.ERROR)
        else:
            if channel is None:
                self.message_user(request, "No such channel.", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Rotated the secret of {channel.url}: receivers need the new one now.",
                    messages.SUCCESS,
                )
        return HttpResponseRedirect(reverse("admin:alerts_alertmonitor_change", args=[pk]))

    @admin.display(description="Scope")
    def scope(self, obj: AlertMonitor) -> str:
        parts = [
            f"integration {obj.integration.name}" if obj.integration else "",
            f"customer {obj.customer.name}" if obj.customer else "",
            f"instance {obj.instance.name}" if obj.instance else "",
            f"flow {obj.flow_name}" if obj.flow_name else "",
        ]
        return ", ".join(part for part in parts if part) or "everything"

    @admin.display(description="Recent events")
    def recent_events(self, obj: AlertMonitor) -> str:
        if obj.pk is None:
            return "—"
        events = list(
            obj.events.select_related("instance")
            .prefetch_related("deliveries")
            .order_by("-occurred_at")[:RECENT_EVENTS]
        )
        return render_to_string(
            "admin/alerts/alertmonitor/_events.html",
            {
                "events": events,
                "total": obj.events.count(),
                "all_url": reverse("admin:alerts_alertevent_changelist")
                + f"?monitor__id__exact={obj.pk}",
            },
        )


class AlertDeliveryInline(admin.TabularInline):
    model = AlertDelivery
    extra = 0
    can_delete = False
    fields = ("channel_type", "target", "status", "attempts_shown", "next_attempt_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Attempts")
    def attempts_shown(self, obj: AlertDelivery) -> str:
        return render_to_string("admin/alerts/alertmonitor/_attempts.html", {"delivery": obj})


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    """What fired, read only: events are written by the monitors, never by hand."""

    list_display = (
        "type",
        "occurred_at",
        "monitor",
        "instance",
        "flow_name",
        "suppressed",
        "deliveries_shown",
    )
    list_filter = ("type", "monitor")
    list_select_related = ("monitor", "instance")
    date_hierarchy = "occurred_at"
    inlines = [AlertDeliveryInline]
    fields = (
        "type",
        "occurred_at",
        "monitor",
        "instance",
        "flow_name",
        "execution_id",
        "suppressed",
        "payload",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("deliveries")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Deliveries")
    def deliveries_shown(self, obj: AlertEvent) -> str:
        return format_html(
            "{}",
            ", ".join(f"{d.channel_type} {d.status}" for d in obj.deliveries.all()) or "—",
        )
