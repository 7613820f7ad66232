"""Built-in component: text."""

from __future__ import annotations

from integrations.components.context import ActionContext, StepError
from integrations.components.registry import Component, Input

text = Component("text", name="Text", description="Work with strings.")


@text.action(
    "split",
    inputs=[
        Input("text", "string", required=True),
        Input("separator", "string", required=True, description="Split on every occurrence."),
    ],
    description="Split text on a separator into a list of strings.",
)
def split(context: ActionContext, *, text: str, separator: str) -> list[str]:
    if separator == "":
        raise StepError("Input 'separator' must not be empty")
    return text.split(separator)
