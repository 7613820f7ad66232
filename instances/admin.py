"""The deployment team's admin for customers, instances and API keys.

Lifecycle changes go through the services (deploy, pause, enable, remove), never by
editing rows, so the admin does exactly what the API does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from instances.admin_polling import InstancePollingAdmin
from instances.errors import InstanceStateError
from instances.lifecycle import instance_deploy, instance_enable, instance_pause, instance_remove
from instances.models import ApiKey, Customer, CustomerUser, Instance, api_key_masked
from instances.selectors import instance_flow_details
from instances.services import api_key_add, instance_update
from integrations.config_values import ConfigValueError, config_values_clean
from integrations.schedule_preview import fire_time_display
from integrations.schedules import ScheduleError, schedule_describe, schedule_time_zone
from state.admin import InstanceStateAdmin
from triggers.admin_run_now import InstanceRunNowAdmin
from webui.forms import InstanceWizardForm


def config_anchor(instance: Instance, key: str) -> str:
    """The change page's anchor of one config variable's row (as the form numbers them)."""
    keys = [v.key for v in instance.integration.config_variables.order_by("position")]
    if key not in keys:
        return ""
    return f"config-cv{keys.index(key)}"


def config_error_message(instance: Instance, error: ConfigValueError) -> SafeString:
    """ "Main: Signing Secret: A value is required." with each key linked to its field."""
    change_url = reverse("admin:instances_instance_change", args=[instance.pk])
    parts = format_html_join(
        "; ",
        '<a href="{}#{}">{}</a>: {}',
        (
            (change_url, config_anchor(instance, key), key or "Config values", message)
            for key, message in error.fields.items()
        ),
    )
    return format_html("{}: {} Set the values on the instance page.", instance, parts)


class InstanceAdminForm(forms.ModelForm):
    """The instance's own fields plus one typed input per config variable, drawn by the
    wizard's form (secrets never rendered back; blank keeps, a checkbox clears)."""

    class Meta:
        model = Instance
        fields = ("name", "customer", "integration")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config_form: InstanceWizardForm | None = None
        self.config_values: dict[str, Any] | None = None
        instance = self.instance
        # The add page has no integration yet (a UUID pk is set before the first save).
        if not instance._state.adding and instance.removed_at is None:
            self.config_form = InstanceWizardForm(
                self.data if self.is_bound else None,
                integration=instance.integration,
                instance=instance,
            )
            # The page's own name field is the one saved.
            del self.config_form.fields["name"]

    def config_clear_name(self, prefix: str) -> str:
        # Beside the wizard form's own inputs, which are named "cv<n>_…" (no form prefix:
        # its schedule picker reads the posted parts by those names).
        return f"{prefix}_clear"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.config_form is None:
            return cleaned
        if not self.config_form.is_valid():
            raise ValidationError("Correct the config values below.")
        values = dict(self.config_form.cleaned_data["config_values"])
        for item in self.config_form.inputs:
            if item.secret_stored and self.data.get(self.config_clear_name(item.prefix)):
                values[item.variable.key] = None
        try:
            # The check instance_update makes on save, run here so errors land on fields.
            config_values_clean(
                integration=self.instance.integration,
                values={**self.instance.shown_config_values, **values},
            )
        except ConfigValueError as error:
            self.config_form.config_errors_apply(error.fields)
            raise ValidationError("Correct the config values below.") from error
        self.config_values = values
        return cleaned

    def config_sections(self) -> list[Any]:
        if self.config_form is None:
            return []
        return [s for s in self.config_form.steps() if s.key not in ("basics", "review")]


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
            except ConfigValueError as error:
                modeladmin.message_user(
                    request, config_error_message(instance, error), messages.ERROR
                )
            except InstanceStateError as error:
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
class InstanceAdmin(InstanceStateAdmin, InstancePollingAdmin, InstanceRunNowAdmin):
    form = InstanceAdminForm
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
        "poll_states",
        "persisted_state",
        "deployed_at",
        "removed_at",
        "created_at",
        "updated_at",
    )
    # Shown, not edited: everything but the name, customer and integration.
    readonly_fields = tuple(f for f in fields if f not in ("name", "customer", "integration"))

    def get_urls(self):
        view = self.admin_site.admin_view(self.remove_view)
        deploy = self.admin_site.admin_view(self.deploy_view)
        return [
            path("<uuid:pk>/remove/", view, name="instances_instance_remove"),
            path("<uuid:pk>/deploy/", deploy, name="instances_instance_deploy"),
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

    def deploy_view(self, request: HttpRequest, pk) -> HttpResponse:
        """Deploy one instance from its page (POST): the lifecycle service, as the list's
        action; a missing value is named and linked to its field."""
        instance = get_object_or_404(Instance.objects.select_related("customer"), pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, instance):
            return HttpResponse(status=405 if request.method != "POST" else 403)
        try:
            instance_deploy(instance=instance, user=request.user)
        except ConfigValueError as error:
            self.message_user(request, config_error_message(instance, error), messages.ERROR)
        except InstanceStateError as error:
            self.message_user(request, f"{instance}: {error}", messages.ERROR)
        else:
            self.message_user(request, f"Deployed {instance}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:instances_instance_change", args=[pk]))

    def save_model(self, request: HttpRequest, obj: Instance, form: Any, change: bool) -> None:
        # Config values go through the service the API and the wizard use: checked, and
        # staged until the next deploy while the instance is deployed.
        config_values = getattr(form, "config_values", None)
        if change and config_values is not None:
            instance_update(instance=obj, name=obj.name, config_values=config_values)
            if obj.is_deployed and obj.pending_config_values is not None:
                self.message_user(
                    request, "Config values saved; they take effect at the next deploy."
                )
            return
        super().save_model(request, obj, form, change)

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

    @admin.display(description="Live config values")
    def config_values_masked(self, obj: Instance) -> str:
        # Editable values are the typed fields below; this is what runs now, masked.
        if obj._state.adding:
            return "Set after saving: one field per config variable."
        rows = []
        for key, value in obj.config_values_masked().items():
            try:
                shown = schedule_describe(value) if isinstance(value, dict) else value
            except ScheduleError:  # a JSON variable's value, not a schedule
                shown = value
            rows.append((key, "—" if shown in (None, "") else shown))
        staged = obj.pending_config_values is not None
        return render_to_string(
            "admin/instances/instance/_live_values.html", {"rows": rows, "staged": staged}
        )

    @admin.display(description="Webhook URLs")
    def webhook_urls(self, obj: Instance) -> str:
        """Each webhook flow's URL with a copy button, its keys masked (the full key is
        never on the page), and links to test it and see its activity."""
        if obj._state.adding or not obj.is_deployed:
            return "Not deployed: deploy the instance to get its webhook URLs."
        flows, _ = instance_flow_details(obj)
        endpoints = {e.flow_name: e.pk for e in obj.endpoints.all()}
        hooks = []
        for flow in sorted((f for f in flows if f.webhook_url), key=lambda f: f.name):
            endpoint_id = endpoints.get(flow.name) or endpoints.get("")
            hooks.append(
                {
                    "flow": flow,
                    "keys": [api_key_masked(key) for key in flow.api_keys],
                    "endpoint_id": endpoint_id,
                }
            )
        return render_to_string("admin/instances/instance/_webhooks.html", {"hooks": hooks})

    @admin.display(description="Schedules")
    def schedule_next_runs(self, obj: Instance) -> str:
        """Each schedule flow in words with its next five fire times as local times in the
        schedule's zone (and ISO, as the API writes them), from the read the API and the
        wizard share; one whose schedule is an unset config variable says which to set."""
        if obj._state.adding:
            return "—"
        flows, _ = instance_flow_details(obj)
        rows = []
        for flow in flows:
            row: dict[str, Any] = {"flow": flow}
            if flow.schedule:
                try:
                    row["description"] = schedule_describe(flow.schedule)
                    zone = schedule_time_zone(flow.schedule)
                except ScheduleError:
                    row["description"] = "The schedule is not valid."
                else:
                    row["zone"] = zone.key
                    row["local"] = [fire_time_display(at.astimezone(zone)) for at in flow.next_runs]
                    row["iso"] = ", ".join(at.isoformat() for at in flow.next_runs) or "never"
            elif flow.schedule_variable:
                row["unset_anchor"] = config_anchor(obj, flow.schedule_variable) or "config"
            else:
                continue
            rows.append(row)
        return render_to_string(
            "admin/instances/instance/_schedules.html",
            {"rows": rows, "deployed": obj.is_deployed, "instance": obj},
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
