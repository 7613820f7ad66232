"""Reference templates in step inputs: ``{{ trigger.body.data.id }}`` and friends (SPEC §2).

A template is resolved against a *scope*, a dict with the roots a reference may start at
(``trigger``, ``configVars``, ``steps``, ``instance``, ``customer``, ``integration``,
``flow``, ``execution``, ``state``). Expressions are paths, parsed by a small tokenizer; nothing is
ever evaluated, so a definition cannot run code on the worker.

Grammar (whitespace allowed only around the whole expression)::

    reference := root segment*
    segment   := "." name | "." digits | "[" digits "]" | "[" quoted "]"
    name      := any characters except . [ ] ' " and whitespace   (so ``x-acme-flow`` works)
    quoted    := '...' or "..." with backslash escaping the quote or a backslash

Types: an input that is exactly one reference (``"{{ steps['Fetch'].data }}"``, nothing
around the braces) keeps the referenced value as it is — object, list, bytes, number.
A reference inside a longer string becomes text: strings as they are, objects and lists
as compact JSON, ``true``/``false``, ``null`` as the empty string, and bytes decoded as
UTF-8 with invalid sequences replaced by U+FFFD (text is what a caller asked for; base64
would surprise anyone building a message from a text body).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core import codec

ROOTS = (
    "trigger",
    "configVars",
    "steps",
    "instance",
    "customer",
    "integration",
    "flow",
    "execution",
    "state",
    # Polling trigger inputs only: ``poll.cursor``, where the last poll left off.
    "poll",
)

_NAME_STOP = set(".[]'\"") | {" ", "\t", "\n", "\r"}
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class TemplateError(Exception):
    """A reference could not be used. The message is meant for the person who wrote it."""


class ReferenceSyntaxError(TemplateError):
    """The expression is not a valid path (bad characters, unclosed bracket, unknown root)."""


class ReferenceResolutionError(TemplateError):
    """The path is valid but leads nowhere in this run's data."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Reference '{path}' not found: {reason}")


@dataclass(frozen=True)
class Segment:
    """One step along a path: a key (``.name``, ``['name']``) or a list index (``[0]``).

    ``.0`` is parsed as a key that looks like a number: it indexes a list and looks up the
    key ``"0"`` in an object, so both spellings work on lists as SPEC §2 asks.
    """

    key: str | int
    quoted: bool = False

    def render(self) -> str:
        if isinstance(self.key, int):
            return f"[{self.key}]"
        if self.quoted:
            return "[" + _quote(self.key) + "]"
        return f".{self.key}"


@dataclass(frozen=True)
class Reference:
    text: str
    root: str
    segments: tuple[Segment, ...]


