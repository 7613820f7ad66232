"""The management API's JSON parser: DRF's, with one more refusal. Python's JSON decoder
raises ``RecursionError`` on deeply nested input (≈ 1,000 levels), which DRF does not
turn into a parse error, so a body of ``[[[[…`` answered 500."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
