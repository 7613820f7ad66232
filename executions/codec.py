"""JSON that carries bytes.

Trigger payloads and step results hold bytes (raw bodies, binary uploads, files fetched by
``http.request``). JSON has no bytes type, so bytes are stored as a one-key object tagged
with a name no user payload is expected to use, and turned back into bytes on load.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

BYTES_TAG = "__triggerfish_bytes__"


class PayloadEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, bytes | bytearray | memoryview):
            return {BYTES_TAG: base64.b64encode(bytes(o)).decode("ascii")}
        return super().default(o)


def _restore_bytes(obj: dict) -> Any:
    if len(obj) == 1 and BYTES_TAG in obj:
        return base64.b64decode(obj[BYTES_TAG])
    return obj


class PayloadDecoder(json.JSONDecoder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["object_hook"] = _restore_bytes
        super().__init__(*args, **kwargs)


def dumps(value: Any) -> str:
    return json.dumps(value, cls=PayloadEncoder, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return json.loads(text, cls=PayloadDecoder)
