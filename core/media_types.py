"""Which media types are JSON and which are text: one list for every surface.

The webhook edge reads a request body of a text-like type as text (triggers.webhooks.
payloads, docs/webhooks.md); a synchronous caller may get a result of a text-like type in
the answer's body (docs/synchronous.md). Both ask ``media_type_is_text_like``.

Functions take a bare media type, lowercased, without parameters (``parse_header_parameters``
gives one); ``content_type_media_type`` makes one of a ``Content-Type`` value.
"""

from __future__ import annotations

# Types whose bodies are text although they are not ``text/*``.
TEXT_LIKE_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/x-www-form-urlencoded",
        "application/yaml",
        "application/x-yaml",
        "application/csv",
        "application/graphql",
        "application/x-ndjson",
    }
)


def content_type_media_type(content_type: str) -> str:
    """``text/plain`` of ``Text/Plain; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def media_type_is_json(media_type: str) -> bool:
    """``application/json`` and the ``application/*+json`` family."""
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def media_type_is_text_like(media_type: str) -> bool:
    """JSON, text, XML and their relatives."""
    return (
        media_type.startswith("text/")
        or media_type in TEXT_LIKE_TYPES
        or media_type.endswith("+json")
        or media_type.endswith("+xml")
    )
