"""The flow page's steps: an action picker with each action's declared inputs, a
reference helper, reordering, and validation by the definition importer's own rules.

The stored ``inputs`` JSON stays the one source of truth: the server renders it as a
JSON textarea (the page works without its script) and ``flow_steps.js`` turns it into
one field per declared input, writing the object back into that textarea as it changes.
"""

from __future__ import annotations

import json
import uuid
from functools import cached_property
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseInlineFormSet

from integrations.definitions import DefinitionError, definition_validate
from integrations.editor.step_catalog import (
    action_catalog,
    action_choices,
    action_help,
    step_references,
)
from integrations.editor.step_definition import StepErrorPlacer, definition_with_flow
from integrations.models import Step
from integrations.secrets import SecretError

NESTED_TOO_DEEPLY = "The inputs are nested too deeply to read."


class StepInputsField(forms.JSONField):
    """Django's JSON field, except that text json cannot read at all (a number with
    thousands of digits, nesting deeper than Python recurses) is a field error too,
    where Django's field lets the ValueError or RecursionError through as a 500."""

    default_error_messages = {
        "invalid": 'Enter the inputs as a JSON object, e.g. {"url": "https://…"}.',
    }

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except RecursionError as error:
            raise ValidationError(NESTED_TOO_DEEPLY, code="invalid") from error
        except ValueError as error:
            raise ValidationError(f"Not readable as JSON: {error}.", code="invalid") from error

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except (ValueError, RecursionError):
            return InvalidJSONInput(data)


class StepForm(forms.ModelForm):
    action = forms.CharField(max_length=200, widget=forms.Select(attrs={"class": "tf-step-action"}))
    inputs = StepInputsField(
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 4, "spellcheck": "false", "class": "tf-step-inputs-json vLargeTextField"}
        ),
        help_text="A JSON object of input values; any value may be a {{ reference }} template.",
    )

    class Meta:
        model = Step
        fields = ("position", "name", "action", "inputs")
        help_texts = {"position": "Steps run in this order; renumbered from 0 on save."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per input name, the importer's messages, for the script to show on that field.
        self.input_errors: dict[str, str] = {}
        name = "action"
        current = self.data.get(self.add_prefix(name)) if self.is_bound else self.initial.get(name)
        action = current if isinstance(current, str) else None
        self.fields["action"].widget.choices = action_choices(action)
        self.fields["action"].help_text = action_help(action)

    def clean_inputs(self) -> Any:
        inputs = self.cleaned_data.get("inputs")
        # An emptied box means no inputs (the column is not nullable).
        return {} if inputs is None else inputs

    @property
    def input_errors_json(self) -> str:
        return json.dumps(self.input_errors)


class StepFormSet(BaseInlineFormSet):
    """The steps as they will be saved, in the order shown, checked inside the whole
    definition: the edited flow (``self.instance`` holds the flow form's new values) with
    the edited steps, through ``definition_validate``. Only what the importer refuses is
    refused, so any definition that imports can be saved here."""

    @cached_property
    def action_catalog(self) -> dict[str, dict[str, Any]]:
        return action_catalog()

    @cached_property
    def step_references(self) -> dict[str, list[dict[str, str]]]:
        return step_references(self.instance)

    def steps_in_order(self) -> list[forms.ModelForm]:
        """The forms that will be saved (not deleted, not left blank), in run order: by
        the position given, the page's order breaking ties."""
        kept = [
            (index, form)
            for index, form in enumerate(self.forms)
            if not (self.can_delete and form.cleaned_data.get(DELETION_FIELD_NAME, False))
            and (index < self.initial_form_count() or form.has_changed())
        ]

        def run_order(item: tuple[int, forms.ModelForm]) -> tuple[int, int]:
            index, form = item
            position = form.cleaned_data.get("position")
            return (position if position is not None else 2**31, index)

        return [form for _, form in sorted(kept, key=run_order)]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        ordered = self.steps_in_order()
        for position, form in enumerate(ordered):
            form.cleaned_data["position"] = position
            form.instance.position = position
        self._ordered = ordered
        flow = self.instance
        if not flow.integration_id:
            return
        try:
            definition, flow_index = definition_with_flow(
                flow=flow, steps=[form.instance for form in ordered]
            )
        except SecretError:
            # Only a flow form that failed before sealing its signing secret leaves it in
            # clear; that form shows its own error, and the steps are checked once it passes.
            return
        try:
            definition_validate(definition=definition)
        except DefinitionError as error:
            StepErrorPlacer(forms=ordered, flow_index=flow_index).place(error)
            return
        except RecursionError as error:
            raise ValidationError(NESTED_TOO_DEEPLY) from error

    def _names_released(self) -> None:
        """Steps being renamed or deleted give up their names first, so two steps may
        swap names, or a new step take a deleted one's, without the (flow, name) unique
        index refusing a row saved before the other (one transaction: the admin's)."""
        for form in self.initial_forms:
            deleted = self.can_delete and form.cleaned_data.get(DELETION_FIELD_NAME, False)
            if deleted or "name" in form.changed_data:
                Step.objects.filter(pk=form.instance.pk).update(
                    name=f"(renaming) {uuid.uuid4().hex}"
                )

    def save(self, commit: bool = True) -> list[Step]:
        if commit:
            self._names_released()
        saved = super().save(commit=commit)
        if commit:
            # Forms left unchanged are not saved by Django, but their place may have moved
            # (a step above deleted or moved): write every kept step's new position.
            kept = [form.instance for form in getattr(self, "_ordered", []) if form.instance.pk]
            Step.objects.bulk_update(kept, ["position"])
        return saved


class StepInline(admin.StackedInline):
    model = Step
    form = StepForm
    formset = StepFormSet
    extra = 0
    fields = ("position", "name", "action", "inputs")
    template = "admin/integrations/flow/step_inline.html"
    classes = ("tf-steps",)
