"""A model field for payloads and step results."""

from __future__ import annotations

from typing import Any

from django.db import models

from core import codec


class PayloadField(models.TextField):
    """JSON that may carry bytes, stored as text (``core.codec``).

    Not ``JSONField``: PostgreSQL's jsonb rejects the NUL character (``\\u0000``), which
    any caller can put in a JSON string, header or path, and a 500 on user input is a bug.
    As text, ``\\u0000`` is six harmless characters. Payloads are never queried into, so
    jsonb's operators are not missed, and inserting text skips jsonb's parse on the hot path.

    Loading never raises: text the codec cannot read (corrupt, or written by a release
    whose encoding a sender could imitate) loads as ``codec.UndecodablePayload``, so a
    list or page showing the row still answers and can say what is wrong; saving it
    writes the same text back.
    """

    # For the type checker (django-stubs reads these): the attribute holds any JSON value,
    # or an UndecodablePayload, not the text it is stored as.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else codec.payload_decode_or_undecodable(value)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, codec.UndecodablePayload):
            return value.text
        return codec.payload_encode(value)

    def value_to_string(self, obj: models.Model) -> str:
        return self.get_prep_value(self.value_from_object(obj)) or "null"
