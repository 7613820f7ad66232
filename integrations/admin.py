"""The deployment team's admin for integration definitions.

Flows are edited through a form that validates the edited flow inside its whole
definition with the importer's own rules, so the admin cannot store what an import
would refuse (a bad cron, an unknown zone, FIFO with a synchronous response...).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from integrations.definitions import (
    DefinitionError,
    definition_dump,
    integration_diff_previous,
    integration_export,
    integration_import_if_changed,
)
from integrations.editor.step_form import StepInline
from integrations.editor.trigger_form import FlowTriggerForm
from integrations.editor.trigger_preview import trigger_schedule_preview_posted
from integrations.models import ConfigVariable, ConfigVariableType, Flow, Integration
from state.admin import integration_state_summary

# The flow form's sections; each ``tf-*`` class tells the trigger editor (flow_trigger.js)
# which kinds a section belongs to, and the form's fields are exactly these, in this order.
FLOW_FIELDSETS: tuple[tuple[str | None, tuple[str, ...], tuple[str, ...]], ...] = (
    (None, ("integration", "name", "position", "description"), ()),
    (
        "Trigger",
        ("trigger_type", "trigger_inputs", "synchronous", "endpoint_security"),
        ("tf-trigger",),
    ),
    (
        "Schedule",
        (
            "schedule_form",
            "schedule_every",
            "schedule_unit",
            "schedule_cron",
            "schedule_time_zone",
            "schedule_config_var",
            "schedule_preview",
        ),
        ("tf-schedule",),
    ),
    (
        "Polling",
        ("poll_batch_size", "poll_on_deploy"),
        ("tf-polling",),
    ),
    (
        "Signature",
        (
            "hmac_preset",
            "hmac_header",
            "hmac_algorithm",
            "hmac_encoding",
            "hmac_prefix",
            "hmac_secret_source",
            "hmac_secret",
            "hmac_tolerance_seconds",
        ),
        ("tf-hmac",),
    ),
    (
        "Custom async response",
        ("response_status_code", "response_content_type", "response_headers", "response_body"),
        ("tf-response",),
    ),
    (
        "Queue, retries and timing",
        (
            "queue_type",
            "queue_concurrency_limit",
            "queue_dedupe_id_field",
            "singleton",
            "retry_max_attempts",
            "retry_delay_seconds",
            "retry_exponential_backoff",
            "sync_timeout_seconds",
        ),
        ("tf-queue",),
    ),
)
FLOW_FORM_FIELDS = tuple(name for _, names, _ in FLOW_FIELDSETS for name in names)


class ConfigVariableForm(forms.ModelForm):
    """A ``secret`` variable's default is never shown: its input starts empty and a blank
    one keeps what is stored (sealed again by ``ConfigVariable.save``)."""

    class Meta:
        model = ConfigVariable
        fields = ("position", "key", "type", "required", "default", "options", "description")
        widgets = {
            "default": forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
            "options": forms.Textarea(attrs={"rows": 1, "spellcheck": "false"}),
            "description": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._secret_stored = (
            self.instance.pk is not None
            and self.instance.type == ConfigVariableType.SECRET
            and self.instance.default not in (None, "")
        )
        if self._secret_stored:
            self.initial["default"] = None
            self.fields["default"].help_text = "A secret is stored and not shown; blank keeps it."

    def clean_default(self):
        default = self.cleaned_data.get("default")
        if self._secret_stored and default in (None, ""):
            return self.instance.default
        return default


def definition_upload_limit() -> int:
    """An uploaded definition may be as large as Django lets a pasted one be (the request
    body outside files), so the file input and the textarea have one limit."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440


