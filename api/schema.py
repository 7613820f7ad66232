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


# What each operation does, in words, so /api/docs/ reads as a manual; the tag groups it by
# the object it is about. Keyed by drf-spectacular's operationId; an operation missing here
# keeps a summary from its view's extend_schema (tests/api/test_schema_conformance.py
# checks that every operation has one).
OPERATION_SUMMARIES = {
    "schema_retrieve": "This OpenAPI schema",
    "v1_integrations_list": "List integrations (every version)",
    "v1_integrations_retrieve": "An integration version: flows, config variables, definition",
    "v1_integrations_import_create": "Import a definition as a new version (staff)",
    "v1_customers_list": "List customers",
    "v1_customers_create": "Create a customer (staff)",
    "v1_customers_retrieve": "A customer",
    "v1_customers_users_create": "Create a user of this customer (staff)",
    "v1_instances_list": "List instances",
    "v1_instances_create": "Create an instance (not deployed yet)",
    "v1_instances_retrieve": "An instance: webhook URLs, API keys, schedules, next runs",
    "v1_instances_partial_update": "Change an instance's name or config values",
    "v1_instances_destroy": "Remove an instance (runs its remove flows)",
    "v1_instances_deploy_create": "Deploy or redeploy onto the newest version",
    "v1_instances_pause_create": "Pause: webhooks answer 404, schedules stop",
    "v1_instances_enable_create": "Enable a paused instance",
    "v1_instances_cancel_queued_create": "Cancel the instance's queued executions",
    "v1_instances_flows_api_keys_create": "Add an API key to a flow",
    "v1_instances_flows_api_keys_destroy": "Revoke a flow's API key",
    "v1_executions_list": "List executions, newest first",
    "v1_executions_retrieve": "An execution: status, attempts, steps, logs",
    "v1_executions_result_retrieve": "The execution's final result, as a sync caller gets it",
    "v1_executions_steps_result_retrieve": "One step's result",
    "v1_executions_cancel_create": "Cancel a queued execution",
    "v1_executions_replay_create": "Replay an execution with the same trigger payload",
}

TAGS = {
    "/api/v1/integrations/": "Integrations",
    "/api/v1/customers/": "Customers",
    "/api/v1/instances/": "Instances",
    "/api/v1/executions/": "Executions",
    "/api/v1/alert-monitors/": "Alerts",
    "/api/v1/alert-events/": "Alerts",
    "/api/schema/": "Schema",
}


def summaries_and_tags_add(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: a summary and a tag on every operation."""
    for path, operations in result.get("paths", {}).items():
        tag = next((name for prefix, name in TAGS.items() if path.startswith(prefix)), None)
        for operation in operations.values():
            summary = OPERATION_SUMMARIES.get(operation.get("operationId", ""))
            if summary and not operation.get("summary"):
                operation["summary"] = summary
            if tag:
                operation["tags"] = [tag]
    return result


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
    # Registered once in settings (POSTPROCESSING_HOOKS); the summaries ride along.
    return summaries_and_tags_add(result, generator, request, public)
