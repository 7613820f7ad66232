"""What the trigger editor's fields offer and where the importer's errors land on them."""

from __future__ import annotations

import hashlib
from typing import Any

from integrations.definitions.validation import hmac_algorithm_usable
from integrations.models import ConfigVariable
from integrations.trigger_kinds import TriggerKind

# Where a definition error path lands on the flow form (first match wins).
PATH_FIELDS = (
    ("trigger.schedule.cron", "schedule_cron"),
    ("trigger.schedule.timeZone", "schedule_time_zone"),
    ("trigger.schedule.every", "schedule_every"),
    ("trigger.schedule.unit", "schedule_unit"),
    ("trigger.schedule.configVar", "schedule_config_var"),
    ("trigger.schedule", "schedule_form"),
    ("trigger.hmac.preset", "hmac_preset"),
    ("trigger.hmac.header", "hmac_header"),
    ("trigger.hmac.algorithm", "hmac_algorithm"),
    ("trigger.hmac.encoding", "hmac_encoding"),
    ("trigger.hmac.prefix", "hmac_prefix"),
    ("trigger.hmac.secret", "hmac_secret_source"),
    ("trigger.hmac.toleranceSeconds", "hmac_tolerance_seconds"),
    ("trigger.hmac", "hmac_preset"),
    ("trigger.response.statusCode", "response_status_code"),
    ("trigger.response.contentType", "response_content_type"),
    ("trigger.response.headers", "response_headers"),
    ("trigger.response", "response_status_code"),
    ("trigger.inputs", "trigger_inputs"),
    ("trigger.synchronous", "synchronous"),
    ("trigger.endpointSecurity", "endpoint_security"),
    ("trigger.batchSize", "poll_batch_size"),
    ("trigger.onDeploy", "poll_on_deploy"),
    ("trigger.type", "trigger_type"),
    ("trigger", "trigger_type"),
    ("queue.concurrencyLimit", "queue_concurrency_limit"),
    ("queue.dedupeIdField", "queue_dedupe_id_field"),
    ("queue", "queue_type"),
    ("retry.maxAttempts", "retry_max_attempts"),
    ("retry.delaySeconds", "retry_delay_seconds"),
    ("retry", "retry_max_attempts"),
    ("syncTimeoutSeconds", "sync_timeout_seconds"),
    ("singleton", "singleton"),
    ("name", "name"),
)


def hmac_algorithm_choices() -> list[tuple[str, str]]:
    names = sorted(name for name in hashlib.algorithms_available if hmac_algorithm_usable(name))
    return [(name, name) for name in names]


def kind_choices(kinds: list[TriggerKind], current: str) -> list[Any]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for kind in kinds:
        groups.setdefault(kind.group, []).append((kind.key, kind.label))
    choices: list[Any] = list(groups.items())
    if current and all(kind.key != current for kind in kinds):
        choices.append(("Not registered", [(current, f"{current} (not registered)")]))
    return choices


def variable_choices(variables: list[ConfigVariable], *, prefix: str = "") -> list[Any]:
    """Choices grouped by integration, so the add page (integration not chosen yet) offers
    each integration's variables under its name; the page shows the chosen one's."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for variable in variables:
        label = f"{variable.key} ({variable.type})"
        groups.setdefault(str(variable.integration), []).append((prefix + variable.key, label))
    return list(groups.items())
