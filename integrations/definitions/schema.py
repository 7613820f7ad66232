"""The shape of a definition (SPEC §2) as pydantic models.

Keys are camelCase exactly as written in YAML/JSON (the snake_case attribute names are not
accepted as input), unknown keys are errors, and values are strict: ``"5"`` is not a
number and ``"yes"`` is not a boolean, because a definition is code and a silent coercion
would hide a typo. Cross-field rules (routing, queues, triggers, references between
flows and config variables) live in ``validation.py``; ``hmac`` and ``schedule`` are plain
mappings here and checked there, so each of their forms reports its own keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from integrations.signatures import PRESETS

NAME_MAX = 200
PATH_MAX = 500

EndpointTypeName = Literal["flow_specific", "instance_specific", "shared_instance"]
EndpointSecurityName = Literal[
    "unsecured", "customer_optional", "customer_required", "organization"
]
ConfigTypeName = Literal["string", "boolean", "number", "picklist", "secret", "schedule", "json"]
QueueTypeName = Literal["parallel", "throttled", "sequential"]
PollOnDeployName = Literal["skip", "backfill"]
# The names of the registered signature presets (integrations.signatures.PRESETS), so a
# preset added there is accepted here; the type checker sees a plain string.
if TYPE_CHECKING:
    HmacPresetName = str
else:
    HmacPresetName = Literal[tuple(PRESETS)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, strict=True)


class RoutingSpec(Spec):
    flow_name_field: str | None = Field(None, min_length=1, max_length=PATH_MAX)
    external_customer_id_field: str | None = Field(None, min_length=1, max_length=PATH_MAX)


class ConfigVariableSpec(Spec):
    key: str = Field(min_length=1, max_length=NAME_MAX)
    type: ConfigTypeName = "string"
    description: str = ""
    # None means "no default"; a json variable cannot default to null.
    default: Any = None
    required: bool = False
    options: list[str] | None = None


class ResponseSpec(Spec):
    status_code: int = Field(200, ge=100, le=599)
    content_type: str = Field("", max_length=NAME_MAX)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""


class TriggerSpec(Spec):
    type: str = Field(min_length=1, max_length=NAME_MAX)
    inputs: dict[str, Any] = Field(default_factory=dict)
    synchronous: bool = False
    response: ResponseSpec | None = None
    endpoint_security: EndpointSecurityName = "customer_optional"
    hmac: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    # Polling triggers only (SPEC §8); None = not given, so another kind can be told.
    batch_size: int | None = None
    on_deploy: PollOnDeployName | None = None


class QueueSpec(Spec):
    type: QueueTypeName = "parallel"
    concurrency_limit: int | None = None
    dedupe_id_field: str | None = Field(None, min_length=1, max_length=PATH_MAX)


class RetrySpec(Spec):
    max_attempts: int = Field(0, ge=0, le=100)
    delay_seconds: int = Field(60, ge=0, le=7 * 24 * 3600)
    exponential_backoff: bool = False


class StepSpec(Spec):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    action: str = Field(min_length=1, max_length=NAME_MAX)
    inputs: dict[str, Any] = Field(default_factory=dict)


class FlowSpec(Spec):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str = ""
    trigger: TriggerSpec
    queue: QueueSpec | None = None
    singleton: bool = False
    retry: RetrySpec | None = None
    sync_timeout_seconds: float | None = Field(None, gt=0, le=3600)
    steps: list[StepSpec] = Field(default_factory=list)


class RetentionSpec(Spec):
    """How long this integration's executions are kept (docs/operations.md, Retention)."""

    days: int | None = Field(None, ge=1, le=36_500)
    store_payloads: bool = True


class DefinitionSpec(Spec):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str = ""
    endpoint_type: EndpointTypeName = "flow_specific"
    rate_limit_per_second: int | None = Field(None, ge=1, le=1_000_000)
    routing: RoutingSpec | None = None
    retention: RetentionSpec | None = None
    config_variables: list[ConfigVariableSpec] = Field(default_factory=list)
    flows: list[FlowSpec] = Field(min_length=1)


class HmacGenericSpec(Spec):
    header: str = Field(min_length=1, max_length=NAME_MAX)
    algorithm: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""


class HmacPresetSpec(Spec):
    preset: HmacPresetName
    secret: str = Field(min_length=1)
    tolerance_seconds: int | None = Field(None, ge=1, le=24 * 3600)
