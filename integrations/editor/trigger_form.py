"""The flow form's trigger editor: the kind picked from the registry, then only that kind's
fields (schedule picker, signature settings, declared inputs, the async response).

The fields are read back into the JSON a flow stores (``schedule``, ``hmac``,
``trigger_inputs``, ``response_headers``); settings the chosen kind does not take are
cleared, so switching kinds never leaves a hidden setting behind. The whole definition is
then validated by the importer, and each error lands on the field its path names.
"""

from __future__ import annotations

from typing import Any

from django import forms

from integrations.definitions import (
    DefinitionError,
    definition_validate,
)
from integrations.editor.step_definition import definition_with_flow
from integrations.editor.trigger_choices import (
    PATH_FIELDS,
    hmac_algorithm_choices,
    kind_choices,
    variable_choices,
)
from integrations.editor.trigger_widgets import (
    HeaderRowsField,
    SchedulePreviewField,
    SchedulePreviewWidget,
    TriggerInputsField,
    TriggerInputsWidget,
    TriggerKindSelect,
)
from integrations.models import (
    ConfigVariable,
    ConfigVariableType,
    EndpointSecurity,
    Flow,
    PollOnDeploy,
    QueueType,
)
from integrations.references import config_var_reference, config_var_referenced
from integrations.schedule_preview import time_zone_names, trigger_schedule_preview
from integrations.schedules import INTERVAL_UNITS
from integrations.secrets import hmac_settings_seal
from integrations.signatures import PRESETS
from integrations.trigger_kinds import ScheduleUse, TriggerKind, trigger_kinds_all

GENERIC = "generic"
LITERAL = "literal"
VARIABLE_PREFIX = "configVar:"
SCHEDULE_FORMS = (
    ("interval", "Every N minutes, hours, days or weeks"),
    ("cron", "Cron, in a time zone"),
    ("configVar", "Config variable (customer picks)"),
    ("none", "No schedule (its webhook starts it)"),
)