def _quote(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def config_var_reference(key: str) -> str:
    """The template naming config variable ``key``: ``{{ configVars['Signing Secret'] }}``."""
    return "{{ configVars[" + _quote(key) + "] }}"


def config_var_referenced(template: str) -> str | None:
    """The key when ``template`` is exactly one config variable reference, else None."""
    match = _TEMPLATE.fullmatch(template.strip())
    if match is None:
        return None
    try:
        reference = parse_reference(match[1])
    except ReferenceSyntaxError:
        return None
    if reference.root != "configVars" or len(reference.segments) != 1:
        return None
    key = reference.segments[0].key
    return key if isinstance(key, str) else None


def parse_reference(expression: str) -> Reference:
    """Parse ``configVars['Base URL']``-style text into a root and segments."""
    text = expression.strip()
    if not text:
        raise ReferenceSyntaxError("Empty reference '{{ }}': expected a path like trigger.body")
    position = 0

    def fail(message: str) -> ReferenceSyntaxError:
        return ReferenceSyntaxError(
            f"Invalid reference '{text}' at character {position + 1}: {message}"
        )

    def read_name() -> str:
        nonlocal position
        start = position
        while position < len(text) and text[position] not in _NAME_STOP:
            position += 1
        return text[start:position]

    root = read_name()
    if not root:
        raise fail("expected a name")
    if root not in ROOTS:
        expected = ", ".join(ROOTS)
        raise ReferenceSyntaxError(
            f"Invalid reference '{text}': unknown root '{root}' (expected one of {expected})"
        )
    segments: list[Segment] = []
    while position < len(text):
        char = text[position]
        if char == ".":
            position += 1
            name = read_name()
            if not name:
                raise fail("expected a name after '.'")
            segments.append(Segment(name))
        elif char == "[":
            position += 1
            if position < len(text) and text[position] in "'\"":
                quote = text[position]
                position += 1
                chars: list[str] = []
                while True:
                    if position >= len(text):
                        raise fail(f"unclosed quote {quote}")
                    current = text[position]
                    if current == "\\" and position + 1 < len(text):
                        chars.append(text[position + 1])
                        position += 2
                        continue
                    position += 1
                    if current == quote:
                        break
                    chars.append(current)
                segments.append(Segment("".join(chars), quoted=True))
            else:
                start = position
                while position < len(text) and text[position].isdigit():
                    position += 1
                if start == position:
                    raise fail("expected a list index or a quoted name after '['")
                segments.append(Segment(int(text[start:position])))
            if position >= len(text) or text[position] != "]":
                raise fail("expected ']'")
            position += 1
        else:
            raise fail(f"unexpected {char!r}")
    return Reference(text=text, root=root, segments=tuple(segments))


def value_kind_describe(value: Any) -> str:
    """A JSON value's kind in words, for error messages: "null", "a number", "text" …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def lookup(reference: Reference, scope: Mapping[str, Any]) -> Any:
    """Follow a parsed reference through ``scope``; raise ReferenceResolutionError naming
    the path and the first segment that did not exist."""
    if reference.root not in scope:
        raise ReferenceResolutionError(reference.text, f"'{reference.root}' is not available here")
    value = scope[reference.root]
    for segment in reference.segments:
        key = segment.key
        if isinstance(value, Mapping):
            name = str(key)
            if name not in value:
                raise ReferenceResolutionError(reference.text, f"no key {_quote(name)}")
            value = value[name]
        elif isinstance(value, list | tuple):
            if isinstance(key, str) and not key.isdigit():
                raise ReferenceResolutionError(
                    reference.text, f"{_quote(key)} used on a list (use an index like [0])"
                )
            index = int(key)
            if index >= len(value):
                raise ReferenceResolutionError(
                    reference.text, f"index {index} out of range (the list has {len(value)} items)"
                )
            value = value[index]
        else:
            raise ReferenceResolutionError(
                reference.text,
                f"cannot read {segment.render().lstrip('.')} of {value_kind_describe(value)}",
            )
    return value


def to_text(value: Any) -> str:
    """How a referenced value reads inside a longer string (see the module docstring)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, int | float):
        return json.dumps(value)
    return codec.dumps(value)


def _resolve_string(template: str, scope: Mapping[str, Any]) -> Any:
    matches = list(_TEMPLATE.finditer(template))
    if not matches:
        if "{{" in template:
            raise ReferenceSyntaxError(f"Unclosed reference in {template!r}: expected '}}}}'")
        return template
    whole = matches[0]
    if len(matches) == 1 and whole.start() == 0 and whole.end() == len(template):
        return lookup(parse_reference(whole.group(1)), scope)
    parts: list[str] = []
    cursor = 0
    for match in matches:
        literal = template[cursor : match.start()]
        if "{{" in literal:
            raise ReferenceSyntaxError(f"Unclosed reference in {template!r}: expected '}}}}'")
        parts.append(literal)
        parts.append(to_text(lookup(parse_reference(match.group(1)), scope)))
        cursor = match.end()
    tail = template[cursor:]
    if "{{" in tail:
        raise ReferenceSyntaxError(f"Unclosed reference in {template!r}: expected '}}}}'")
    parts.append(tail)
    return "".join(parts)


def resolve_inputs(inputs: Any, scope: Mapping[str, Any]) -> Any:
    """Resolve every template in ``inputs`` (recursively through dicts and lists).

    Dict keys are left as written; only values are templates.
    """
    if isinstance(inputs, str):
        return _resolve_string(inputs, scope)
    if isinstance(inputs, Mapping):
        return {key: resolve_inputs(value, scope) for key, value in inputs.items()}
    if isinstance(inputs, list | tuple):
        return [resolve_inputs(item, scope) for item in inputs]
    return inputs


def template_references(inputs: Any) -> list[Reference]:
    """Every reference in ``inputs``, parsed, without resolving anything.

    For import-time validation: raises ReferenceSyntaxError on the first malformed one, and
    lets a caller check, e.g., that ``steps['X']`` names an earlier step.
    """
    found: list[Reference] = []
    if isinstance(inputs, str):
        cursor = 0
        for match in _TEMPLATE.finditer(inputs):
            if "{{" in inputs[cursor : match.start()]:
                raise ReferenceSyntaxError(f"Unclosed reference in {inputs!r}: expected '}}}}'")
            found.append(parse_reference(match.group(1)))
            cursor = match.end()
        if "{{" in inputs[cursor:]:
            raise ReferenceSyntaxError(f"Unclosed reference in {inputs!r}: expected '}}}}'")
    elif isinstance(inputs, Mapping):
        for value in inputs.values():
            found.extend(template_references(value))
    elif isinstance(inputs, list | tuple):
        for item in inputs:
            found.extend(template_references(item))
    return found
