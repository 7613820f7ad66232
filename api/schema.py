"""OpenAPI schema additions: every operation documents the error bodies it can answer."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "What went wrong, in words."},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Per input path, what is wrong with it (input errors only).",
        },
    },
    "required": ["error"],
}

ERROR_RESPONSES = {
    "400": "Invalid input; `fields` names each problem.",
    "401": "No valid `Authorization: Bearer <token>`.",
    "403": "Only organization staff may do this.",
    "404": "No such object, or another tenant's.",
}


def error_responses_add(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the shared error shape to every API
    operation (SPEC §5: errors are `{"error", "fields"?}`)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_RESPONSES.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result
