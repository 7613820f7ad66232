"""One list of text-like media types: a request body the webhook edge reads as text is
exactly one a synchronous caller may get back as text (core.media_types)."""

from __future__ import annotations

import pytest

from executions.rendering import content_type_is_text_like
from triggers.webhooks.payloads import body_parse

TEXT_LIKE = [
    "text/plain",
    "text/csv",
    "application/xml",
    "application/javascript",
    "application/ecmascript",
    "application/yaml",
    "application/x-yaml",
    "application/csv",
    "application/graphql",
    "application/x-ndjson",
    "application/atom+xml",
    "application/vnd.acme+json; charset=utf-8",
]
BINARY = ["application/octet-stream", "image/png", "application/pdf", "application/zip"]


@pytest.mark.parametrize("content_type", TEXT_LIKE)
def test_a_text_like_body_is_text_on_the_way_in_and_out(content_type):
    parsed = body_parse(b'{"a": 1}\n', content_type)
    assert not isinstance(parsed, bytes)
    assert content_type_is_text_like(content_type)


@pytest.mark.parametrize("content_type", BINARY)
def test_a_binary_body_stays_bytes_and_is_not_answered_as_text(content_type):
    assert body_parse(b"\x89PNG\x00", content_type) == b"\x89PNG\x00"
    assert not content_type_is_text_like(content_type)
