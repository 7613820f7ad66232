"""The edited steps inside their whole definition, and the importer's errors placed back
on the step forms they are about.

A definition error's path (``flows[1].steps[2].inputs['Base URL']``) names the step by
its index in the list as it will be saved, so the forms are given in that order: deleted
ones left out, moved ones where they now are.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Any

from django import forms

from integrations.definitions import DefinitionError, flow_export, integration_export
from integrations.models import Flow, Step

_STEP_PATH = re.compile(r"flows\[(?P<flow>\d+)\]\.steps\[(?P<step>\d+)\](?P<rest>.*)", re.DOTALL)
_FIELD_PATH = re.compile(r"\.(?P<field>name|action|inputs)(?P<rest>(?:[.\[].*)?)", re.DOTALL)
_PLAIN_KEY = re.compile(r"\.(?P<key>[A-Za-z_][A-Za-z0-9_]*)")
_QUOTED_KEY = re.compile(r"\[(?P<key>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\]")


def definition_with_flow(*, flow: Flow, steps: Sequence[Step]) -> tuple[dict[str, Any], int]:
    """The integration's definition (secrets included, as validation needs them) with
    ``flow`` and ``steps`` in place of what is stored, and the flow's index in it."""
    definition = integration_export(integration=flow.integration, include_secrets=True)
    edited = flow_export(flow=flow, steps=list(steps), include_secrets=True)
    stored_name = (
        Flow.objects.filter(pk=flow.pk).values_list("name", flat=True).first() if flow.pk else None
    )
    flows = definition.setdefault("flows", [])
    index = next((i for i, f in enumerate(flows) if f["name"] == stored_name), None)
    if index is None:
        flows.append(edited)
        return definition, len(flows) - 1
    flows[index] = edited
    return definition, index


def input_name(path: str) -> str | None:
    """The input a path below ``inputs`` starts with: ``.url…`` or ``['Base URL']…``."""
    plain = _PLAIN_KEY.match(path)
    if plain:
        return plain.group("key")
    quoted = _QUOTED_KEY.match(path)
    if quoted:
        return str(ast.literal_eval(quoted.group("key")))
    return None


class StepErrorPlacer:
    """Puts each of a DefinitionError's messages about ``flows[flow_index].steps[j]`` on
    the j-th of ``forms``: on its name, action or inputs field (and, for one input, in the
    form's ``input_errors`` so the page shows it beside that input's own field), or on
    the form as a whole. Messages about the rest of the flow are the flow form's."""

    def __init__(self, *, forms: Sequence[forms.BaseForm], flow_index: int) -> None:
        self.forms = forms
        self.flow_index = flow_index

    def place(self, error: DefinitionError) -> None:
        for location, message in error.errors.items():
            match = _STEP_PATH.fullmatch(location)
            if match is None or int(match.group("flow")) != self.flow_index:
                continue
            index = int(match.group("step"))
            if index >= len(self.forms):
                continue
            self._place_on(self.forms[index], match.group("rest"), message)

    def _place_on(self, form: forms.BaseForm, rest: str, message: str) -> None:
        field_match = _FIELD_PATH.fullmatch(rest)
        if field_match is None:
            form.add_error(None, f"{rest.lstrip('.') or 'step'}: {message}")
            return
        field, below = field_match.group("field"), field_match.group("rest")
        if field == "inputs" and below:
            name = input_name(below)
            if name is not None and hasattr(form, "input_errors"):
                known = form.input_errors.get(name)
                form.input_errors[name] = f"{known} {message}" if known else message
            form.add_error("inputs", f"inputs{below}: {message}")
            return
        form.add_error(field, message)