class FlowTriggerForm(forms.ModelForm):
    """The flow form (``FlowAdmin.form``): the trigger editor's fields on top of the
    flow's own."""

    trigger_type = forms.ChoiceField(label="Trigger", widget=TriggerKindSelect)
    trigger_inputs = TriggerInputsField(required=False, label="Trigger inputs")

    schedule_form = forms.ChoiceField(label="Runs", choices=SCHEDULE_FORMS, initial="interval")
    schedule_every = forms.IntegerField(label="Every", required=False, min_value=1, initial=5)
    schedule_unit = forms.ChoiceField(
        label="Unit", choices=[(unit, unit) for unit in INTERVAL_UNITS], initial="minutes"
    )
    schedule_cron = forms.CharField(
        label="Cron expression",
        required=False,
        max_length=200,
        help_text="minute hour day-of-month month day-of-week, e.g. */15 8-17 * * 1-5",
    )
    schedule_time_zone = forms.ChoiceField(label="Time zone", initial="UTC")
    schedule_config_var = forms.ChoiceField(label="Config variable", required=False)
    schedule_preview = SchedulePreviewField(label="Next runs")

    hmac_preset = forms.ChoiceField(label="Signature scheme", initial=GENERIC)
    hmac_header = forms.CharField(
        label="Header", required=False, max_length=200, initial="x-hmac-sha256"
    )
    hmac_algorithm = forms.ChoiceField(label="Algorithm", initial="sha256")
    hmac_encoding = forms.ChoiceField(
        label="Encoding", choices=[("hex", "hex"), ("base64", "base64")], initial="hex"
    )
    hmac_prefix = forms.CharField(
        label="Prefix",
        required=False,
        max_length=50,
        help_text="Stripped from the header's value before comparing, e.g. sha256=",
    )
    hmac_secret_source = forms.ChoiceField(label="Signing secret")
    hmac_secret = forms.CharField(
        label="Secret",
        required=False,
        max_length=1000,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    hmac_tolerance_seconds = forms.IntegerField(
        label="Tolerance (seconds)",
        required=False,
        min_value=1,
        max_value=24 * 3600,
        help_text="How old or new a signed timestamp may be; empty = 300.",
    )
    response_headers = HeaderRowsField(required=False, label="Headers")

    class Meta:
        model = Flow
        fields: tuple[str, ...] = ()  # FlowAdmin's fieldsets name them
        labels = {"poll_batch_size": "Items per execution", "poll_on_deploy": "First poll"}
        help_texts = {
            "poll_batch_size": "1 to 100. With 1 each new item starts its own run "
            "(trigger.body.data is the item); with more, a run gets a list.",
            "poll_on_deploy": "skip: the first poll after a deploy only notes what is there; "
            "backfill: those items run too.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        flow = self.instance
        self.kinds = trigger_kinds_all()
        kind_key = (self.data.get("trigger_type") if self.is_bound else None) or (flow.trigger_type)
        kind_widget = self.fields["trigger_type"].widget
        assert isinstance(kind_widget, TriggerKindSelect)
        kind_widget.kinds = {kind.key: kind for kind in self.kinds}
        self._choices_set("trigger_type", kind_choices(self.kinds, flow.trigger_type))
        inputs_widget = self.fields["trigger_inputs"].widget
        assert isinstance(inputs_widget, TriggerInputsWidget)
        inputs_widget.kinds, inputs_widget.selected = self.kinds, kind_key

        variables = self._variables()
        schedule_variables = [v for v in variables if v.type == ConfigVariableType.SCHEDULE]
        self.variable_defaults = {
            v.key: v.default for v in schedule_variables if v.integration_id == flow.integration_id
        }
        self._choices_set("schedule_time_zone", [(z, z) for z in time_zone_names()])
        self._choices_set(
            "schedule_config_var",
            [
                ("", "—"),
                *variable_choices(schedule_variables),
            ],
        )
        self._choices_set(
            "hmac_preset",
            [
                (GENERIC, "Generic HMAC header"),
                *((name, preset.label) for name, preset in PRESETS.items()),
            ],
        )
        self.fields["hmac_preset"].widget.attrs["data-timestamped"] = " ".join(
            name for name, preset in PRESETS.items() if preset.timestamped
        )
        self._choices_set("hmac_algorithm", hmac_algorithm_choices())
        self._choices_set(
            "hmac_secret_source",
            [
                (LITERAL, "A secret typed here"),
                *variable_choices(variables, prefix=VARIABLE_PREFIX),
            ],
        )
        if not self.is_bound:
            self._initial_from_flow(flow)

    def _choices_set(self, name: str, choices: list[Any]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def _variables(self) -> list[ConfigVariable]:
        integration_id = self.instance.integration_id or self.initial.get("integration")
        variables = ConfigVariable.objects.select_related("integration").order_by(
            "integration__name", "-integration__version", "position"
        )
        if integration_id:
            variables = variables.filter(integration_id=integration_id)
        return list(variables)

    def _initial_from_flow(self, flow: Flow) -> None:
        initial = self.initial
        schedule = flow.schedule or {}
        if "cron" in schedule:
            initial.update(
                schedule_form="cron",
                schedule_cron=schedule["cron"],
                schedule_time_zone=schedule.get("timeZone") or "UTC",
            )
        elif "configVar" in schedule:
            initial.update(schedule_form="configVar", schedule_config_var=schedule["configVar"])
        elif "every" in schedule:
            initial.update(
                schedule_form="interval",
                schedule_every=schedule["every"],
                schedule_unit=schedule.get("unit"),
            )
        elif flow.pk and flow.trigger_type != "schedule":
            initial["schedule_form"] = "none"
        preview_widget = self.fields["schedule_preview"].widget
        assert isinstance(preview_widget, SchedulePreviewWidget)
        # Without a stored schedule, the preview of what the fields start with.
        shown = schedule or {"every": self.fields["schedule_every"].initial, "unit": "minutes"}
        preview_widget.preview = trigger_schedule_preview(
            shown, variable_defaults=self.variable_defaults
        )
        hmac = flow.hmac or {}
        secret = str(hmac.get("secret") or "")
        key = config_var_referenced(secret) if secret else None
        initial["hmac_secret_source"] = VARIABLE_PREFIX + key if key else LITERAL
        if secret and not key:
            stored_note = "A secret is stored and not shown; blank keeps it."
            self.fields["hmac_secret"].help_text = stored_note
        if "preset" in hmac:
            initial.update(
                hmac_preset=hmac["preset"], hmac_tolerance_seconds=hmac.get("toleranceSeconds")
            )
        elif hmac:
            initial.update(
                hmac_preset=GENERIC,
                hmac_header=hmac.get("header"),
                hmac_algorithm=hmac.get("algorithm"),
                hmac_encoding=hmac.get("encoding") or "hex",
                hmac_prefix=hmac.get("prefix") or "",
            )

    # -- reading the fields back into the flow ------------------------------------------

    def chosen_kind(self) -> TriggerKind | None:
        key = self.cleaned_data.get("trigger_type")
        return next((kind for kind in self.kinds if kind.key == key), None)

    def schedule_built(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        shape = data.get("schedule_form")
        if shape == "cron":
            return {"cron": data.get("schedule_cron") or "", "timeZone": data["schedule_time_zone"]}
        if shape == "configVar":
            return {"configVar": data.get("schedule_config_var") or ""}
        if shape == "interval":
            return {"every": data.get("schedule_every"), "unit": data.get("schedule_unit")}
        return None

    def hmac_built(self, stored: dict[str, Any] | None) -> dict[str, Any]:
        data = self.cleaned_data
        source = data.get("hmac_secret_source") or LITERAL
        if source.startswith(VARIABLE_PREFIX):
            secret = config_var_reference(source[len(VARIABLE_PREFIX) :])
        else:
            # Blank keeps the stored secret (never shown, so never posted back).
            secret = data.get("hmac_secret") or (stored or {}).get("secret") or ""
        preset = data.get("hmac_preset") or GENERIC
        if preset != GENERIC:
            built: dict[str, Any] = {"preset": preset, "secret": secret}
            if data.get("hmac_tolerance_seconds") is not None and PRESETS[preset].timestamped:
                built["toleranceSeconds"] = data["hmac_tolerance_seconds"]
            return built
        return {
            "header": (data.get("hmac_header") or "").strip(),
            "algorithm": data.get("hmac_algorithm") or "sha256",
            "secret": secret,
            "encoding": data.get("hmac_encoding") or "hex",
            "prefix": data.get("hmac_prefix") or "",
        }

    def trigger_apply(self, flow: Flow, stored_hmac: dict[str, Any] | None) -> None:
        """The chosen kind's settings onto ``flow``; what the kind does not take, cleared."""
        kind = self.chosen_kind()
        if kind is None:
            return  # not registered: the importer names the type
        flow.schedule = self.schedule_built() if kind.schedule != ScheduleUse.NONE else None
        flow.hmac = self.hmac_built(stored_hmac) if kind.hmac else None
        if not kind.inputs:
            flow.trigger_inputs = {}
        if not kind.synchronous:
            flow.synchronous = False
        if not kind.polling:
            flow.poll_batch_size, flow.poll_on_deploy = 1, PollOnDeploy.SKIP
        if not kind.webhook:
            flow.endpoint_security = EndpointSecurity.CUSTOMER_OPTIONAL
            flow.response_status_code = None
            flow.response_content_type = ""
            flow.response_headers = {}
            flow.response_body = ""
        if flow.schedule is None:
            flow.singleton = False
        if flow.queue_type != QueueType.THROTTLED:
            flow.queue_concurrency_limit = None

    # Django's hook after the instance holds the form's values; django-stubs omit it.
    def _post_clean(self) -> None:
        stored_hmac = (
            Flow.objects.filter(pk=self.instance.pk).values_list("hmac", flat=True).first()
            if self.instance.pk
            else None
        )
        super()._post_clean()  # type: ignore[misc]  # the instance now holds the form's values
        flow = self.instance
        if self.errors or not flow.integration_id:
            return
        self.trigger_apply(flow, stored_hmac)
        self._definition_check(flow)

    def _definition_check(self, flow: Flow) -> None:
        # Validated with its secrets (an hmac flow needs one), never shown. A secret typed
        # into the form is sealed first, as saving will, so both read one shape.
        flow.hmac = hmac_settings_seal(flow.hmac, flow_id=flow.pk)
        steps = list(flow.steps.all()) if flow.pk else []
        definition, index = definition_with_flow(flow=flow, steps=steps)
        try:
            definition_validate(definition=definition)
        except DefinitionError as error:
            self._definition_errors_add(error, index)

    def _definition_errors_add(self, error: DefinitionError, index: int) -> None:
        prefix = f"flows[{index}]."
        for location, message in error.errors.items():
            if not location.startswith(prefix):
                self.add_error(None, f"{location}: {message}")
                continue
            relative = location[len(prefix) :]
            if relative.startswith("steps"):
                continue  # the steps' own formset shows these on the steps
            field = next((name for start, name in PATH_FIELDS if relative.startswith(start)), None)
            if (
                field == "hmac_secret_source"
                and self.cleaned_data.get("hmac_secret_source", LITERAL) == LITERAL
            ):
                field = "hmac_secret"
            if field is None or field not in self.fields:
                self.add_error(None, f"{relative}: {message}")
            else:
                self.add_error(field, f"{relative}: {message}")
