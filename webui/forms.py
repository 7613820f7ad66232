"""The config wizard's form, generated from an integration's config variables.

Each variable becomes typed inputs (text, number, checkbox, picklist, masked secret, JSON
editor, schedule picker). The form only turns the posted text into typed values; whether
the values fit the integration is ``integrations.config_values``' call (through the
instance services), and its per-key messages come back onto the fields here
(:meth:`InstanceWizardForm.config_errors_apply`).

Secrets are never rendered back: the input is always empty and a blank submission keeps
the stored value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django import forms

from instances.models import Customer, Instance
from integrations.models import ConfigVariable, ConfigVariableType, Integration
from webui.schedule_picker import (
    PICKER_TYPES,
    WEEKDAYS,
    Picker,
    PickerError,
    picker_from_value,
    picker_preview,
    picker_schedule_value,
    time_zone_names,
)

PICKER_PARTS = ("type", "every", "minute", "time", "weekday", "cron", "zone")
# Which wizard step each variable type is asked in; steps with nothing to ask are left out.
STEP_OF_TYPE: dict[str, str] = {
    ConfigVariableType.SECRET: "secrets",
    ConfigVariableType.SCHEDULE: "schedule",
}
STEP_TITLES = {
    "basics": "Basics",
    "settings": "Settings",
    "secrets": "Secrets",
    "schedule": "Schedule",
    "review": "Review",
}


@dataclass
class VariableInput:
    """One config variable as the template draws it."""

    variable: ConfigVariable
    prefix: str
    kind: str
    bound: dict[str, forms.BoundField] = field(default_factory=dict)
    secret_stored: bool = False
    preview: dict[str, Any] | None = None

    @property
    def main(self) -> forms.BoundField:
        return self.bound.get("value") or self.bound["type"]

    @property
    def errors(self) -> list[str]:
        return [str(message) for bound in self.bound.values() for message in bound.errors]


@dataclass
class WizardStep:
    key: str
    title: str
    inputs: list[VariableInput] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(item.errors for item in self.inputs)


class InstanceWizardForm(forms.Form):
    name = forms.CharField(
        max_length=200, label="Instance name", help_text="How this instance is listed."
    )

    def __init__(
        self,
        *args: Any,
        integration: Integration,
        instance: Instance | None = None,
        customers: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.instance = instance
        if customers is not None:
            self.fields["customer"] = forms.ModelChoiceField(
                queryset=customers, label="Customer", empty_label=None
            )
        self.fields["name"].initial = instance.name if instance else integration.name
        # What the user last saved: staged values of a deployed instance included.
        stored = dict(instance.shown_config_values) if instance else {}
        self.variables = list(integration.config_variables.order_by("position"))
        self.inputs: list[VariableInput] = []
        for position, variable in enumerate(self.variables):
            prefix = f"cv{position}"
            current = stored.get(variable.key) if instance else variable.default
            if instance and current is None:
                current = variable.default
            names = self._fields_add(prefix, variable, current)
            secret_stored = variable.type == ConfigVariableType.SECRET and bool(
                stored.get(variable.key)
            )
            if secret_stored:
                self.fields[
                    f"{prefix}_value"
                ].help_text = "A value is stored and not shown. Leave blank to keep it."
                self.fields[f"{prefix}_value"].widget.attrs.pop("required", None)
            self.inputs.append(
                VariableInput(
                    variable=variable,
                    prefix=prefix,
                    kind=variable.type,
                    bound={part: self[name] for part, name in names.items()},
                    secret_stored=secret_stored,
                )
            )
        self._stored = stored

    # Building fields -------------------------------------------------------------------

    def _fields_add(self, prefix: str, variable: ConfigVariable, current: Any) -> dict[str, str]:
        help_text = variable.description
        label = variable.key
        attrs: dict[str, Any] = {}
        if variable.required and variable.default in (None, ""):
            attrs["required"] = True
        kind = variable.type
        if kind == ConfigVariableType.SCHEDULE:
            return self._schedule_fields_add(prefix, variable, current)
        field_: forms.Field
        if kind == ConfigVariableType.BOOLEAN:
            field_ = forms.BooleanField(required=False, initial=bool(current))
        elif kind == ConfigVariableType.NUMBER:
            field_ = forms.CharField(
                required=False,
                initial="" if current is None else str(current),
                widget=forms.NumberInput(attrs={**attrs, "step": "any"}),
            )
        elif kind == ConfigVariableType.PICKLIST:
            choices = [(option, option) for option in variable.options or []]
            if not attrs.get("required"):
                choices = [("", "— none —"), *choices]
            field_ = forms.ChoiceField(
                required=False,
                choices=choices,
                initial=current or "",
                widget=forms.Select(attrs=attrs),
            )
        elif kind == ConfigVariableType.SECRET:
            field_ = forms.CharField(
                required=False,
                strip=False,
                widget=forms.PasswordInput(
                    render_value=False, attrs={**attrs, "autocomplete": "new-password"}
                ),
            )
        elif kind == ConfigVariableType.JSON:
            field_ = forms.CharField(
                required=False,
                strip=False,
                initial="" if current is None else json.dumps(current, indent=2),
                widget=forms.Textarea(
                    attrs={**attrs, "rows": 6, "spellcheck": "false", "data-json-editor": ""}
                ),
            )
        else:
            field_ = forms.CharField(
                required=False,
                strip=False,
                initial="" if current is None else str(current),
                widget=forms.TextInput(attrs=attrs),
            )
        field_.label = label
        field_.help_text = help_text
        self.fields[f"{prefix}_value"] = field_
        return {"value": f"{prefix}_value"}

    def _schedule_fields_add(
        self, prefix: str, variable: ConfigVariable, current: Any
    ) -> dict[str, str]:
        picker = picker_from_value(current) if current else Picker(type="none")
        part = {"data-schedule-part": ""}
        specs: dict[str, forms.Field] = {
            "type": forms.ChoiceField(
                label="Runs", choices=PICKER_TYPES, initial=picker.type, required=False
            ),
            "every": forms.CharField(
                label="Every",
                initial=picker.every,
                required=False,
                widget=forms.NumberInput(attrs={"min": 1, "max": 59}),
            ),
            "minute": forms.CharField(
                label="At minute",
                initial=picker.minute,
                required=False,
                widget=forms.NumberInput(attrs={"min": 0, "max": 59}),
            ),
            "time": forms.CharField(
                label="At time",
                initial=picker.time,
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}),
            ),
            "weekday": forms.ChoiceField(
                label="On", choices=WEEKDAYS, initial=picker.weekday, required=False
            ),
            "cron": forms.CharField(
                label="Cron expression",
                initial=picker.cron,
                required=False,
                help_text="Five fields: minute hour day-of-month month day-of-week.",
                widget=forms.TextInput(
                    attrs={
                        "spellcheck": "false",
                        "autocomplete": "off",
                        "placeholder": "*/15 8-17 * * 1-5",
                    }
                ),
            ),
            "zone": forms.ChoiceField(
                label="Time zone",
                choices=[(name, name) for name in time_zone_names()],
                initial=picker.zone,
                required=False,
            ),
        }
        names = {}
        for name, spec in specs.items():
            spec.widget.attrs.update({**part, "data-schedule-part": name})
            self.fields[f"{prefix}_{name}"] = spec
            names[name] = f"{prefix}_{name}"
        return names

    # Reading values --------------------------------------------------------------------

    def _picker(self, prefix: str) -> Picker:
        values = {
            part: (
                self.data.get(f"{prefix}_{part}")
                if self.is_bound
                else self.fields[f"{prefix}_{part}"].initial
            )
            for part in PICKER_PARTS
        }
        return Picker(**{k: ("" if v is None else str(v)) for k, v in values.items()})

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        values: dict[str, Any] = {}
        for item in self.inputs:
            variable, prefix = item.variable, item.prefix
            if item.kind == ConfigVariableType.SCHEDULE:
                picker = self._picker(prefix)
                if picker.type == "none" and not variable.required:
                    values[variable.key] = None
                    continue
                try:
                    values[variable.key] = picker_schedule_value(picker)
                except PickerError as error:
                    for part, message in error.fields.items():
                        self.add_error(f"{prefix}_{part}", message)
                continue
            name = f"{prefix}_value"
            raw = cleaned.get(name)
            try:
                values[variable.key] = self._typed(item, raw)
            except ValueError as error:
                self.add_error(name, str(error))
        cleaned["config_values"] = values
        return cleaned

    def _typed(self, item: VariableInput, raw: Any) -> Any:
        kind = item.kind
        if kind == ConfigVariableType.BOOLEAN:
            return bool(raw)
        if kind == ConfigVariableType.SECRET:
            # Blank keeps what is stored: the page never held it to send it back.
            return raw if raw else self._stored.get(item.variable.key)
        text = (raw or "").strip() if isinstance(raw, str) else raw
        if kind == ConfigVariableType.NUMBER:
            if text in ("", None):
                return None
            try:
                number = float(text)
            except ValueError as error:
                raise ValueError("Enter a number, e.g. 42 or 2.5.") from error
            # "25" stays a whole number; "25.0" or "2.5e1" were written as decimals.
            written_whole = "." not in text and "e" not in text.lower()
            return int(number) if number.is_integer() and written_whole else number
        if kind == ConfigVariableType.JSON:
            if text in ("", None):
                return None
            try:
                # The text as typed, so line and column match what the user sees.
                return json.loads(raw)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
                ) from error
        if kind == ConfigVariableType.PICKLIST:
            return text or None
        return raw if raw is not None else ""

    # Errors from the services ----------------------------------------------------------

    def config_errors_apply(self, fields: dict[str, str]) -> None:
        """Put ``ConfigValueError.fields`` (keyed by variable key) onto the inputs."""
        by_key = {item.variable.key: item for item in self.inputs}
        for key, message in fields.items():
            item = by_key.get(key)
            if item is None:
                self.add_error(None, f"{key}: {message}" if key else message)
            elif item.kind == ConfigVariableType.SCHEDULE:
                self.add_error(f"{item.prefix}_type", message)
            else:
                self.add_error(f"{item.prefix}_value", message)

    # Drawing ---------------------------------------------------------------------------

    def steps(self) -> list[WizardStep]:
        steps = {key: WizardStep(key=key, title=title) for key, title in STEP_TITLES.items()}
        for item in self.inputs:
            if item.kind == ConfigVariableType.SCHEDULE:
                item.preview = picker_preview(self._picker(item.prefix))
            steps[STEP_OF_TYPE.get(item.kind, "settings")].inputs.append(item)
        return [step for step in steps.values() if step.inputs or step.key in ("basics", "review")]

    @property
    def chosen_customer(self) -> Customer | None:
        """The customer a staff user picked for a new instance (None otherwise)."""
        return self.cleaned_data.get("customer")
