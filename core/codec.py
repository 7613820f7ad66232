"""JSON that carries bytes, and JSON for answers.

Trigger payloads and step results hold bytes (raw bodies, binary uploads, files fetched by
``http.request``). JSON has no bytes type, so ``payload_encode`` stores bytes as a one-key
object ``{"__triggerfish_bytes__": "<base64>"}`` and ``payload_decode`` turns it back into
bytes. Senders write arbitrary JSON, so the tag alone could be imitated: a caller's
``{"__triggerfish_bytes__": "!!!"}`` would read back as broken bytes. So every object key
of the form ``"_" * n + BYTES_TAG`` (n ≥ 0) a value holds is written with one underscore
more, and read back with one fewer. That is a bijection on keys, so the only object with
the key ``BYTES_TAG`` in stored text is one the encoder wrote for bytes, and every JSON
value round-trips exactly, whatever keys it holds (docs/runner.md, "Result storage").

Both directions are on the hot path (every accepted request, every step result), so the
escaping costs nothing unless it is needed: the encoder counts the bytes objects it
emits, and only when the text holds the tag more often than that (a key or string of the
sender's contains it) walks the value to escape keys; the decoder parses with plain
``json.loads`` when the text does not contain the tag at all.

``answer_json`` is the other direction out: JSON a caller or a person reads, strict RFC
8259 (non-finite floats become null) with bytes as base64 strings; nothing reads it back.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

BYTES_TAG = "__triggerfish_bytes__"
# Keys the escaping applies to: BYTES_TAG with any number of extra leading underscores.
# BYTES_TAG itself starts with two, so these are two or more underscores and the rest.
_TAG_LIKE_KEY = re.compile(r"_{2,}triggerfish_bytes__")
_TAG_NAME = BYTES_TAG.lstrip("_")
_ESCAPED_TAG = "_" + BYTES_TAG


class PayloadDecodeError(ValueError):
    """Stored text that is not what ``payload_encode`` writes (corrupt, or written by an
    older release that let a sender's object pass for bytes)."""


class UndecodablePayload:
    """A stored payload or result that cannot be decoded, kept as its raw text.

    What ``PayloadField`` loads instead of raising, so one bad row never takes down a page
    or a list that shows it: surfaces test for it and say what is wrong (``error``), and
    saving the row writes ``text`` back unchanged."""

    __slots__ = ("error", "text")

    def __init__(self, *, text: str, error: str) -> None:
        self.text = text
        self.error = error

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, UndecodablePayload)
            and other.text == self.text
            and other.error == self.error
        )

    def __hash__(self) -> int:
        return hash((self.text, self.error))

    def __repr__(self) -> str:
        return f"UndecodablePayload(error={self.error!r}, text={self.text[:80]!r})"

    @property
    def message(self) -> str:
        return f"The stored value cannot be read: {self.error}"


def unreadable_message(value: Any) -> str | None:
    """What is wrong with a loaded payload or result, or None when it was read."""
    return value.message if isinstance(value, UndecodablePayload) else None


class _PayloadEncoder(DjangoJSONEncoder):
    """Bytes as the tagged object, counting how many it wrote (see ``payload_encode``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bytes_written = 0

    def default(self, o: Any) -> Any:
        if isinstance(o, bytes | bytearray | memoryview):
            self.bytes_written += 1
            return {BYTES_TAG: base64.b64encode(bytes(o)).decode("ascii")}
        return super().default(o)


def _escape_keys(value: Any) -> Any:
    """``value`` with every key like ``"_" * n + BYTES_TAG`` given one underscore more."""
    if isinstance(value, dict):
        return {
            ("_" + key if isinstance(key, str) and _TAG_LIKE_KEY.fullmatch(key) else key): (
                _escape_keys(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_escape_keys(item) for item in value]
    return value


def _encode(value: Any) -> tuple[str, int]:
    encoder = _PayloadEncoder(separators=(",", ":"))
    return encoder.encode(value), encoder.bytes_written


def payload_encode(value: Any) -> str:
    """The stored text of a payload or result. Raises TypeError for values JSON cannot
    carry (a set, an open file)."""
    text, bytes_written = _encode(value)
    # Each bytes object puts the tag in the text once; base64 has no underscore, and an
    # occurrence cannot span two JSON strings (the tag has no quote), so more occurrences
    # mean a key or string of the value's own holds it: only then can a key need escaping.
    if text.count(BYTES_TAG) > bytes_written:
        text, _ = _encode(_escape_keys(value))
    return text


def _restore_bytes(obj: dict) -> Any:
    if BYTES_TAG not in obj:
        return obj
    encoded = obj[BYTES_TAG]
    if len(obj) != 1:
        raise PayloadDecodeError("A bytes object has keys besides the bytes tag.")
    if not isinstance(encoded, str):
        raise PayloadDecodeError(f"The bytes object holds {type(encoded).__name__}, not text.")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise PayloadDecodeError(f"The bytes object holds invalid base64: {error}.") from None


def _restore_bytes_and_keys(obj: dict) -> Any:
    restored = _restore_bytes(obj)
    if restored is not obj or not any(_TAG_NAME in key for key in obj):
        return restored
    return {(key[1:] if _TAG_LIKE_KEY.fullmatch(key) else key): item for key, item in obj.items()}


def payload_decode(text: str | bytes) -> Any:
    """The value ``payload_encode`` wrote; raises PayloadDecodeError (a ValueError) for
    text it cannot have written."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        if BYTES_TAG not in text:
            return json.loads(text)
        # Escaped keys hold the tag after one more underscore; only text that has one
        # pays for looking at every key.
        hook = _restore_bytes_and_keys if _ESCAPED_TAG in text else _restore_bytes
        return json.loads(text, object_hook=hook)
    except PayloadDecodeError:
        raise
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError
        raise PayloadDecodeError(f"The stored text is not JSON: {error}.") from None


def payload_decode_or_undecodable(text: str | bytes) -> Any:
    """``payload_decode``, or an ``UndecodablePayload`` holding the text and the reason."""
    try:
        return payload_decode(text)
    except PayloadDecodeError as error:
        raw = text if isinstance(text, str) else text.decode("utf-8", errors="replace")
        return UndecodablePayload(text=raw, error=str(error))


def dumps(value: Any) -> str:
    """Compact JSON text of a value with bytes as the tagged object, not escaped: how a
    referenced object reads inside a template and what ``http.request`` sends as a JSON
    body. Never stored; ``payload_encode`` is the stored form."""
    return json.dumps(value, cls=_PayloadEncoder, separators=(",", ":"))


# -- JSON answers ------------------------------------------------------------------------


class _AnswerEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, bytes | bytearray | memoryview):
            return base64.b64encode(bytes(o)).decode("ascii")
        return super().default(o)


def _finite(value: Any) -> Any:
    """``value`` with NaN and the infinities as None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def answer_json(value: Any) -> bytes:
    """Strict JSON (RFC 8259) of a result, as answered to a caller: bytes as base64
    strings, NaN and ±Infinity as null. ASCII with escapes, so a lone surrogate in a
    string is an escape, not invalid UTF-8."""
    try:
        text = json.dumps(value, cls=_AnswerEncoder, allow_nan=False)
    except ValueError:
        # A non-finite float somewhere; the common case pays no walk.
        text = json.dumps(_finite(value), cls=_AnswerEncoder, allow_nan=False)
    return text.encode("ascii")
