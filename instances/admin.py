"""The deployment team's admin for customers, instances and API keys.

Lifecycle changes go through the services (deploy, pause, enable, remove), never by
editing rows, so the admin does exactly what the API does.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from instances.errors import InstanceStateError
from instances.lifecycle import instance_deploy, instance_enable, instance_pause, instance_remove
from instances.models import ApiKey, Customer, CustomerUser, Instance, api_key_masked
from instances.selectors import instance_flow_details
from instances.services import api_key_add
from integrations.config_values import ConfigValueError
from integrations.schedules import schedule_describe


class CustomerUserInline(admin.TabularInline):
    model = CustomerUser
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "created_at")
    search_fields = ("name", "external_id")
    inlines = [CustomerUserInline]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("flow_name", "masked_key", "label", "created_at")
    readonly_fields = fields
    can_delete = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Key")
    def masked_key(self, obj: ApiKey) -> str:
        return api_key_masked(obj.key)


def _lifecycle_action(
    name: str, operation: Callable[..., object], verb: str, description: str
) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet[Instance]], None]:
    """An admin action running one lifecycle service per selected instance; each
    instance's refusal (state, config values) is reported on its own."""

    def run(
        modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Instance]
    ) -> None:
        done = 0
        for instance in queryset:
            try:
                operation(instance=instance, user=request.user)
                done += 1
            except (InstanceStateError, ConfigValueError) as error:
                modeladmin.message_user(request, f"{instance}: {error}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{verb} {done} instance(s).", messages.SUCCESS)

    run.__name__ = name  # the action's name in the changelist form
    return admin.action(description=description)(run)


