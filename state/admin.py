"""Persisted state in the admin (SPEC §7): shown on the instance page, edited on a page of
its own per instance and per integration name, and every row listed under State entries.

Editing shows each scope's whole object as JSON; staff change it and save. What is sent
to ``state.editing`` is the merge patch from the object as shown to the object as saved
(``merge_patch_diff``), so only the keys staff changed are written, and a run that
committed other keys while the page was open keeps them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from instances.models import Instance
from integrations.models import Integration
from state.editing import (
    StatePatchError,
    state_entries_of_instance,
    state_instance_patch_apply,
    state_instance_read,
    state_integration_patch_apply,
    state_integration_read,
)
from state.merge_patch import merge_patch_diff
from state.models import StateEntry, StateScope

EDIT_TEMPLATE = "admin/state/state_edit.html"


def state_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


# Past this many characters a value is cut on the instance page (the edit page has it all).
PREVIEW_MAX_CHARS = 2000


def state_json_preview(value: Any) -> str:
    text = state_json(value)
    if len(text) <= PREVIEW_MAX_CHARS:
        return text
    return f"{text[:PREVIEW_MAX_CHARS]}\n… ({len(text)} characters; all of it on Edit state)"


@dataclass
class ScopeEditor:
    """One textarea of the edit page: a scope's object as JSON, and what was shown."""

    label: str
    name: str  # the form field
    path: str  # how the scope's keys are named in the service's errors ("" for integration)
    text: str
    shown: str
    errors: list[str] = field(default_factory=list)

    def edited_patch(self) -> Any:
        """The merge patch from the object shown to the one posted, or None (with
        ``errors`` filled) when the posted text is not a JSON object."""
        try:
            edited = json.loads(self.text)
            shown = json.loads(self.shown)
        except ValueError as error:
            self.errors.append(f"Not JSON: {error}")
            return None
        if not isinstance(edited, dict) or not isinstance(shown, dict):
            self.errors.append("Must be a JSON object of keys.")
            return None
        return merge_patch_diff(shown, edited)

    def errors_take(self, fields: dict[str, str]) -> None:
        prefix = f"{self.path}." if self.path else ""
        for field_path, message in fields.items():
            if self.path and field_path == self.path:
                self.errors.append(message)
            elif field_path.startswith(prefix):
                self.errors.append(f"{field_path[len(prefix) :]}: {message}")


def _editors(request: HttpRequest, scopes: list[tuple[str, str, str, Any]]) -> list[ScopeEditor]:
    """Editors for ``(label, name, path, current object)``, holding what was posted. A
    posted box is matched to its scope by the path it carries (``<name>-scope``), not by
    its place: a flow that gained state since the page was drawn shifts no other box."""
    posted_names = {
        request.POST[field]: field.removesuffix("-scope")
        for field in request.POST
        if field.endswith("-scope")
    }
    editors = []
    for label, name, error_path, current in scopes:
        text = state_json(current)
        posted = posted_names.get(error_path) if request.method == "POST" else None
        if posted is not None:
            editors.append(
                ScopeEditor(
                    label,
                    name,
                    error_path,
                    request.POST.get(posted, text),
                    request.POST.get(f"{posted}-shown", text),
                )
            )
        else:
            editors.append(ScopeEditor(label, name, error_path, text, text))
    return editors


def _edit_page(request, model_admin, *, title, editors, back_url, back_label) -> HttpResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "editors": editors,
        "back_url": back_url,
        "back_label": back_label,
    }
    status = 400 if any(editor.errors for editor in editors) else 200
    return TemplateResponse(request, EDIT_TEMPLATE, context, status=status)