class DefinitionImportForm(forms.Form):
    """A YAML or JSON definition, as a file or pasted: the importer reads the bytes."""

    file = forms.FileField(required=False, label="Definition file (YAML or JSON)")
    text = forms.CharField(
        required=False,
        label="Or paste it",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "tf-definition"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        upload, text = cleaned.get("file"), cleaned.get("text")
        if self.errors:
            return cleaned
        if upload and text:
            raise forms.ValidationError("Give a file or pasted text, not both.")
        if not upload and not (text or "").strip():
            raise forms.ValidationError("Choose a definition file or paste one.")
        limit = definition_upload_limit()
        if upload:
            if upload.size is not None and upload.size > limit:
                raise forms.ValidationError(
                    f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes."
                )
            cleaned["definition"] = upload.read(limit + 1)
            name = (upload.name or "").lower()
            cleaned["content_type"] = "application/json" if name.endswith(".json") else None
        else:
            cleaned["definition"] = text
            cleaned["content_type"] = None
        return cleaned


class ConfigVariableInline(admin.StackedInline):
    """One card per variable: a table of seven inputs, two of them JSON, was wider than any
    screen (2,284 px at 1280)."""

    model = ConfigVariable
    form = ConfigVariableForm
    extra = 0
    fields = (("key", "type", "position"), "required", "default", "options", "description")


class FlowInline(admin.TabularInline):
    model = Flow
    extra = 0
    fields = ("position", "name", "trigger_type", "synchronous", "endpoint_security", "queue_type")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "endpoint_type", "created_at", "definition_link")
    list_filter = ("endpoint_type",)
    search_fields = ("name",)
    readonly_fields = ("definition_link", "persisted_state")
    inlines = [ConfigVariableInline, FlowInline]
    persisted_state = staticmethod(integration_state_summary)

    def get_urls(self):
        site = self.admin_site
        return [
            path(
                "import/",
                site.admin_view(self.import_view),
                name="integrations_integration_import",
            ),
            path(
                "<uuid:pk>/definition/",
                site.admin_view(self.definition_view),
                name="integrations_integration_definition",
            ),
            path(
                "<uuid:pk>/diff/",
                site.admin_view(self.diff_view),
                name="integrations_integration_diff",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """The importer the API and ``import_integration`` run: a new version, or the
        newest one back when nothing changed; its errors are shown with their paths."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        errors: list[tuple[str, str]] = []
        status = 200
        if request.method == "POST":
            form = DefinitionImportForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    outcome = integration_import_if_changed(
                        definition=form.cleaned_data["definition"],
                        content_type=form.cleaned_data["content_type"],
                    )
                except DefinitionError as error:
                    errors = [(path or "definition", text) for path, text in error.errors.items()]
                else:
                    integration = outcome.integration
                    if outcome.created:
                        messages.success(request, f"Imported {integration} as a new version.")
                    else:
                        messages.info(
                            request, f"Unchanged: the definition is {integration} already."
                        )
                    url = reverse("admin:integrations_integration_change", args=[integration.pk])
                    return HttpResponseRedirect(url)
            status = 400
        else:
            form = DefinitionImportForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a definition",
            "form": form,
            "definition_errors": errors,
            "limit": definition_upload_limit(),
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, "admin/integrations/integration/import.html", context, status=status
        )

    def diff_view(self, request: HttpRequest, pk) -> HttpResponse:
        integration = get_object_or_404(Integration, pk=pk)
        if not self.has_view_permission(request, integration):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"{integration} — changes from the previous version",
            "integration": integration,
            "diff": integration_diff_previous(integration=integration),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/integrations/integration/diff.html", context)

    @admin.display(description="Definition")
    def definition_link(self, obj: Integration) -> str:
        if not obj.pk:
            return "—"
        url = reverse("admin:integrations_integration_definition", args=[obj.pk])
        links = format_html('<a href="{}">YAML</a> · <a href="{}?download=1">export</a>', url, url)
        if obj.version == 1:
            return links
        diff = reverse("admin:integrations_integration_diff", args=[obj.pk])
        return format_html('{} · <a href="{}">diff with v{}</a>', links, diff, obj.version - 1)

    def definition_view(self, request: HttpRequest, pk) -> HttpResponse:
        integration = get_object_or_404(Integration, pk=pk)
        if not self.has_view_permission(request, integration):
            return HttpResponse(status=403)
        text = definition_dump(integration_export(integration=integration), fmt="yaml")
        if request.GET.get("download"):
            response = HttpResponse(text, content_type="application/yaml")
            filename = f"{integration.name}-v{integration.version}.yaml".replace('"', "")
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": f"{integration} — definition",
            "integration": integration,
            "definition": text,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/integrations/integration/definition.html", context)


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    form = FlowTriggerForm
    list_display = ("name", "integration", "trigger_type", "synchronous", "queue_type")
    list_select_related = ("integration",)
    list_filter = ("trigger_type", "queue_type")
    search_fields = ("name", "integration__name")
    inlines = [StepInline]
    fieldsets = [
        (title, {"fields": names, "classes": classes}) for title, names, classes in FLOW_FIELDSETS
    ]

    def get_urls(self):
        return [
            path(
                "schedule-preview/",
                self.admin_site.admin_view(self.schedule_preview_view),
                name="integrations_flow_schedule_preview",
            ),
            *super().get_urls(),
        ]

    def schedule_preview_view(self, request: HttpRequest) -> JsonResponse:
        """The trigger editor's live preview: next fire times or the error per field."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(trigger_schedule_preview_posted(query=request.GET))
