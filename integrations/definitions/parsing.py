"""Definition text in and out: YAML (which also reads JSON) or JSON."""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml

from integrations.definitions.errors import DefinitionError


class _DefinitionLoader(yaml.SafeLoader):
    """SafeLoader minus two surprises: an unquoted ``2026-03-08`` stays text instead of
    becoming a date (which no JSON column can hold), and a key written twice in one
    mapping is an error instead of silently keeping the last value."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_DefinitionLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


NESTED_TOO_DEEPLY = "Nested too deeply to read."


def definition_parse(*, text: str | bytes, content_type: str | None = None) -> Any:
    """Parse definition text. JSON when the content type says so, else YAML (a superset
    that reads JSON too). Syntax errors become DefinitionError at path ``definition``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise DefinitionError({"definition": f"Not UTF-8 text: {error}."}) from error
    if content_type and "json" in content_type.lower():
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise DefinitionError(
                {
                    "definition": f"Not valid JSON: {error.msg} (line {error.lineno}, "
                    f"column {error.colno})."
                }
            ) from error
        except RecursionError:  # the decoder's own recursion, on ≈ 1,000 levels of nesting
            raise DefinitionError({"definition": NESTED_TOO_DEEPLY}) from None
    try:
        return yaml.load(text, Loader=_DefinitionLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise DefinitionError({"definition": f"Not valid YAML: {error}"}) from error
    except RecursionError:  # the loader builds nested nodes recursively
        raise DefinitionError({"definition": NESTED_TOO_DEEPLY}) from None


def definition_dump(definition: dict, *, fmt: Literal["yaml", "json"] = "yaml") -> str:
    """Definition text in the order the keys were built (the export's reading order)."""
    if fmt == "json":
        return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(
            definition, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
        )
    raise ValueError(f"Unknown format {fmt!r}; use yaml or json.")