class InstanceStateAdmin(admin.ModelAdmin):
    """The instance page's Persisted state field and its Edit state page."""

    def get_urls(self) -> list[Any]:
        edit = self.admin_site.admin_view(self.state_edit_view)
        return [
            path("<uuid:pk>/state/", edit, name="instances_instance_state"),
            *super().get_urls(),
        ]

    @admin.display(description="Persisted state")
    def persisted_state(self, obj: Instance) -> str:
        if obj._state.adding:
            return "—"
        return render_to_string(
            "admin/state/_instance_state.html",
            {
                "rows": [
                    (entry, state_json_preview(entry.value))
                    for entry in state_entries_of_instance(instance=obj)
                ],
                "edit_url": reverse("admin:instances_instance_state", args=[obj.pk]),
            },
        )

    def state_edit_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        instance = get_object_or_404(Instance.objects.select_related("integration"), pk=pk)
        if not self.has_change_permission(request, instance):
            return HttpResponse(status=403)
        state = state_instance_read(instance=instance)
        scopes = [("Instance scope", "instance", "instance", state["instance"])]
        flow_names = list(state["flows"])
        scopes += [
            (f"Flow “{name}”", f"flow-{index}", f"flows.{name}", state["flows"][name])
            for index, name in enumerate(flow_names)
        ]
        editors = _editors(request, scopes)
        back_url = reverse("admin:instances_instance_change", args=[instance.pk])
        if request.method == "POST":
            patches = [editor.edited_patch() for editor in editors]
            if not any(editor.errors for editor in editors):
                patch: dict[str, Any] = {"instance": patches[0], "flows": {}}
                for name, flow_patch in zip(flow_names, patches[1:], strict=True):
                    if flow_patch:
                        patch["flows"][name] = flow_patch
                try:
                    state_instance_patch_apply(instance=instance, patch=patch)
                except StatePatchError as error:
                    for editor in editors:
                        editor.errors_take(error.fields)
                    if not any(editor.errors for editor in editors):
                        editors[0].errors.append(error.summary)
                else:
                    self.message_user(request, f"Saved the state of {instance}.", messages.SUCCESS)
                    return HttpResponseRedirect(request.path)
        return _edit_page(
            request,
            self,
            title=f"State of {instance}",
            editors=editors,
            back_url=back_url,
            back_label=str(instance),
        )


@admin.display(description="Persisted state")
def integration_state_summary(integration: Integration) -> str:
    """The integration page's link to its name's scope (shared by every version)."""
    if not integration.pk:
        return "—"
    count = StateEntry.objects.filter(
        scope=StateScope.INTEGRATION, integration_name=integration.name
    ).count()
    url = reverse("admin:state_integration_state", args=[integration.name])
    return format_html(
        '{} key{} in the scope of “{}”, every version\'s · <a href="{}">View and edit</a>',
        count,
        "" if count == 1 else "s",
        integration.name,
        url,
    )


@admin.register(StateEntry)
class StateEntryAdmin(admin.ModelAdmin):
    """Every row, to find state across instances; edits are on the scope pages, where
    the limits are checked (the integration scope's is linked from each of its rows)."""

    list_display = ("key", "scope", "owner", "value_preview", "updated_at")
    list_filter = ("scope", "integration_name", "flow_name")
    list_select_related = ("instance",)
    search_fields = ("key", "integration_name", "flow_name", "instance__name")
    readonly_fields = ("scope", "instance", "flow_name", "integration_name", "key", "value")
    fields = (*readonly_fields, "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Every field here is read-only (edits go through the scope pages, which check
        # the limits), so a Save button would save nothing: only Delete and the way back.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[Any]:
        edit = self.admin_site.admin_view(self.integration_state_view)
        return [
            path("integration/<path:name>/", edit, name="state_integration_state"),
            *super().get_urls(),
        ]

    @admin.display(description="Owner")
    def owner(self, obj: StateEntry) -> str:
        if obj.scope == "integration":
            url = reverse("admin:state_integration_state", args=[obj.integration_name])
            return format_html('<a href="{}">{} (edit)</a>', url, obj.integration_name)
        url = reverse("admin:instances_instance_state", args=[obj.instance_id])
        label = f"{obj.instance} · {obj.flow_name}" if obj.flow_name else str(obj.instance)
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="Value")
    def value_preview(self, obj: StateEntry) -> str:
        text = json.dumps(obj.value, ensure_ascii=False)
        return text if len(text) <= 80 else f"{text[:80]}…"

    def integration_state_view(self, request: HttpRequest, name: str) -> HttpResponse:
        if not request.user.is_staff or not self.has_view_permission(request):
            return HttpResponse(status=403)
        state = state_integration_read(integration_name=name)
        editors = _editors(request, [(f"Integration “{name}”", "integration", "", state)])
        if request.method == "POST":
            if not self.has_change_permission(request):
                return HttpResponse(status=403)
            patch = editors[0].edited_patch()
            if patch is not None:
                try:
                    state_integration_patch_apply(integration_name=name, patch=patch)
                except StatePatchError as error:
                    editors[0].errors_take(error.fields)
                    editors[0].errors = editors[0].errors or [error.summary]
                else:
                    self.message_user(request, f"Saved the state of {name}.", messages.SUCCESS)
                    return HttpResponseRedirect(request.path)
        return _edit_page(
            request,
            self,
            title=f"State of the integration {name}",
            editors=editors,
            back_url=reverse("admin:state_stateentry_changelist")
            + "?"
            + urlencode({"scope": "integration", "integration_name": name}),
            back_label="State entries",
        )
