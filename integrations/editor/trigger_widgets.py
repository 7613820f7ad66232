"""The trigger editor's own widgets and fields: the kind picker, a component trigger's
declared inputs, header rows and the schedule preview.

Each renders a project template (``admin/integrations/flow/_trigger_*.html``) and reads
its posted parts back into the JSON the flow stores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from integrations.components.registry import Input
from integrations.trigger_kinds import TriggerKind

HEADER_ROWS_MAX = 50
HEADER_NAME_MAX = 200
HEADER_VALUE_MAX = 4000
INPUT_TEXT_MAX = 10_000

# How a declared input's text becomes its value: JSON for the structured types, the text
# itself for strings; a {{ template }} stays text whatever the type (resolved per run).
_JSON_TYPES = {"object", "list", "any", "number", "integer", "boolean"}


def _datalist(data: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(data, "getlist", None)
    if getlist is not None:
        return list(getlist(name))
    value = data.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class TriggerKindSelect(forms.Select):
    """The kind select; each option carries what its kind takes, so the page shows only
    that kind's fields (flow_trigger.js), and the chosen kind's description follows it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kinds: dict[str, TriggerKind] = {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        kind = self.kinds.get(str(value))
        if kind is not None:
            option["attrs"].update(
                {
                    "data-description": kind.description,
                    "data-webhook": "1" if kind.webhook else "",
                    "data-synchronous": "1" if kind.synchronous else "",
                    "data-hmac": "1" if kind.hmac else "",
                    "data-schedule": kind.schedule.value,
                    "data-inputs": "1" if kind.inputs else "",
                    "data-polling": "1" if kind.polling else "",
                }
            )
        return option

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        select = super().render(name, value, attrs, renderer)
        kind = self.kinds.get(str(value))
        description = kind.description if kind else "This trigger type is not registered."
        context = {"select": select, "description": description}
        return render_to_string("admin/integrations/flow/_trigger_kind.html", context)


def input_text(value: Any) -> str:
    """A stored input value as its field shows it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class TriggerInputsWidget(forms.Widget):
    """Every component trigger's declared inputs, one group per kind; only the chosen
    kind's group is shown and posted back."""

    kind_field = "trigger_type"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kinds: list[TriggerKind] = []
        self.selected = ""

    def _name(self, name: str, kind: TriggerKind, declared: Input) -> str:
        return f"{name}__{kind.key}__{declared.name}"

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        values = value if isinstance(value, dict) else {}
        groups = []
        for kind in self.kinds:
            if not kind.inputs:
                continue
            chosen = kind.key == self.selected
            rows = [
                {
                    "name": self._name(name, kind, declared),
                    "id": f"id_{self._name(name, kind, declared)}".replace(".", "_"),
                    "input": declared,
                    "value": input_text(values.get(declared.name)) if chosen else "",
                    "default": input_text(declared.default),
                    "multiline": declared.type in {"object", "list", "any"},
                }
                for declared in kind.inputs
            ]
            groups.append({"kind": kind, "rows": rows, "chosen": chosen})
        return render_to_string("admin/integrations/flow/_trigger_inputs.html", {"groups": groups})

    def value_from_datadict(self, data, files, name) -> dict[str, str]:
        selected = data.get(self.kind_field) or ""
        kind = next((k for k in self.kinds if k.key == selected), None)
        if kind is None:
            return {}
        posted = {}
        for declared in kind.inputs:
            text = data.get(self._name(name, kind, declared))
            if text not in (None, ""):
                posted[declared.name] = text
        return posted

    def value_omitted_from_data(self, data, files, name) -> bool:
        return False


class TriggerInputsField(forms.Field):
    """The chosen component trigger's inputs, each read by its declared type."""

    widget = TriggerInputsWidget

    def to_python(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            return {}
        widget = self.widget
        assert isinstance(widget, TriggerInputsWidget)
        kind = next((k for k in widget.kinds if k.key == widget.selected), None)
        declared = {i.name: i for i in kind.inputs} if kind else {}
        parsed: dict[str, Any] = {}
        errors = []
        for key, text in value.items():
            if len(text) > INPUT_TEXT_MAX or "\x00" in text:
                errors.append(f"{key}: at most {INPUT_TEXT_MAX:,} characters, no NUL bytes.")
                continue
            kind_of = declared[key].type if key in declared else "string"
            if kind_of not in _JSON_TYPES or "{{" in text:
                parsed[key] = text
                continue
            try:
                parsed[key] = json.loads(text)
            except ValueError:
                if kind_of in {"object", "list", "number", "integer", "boolean"}:
                    errors.append(f"{key}: enter {kind_of} JSON or a {{{{ reference }}}}.")
                else:
                    parsed[key] = text
        if errors:
            raise forms.ValidationError(errors)
        return parsed


class HeaderRowsWidget(forms.Widget):
    """Response headers as name/value rows, one blank row to add another (the page adds
    more rows without a round trip)."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = {}
        rows = list(value.items()) if isinstance(value, dict) else list(value or [])
        context = {"name": name, "rows": [*rows, ("", "")]}
        return render_to_string("admin/integrations/flow/_trigger_headers.html", context)

    def value_from_datadict(self, data, files, name) -> list[tuple[str, str]]:
        names = _datalist(data, f"{name}__name")
        values = _datalist(data, f"{name}__value")
        return list(zip(names, values + [""] * (len(names) - len(values)), strict=True))

    def value_omitted_from_data(self, data, files, name) -> bool:
        return False


class HeaderRowsField(forms.Field):
    widget = HeaderRowsWidget

    def to_python(self, value: Any) -> dict[str, str]:
        if isinstance(value, dict):
            value = list(value.items())
        rows = [(str(n).strip(), str(v)) for n, v in (value or []) if str(n).strip() or str(v)]
        if len(rows) > HEADER_ROWS_MAX:
            raise forms.ValidationError(f"At most {HEADER_ROWS_MAX} headers.")
        headers: dict[str, str] = {}
        for header, text in rows:
            if not header:
                raise forms.ValidationError(f"The header with value {text[:40]!r} has no name.")
            if len(header) > HEADER_NAME_MAX or len(text) > HEADER_VALUE_MAX:
                raise forms.ValidationError(f"Header {header[:40]!r} is too long.")
            if any(c in header + text for c in "\r\n\x00"):
                raise forms.ValidationError(f"Header {header[:40]!r} has a line break or NUL.")
            if header.lower() in (seen.lower() for seen in headers):
                raise forms.ValidationError(f"Header {header!r} is given twice.")
            headers[header] = text
        return headers


class SchedulePreviewWidget(forms.Widget):
    """The next five fire times of the schedule being edited, refreshed as it changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.preview: dict[str, Any] = {}

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        context = {"preview": self.preview}
        return render_to_string("admin/integrations/flow/_trigger_preview.html", context)


class SchedulePreviewField(forms.Field):
    """Shown, never posted: the preview is computed from the schedule fields."""

    widget = SchedulePreviewWidget

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, disabled=True, **kwargs)