deploy_instances = _lifecycle_action(
    "deploy_instances", instance_deploy, "Deployed", "Deploy (or redeploy) selected instances"
)
pause_instances = _lifecycle_action(
    "pause_instances", instance_pause, "Paused", "Pause selected instances"
)
enable_instances = _lifecycle_action(
    "enable_instances", instance_enable, "Enabled", "Enable selected instances"
)
remove_instances = _lifecycle_action(
    "remove_instances",
    instance_remove,
    "Removed",
    "Remove selected instances (runs their remove flows)",
)


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "integration", "enabled", "deployed_at", "removed_at")
    list_select_related = ("customer", "integration")
    list_filter = ("enabled", ("removed_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "customer__name", "customer__external_id")
    actions = [deploy_instances, pause_instances, enable_instances, remove_instances]
    inlines = [ApiKeyInline]
    fields = (
        "name",
        "customer",
        "integration",
        "enabled",
        "config_values_masked",
        "webhook_urls",
        "schedule_next_runs",
        "deployed_at",
        "removed_at",
        "created_at",
        "updated_at",
    )
    # Shown, not edited: everything but the name, customer and integration.
    readonly_fields = tuple(f for f in fields if f not in ("name", "customer", "integration"))

    def get_urls(self):
        view = self.admin_site.admin_view(self.remove_view)
        return [
            path("<uuid:pk>/remove/", view, name="instances_instance_remove"),
            *super().get_urls(),
        ]

    def remove_view(self, request: HttpRequest, pk) -> HttpResponse:
        """Remove one instance from its page: a confirmation, then the lifecycle service
        (the same as the list's Remove action and the API)."""
        instance = get_object_or_404(Instance.objects.select_related("customer"), pk=pk)
        if not self.has_change_permission(request, instance):
            return HttpResponse(status=403)
        change_url = reverse("admin:instances_instance_change", args=[instance.pk])
        if request.method == "POST":
            try:
                instance_remove(instance=instance, user=request.user)
            except InstanceStateError as error:
                self.message_user(request, f"{instance}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Removed {instance}.", messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "object": instance,
            "title": f"Remove {instance}?",
            "change_url": change_url,
            "execution_count": instance.executions.count(),
        }
        return TemplateResponse(
            request, "admin/instances/instance/remove_confirmation.html", context
        )

    def has_delete_permission(self, request: HttpRequest, obj: Instance | None = None) -> bool:
        # An instance with history is taken down with Remove (its remove flows run, its
        # endpoints go, its executions stay); a hard delete is only for one never run.
        if obj is not None and obj.executions.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest):
        # The bulk delete would bypass the check above; Remove is the list's way out.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_readonly_fields(self, request, obj=None):
        # The version an instance runs changes by redeploying, not by editing.
        if obj is not None:
            return (*self.readonly_fields, "customer", "integration")
        return self.readonly_fields

    @admin.display(description="Config values")
    def config_values_masked(self, obj: Instance) -> str:
        if not obj.pk:
            return "—"
        shown = obj.config_values_masked()
        staged_note = (
            "Saved changes take effect at the next deploy.\n"
            if obj.pending_config_values is not None
            else ""
        )
        return format_html("<pre>{}{}</pre>", staged_note, json.dumps(shown, indent=2, default=str))

    @admin.display(description="Webhook URLs")
    def webhook_urls(self, obj: Instance) -> str:
        if not obj.pk or not obj.is_deployed:
            return "Not deployed"
        flows, _ = instance_flow_details(obj)
        urls = {flow.name: flow.webhook_url for flow in flows if flow.webhook_url}
        if not urls:
            return "No webhook flows"
        endpoints = {e.flow_name: e.pk for e in obj.endpoints.all()}
        rows = []
        for flow_name, url in sorted(urls.items()):
            endpoint_id = endpoints.get(flow_name) or endpoints.get("")
            test = (
                reverse("admin:triggers_endpoint_test", args=[endpoint_id]) if endpoint_id else ""
            )
            activity = (
                reverse("admin:triggers_endpoint_activity", args=[endpoint_id])
                if endpoint_id
                else ""
            )
            rows.append((flow_name, url, test, activity))
        return format_html_join(
            "",
            '<div><strong>{}</strong>: <code>{}</code> <a href="{}">Test this flow</a> · '
            '<a href="{}">Activity</a></div>',
            rows,
        )

    @admin.display(description="Schedules")
    def schedule_next_runs(self, obj: Instance) -> str:
        """Each schedule flow in words with its next five fire times (ISO, as the API
        writes them), from the read the API and the wizard share."""
        if not obj.pk:
            return "—"
        flows, _ = instance_flow_details(obj)
        rows = [
            (
                flow.name,
                schedule_describe(flow.schedule),
                ", ".join(moment.isoformat() for moment in flow.next_runs) or "never",
            )
            for flow in flows
            if flow.schedule
        ]
        if not rows:
            return "No schedule flows"
        return format_html_join(
            "", "<div><strong>{}</strong>: {}<br><small>Next runs: {}</small></div>", rows
        )


@admin.action(description="Rotate selected keys (a new key replaces each)")
def rotate_keys(modeladmin, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
    rotated = 0
    for old in queryset.select_related("instance"):
        if old.instance is None:
            ApiKey.objects.create(instance=None, flow_name="", label=old.label)
        else:
            try:
                api_key_add(instance=old.instance, flow_name=old.flow_name, label=old.label)
            except InstanceStateError as error:
                modeladmin.message_user(request, f"{old}: {error}", messages.ERROR)
                continue
        old.delete()
        rotated += 1
    modeladmin.message_user(request, f"Rotated {rotated} key(s).", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("masked_key", "instance", "flow_name", "label", "created_at")
    list_select_related = ("instance__customer",)
    search_fields = ("flow_name", "label", "instance__name")
    fields = ("instance", "flow_name", "label", "masked_key", "created_at")
    readonly_fields = ("masked_key", "created_at")
    raw_id_fields = ("instance",)
    actions = [rotate_keys]

    @admin.display(description="Key")
    def masked_key(self, obj: ApiKey) -> str:
        # Secrets never appear whole in the admin.
        return api_key_masked(obj.key) if obj.key else "—"
