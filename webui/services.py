"""What the wizard does and shows, on top of the instance and execution services.

Saving goes through ``instances.services`` (the same checks as the API and the admin);
what an instance page shows comes from the read the API and the admin share
(``instances.selectors``: webhook URLs, keys, schedules and next runs), so the surfaces
cannot disagree. The execution history, filtered and paged: ``webui.history``.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from core.codec import UndecodablePayload
from executions.models import Execution, StepResult
from executions.results import step_result_load
from instances.endpoints import instance_webhook_context
from instances.lifecycle import instance_deploy
from instances.models import Customer, Instance, api_key_masked
from instances.selectors import instance_flow_details
from instances.services import instance_create, instance_update
from integrations.models import Integration, TriggerType
from integrations.schedule_preview import fire_time_display
from integrations.schedules import ScheduleError, schedule_describe, schedule_time_zone

RESULT_PREVIEW_CHARACTERS = 20_000


@transaction.atomic
def wizard_save(
    *,
    integration: Integration,
    customer: Customer,
    instance: Instance | None,
    name: str,
    config_values: dict[str, Any],
    deploy: bool,
) -> Instance:
    """Create or update an instance from the wizard, and deploy it if asked. As through the
    API, values saved for a deployed instance are staged until its next deploy. All or
    nothing: a deploy that fails leaves the instance as it was (``ConfigValueError`` or
    ``InstanceStateError`` for the caller to show)."""
    if instance is None:
        instance = instance_create(
            integration=integration, customer=customer, name=name, config_values=config_values
        )
    else:
        instance = instance_update(instance=instance, name=name, config_values=config_values)
    if deploy:
        instance_deploy(instance=instance)
        instance.refresh_from_db()
    return instance


SAMPLE_BODY = '{"hello": "world"}'
# Who signs a preset's requests, and in which header (triggers/signatures.py).
SIGNATURE_PRESET_SENDERS = {
    "stripe": ("Stripe", "Stripe-Signature"),
    "github": ("GitHub", "X-Hub-Signature-256"),
    "shopify": ("Shopify", "X-Shopify-Hmac-Sha256"),
    "slack": ("Slack", "X-Slack-Signature"),
    "standard_webhooks": ("the sender (Standard Webhooks)", "webhook-signature"),
}
CONFIG_VAR_REFERENCE = re.compile(r"configVars\[\s*(['\"])(?P<key>.+?)\1\s*\]")


def openssl_digest_name(algorithm: str) -> str:
    """hashlib's name of an HMAC algorithm as ``openssl dgst`` spells it."""
    return {"blake2b": "blake2b512", "blake2s": "blake2s256"}.get(
        algorithm, algorithm.replace("_", "-")
    )


def signing_secret_name(hmac_settings: dict[str, Any]) -> str:
    """What the user knows the signing secret as: the config variable the flow's secret
    refers to, or the secret the vendor set (never its value)."""
    match = CONFIG_VAR_REFERENCE.search(str(hmac_settings.get("secret") or ""))
    if match:
        return f"your {match.group('key')} setting"
    return "the signing secret your vendor gave you"


def curl_command(
    url: str, *, api_key: str | None, hmac_settings: dict[str, Any] | None = None
) -> str:
    """A ready-to-run request: a JSON POST to the webhook URL (with its key, if any). For a
    generic ``hmac_webhook`` scheme, a shell snippet that signs the exact body first, with
    the flow's header, algorithm, encoding and prefix; the secret is a placeholder to fill
    in. Presets are signed by their sender: no command (see ``signature_note``)."""
    if hmac_settings and "preset" in hmac_settings:
        return ""
    headers = ["-H", "'Content-Type: application/json'"]
    if api_key:
        headers += ["-H", shlex.quote(f"Api-Key: {api_key}")]
    if not hmac_settings:
        parts = ["curl", "-X", "POST", shlex.quote(url), *headers]
        return " ".join([*parts, "-d", shlex.quote(SAMPLE_BODY)])
    digest = openssl_digest_name(hmac_settings["algorithm"])
    encode = (
        "-binary | openssl base64 -A"
        if hmac_settings.get("encoding") == "base64"
        else "| awk '{print $NF}'"
    )
    header = f"{hmac_settings['header']}: {hmac_settings.get('prefix') or ''}"
    placeholder = f"<{signing_secret_name(hmac_settings)}>"
    return "\n".join(
        [
            f"SECRET={shlex.quote(placeholder)}",
            f"BODY={shlex.quote(SAMPLE_BODY)}",
            f'SIGNATURE=$(printf \'%s\' "$BODY" | openssl dgst -{digest} -hmac "$SECRET" {encode})',
            " ".join(
                [
                    "curl -X POST",
                    shlex.quote(url),
                    *headers,
                    "-H",
                    shlex.quote(header) + '"$SIGNATURE"',
                    '--data-binary "$BODY"',
                ]
            ),
        ]
    )


def signature_note(hmac_settings: dict[str, Any] | None) -> str:
    """How a signed flow's requests must be signed, in a sentence for the page."""
    if not hmac_settings:
        return ""
    preset = hmac_settings.get("preset")
    if preset:
        sender, header = SIGNATURE_PRESET_SENDERS.get(preset, ("the sender", "its signature"))
        return (
            f"Requests to this URL are signed by {sender} (the {header} header): send a "
            f"test event from {sender}'s side. An unsigned request is refused (401)."
        )
    encoding = "base64" if hmac_settings.get("encoding") == "base64" else "hex"
    prefix = hmac_settings.get("prefix") or ""
    prefixed = f", prefixed with {prefix!r}" if prefix else ""
    return (
        f"Signed requests only: HMAC-{hmac_settings['algorithm'].upper()} of the exact body "
        f"with {signing_secret_name(hmac_settings)}, {encoding}, in the "
        f"{hmac_settings['header']} header{prefixed}. Put the secret in SECRET before "
        "running; an unsigned request is refused (401)."
    )


@dataclass
class FlowView:
    name: str
    trigger_type: str
    webhook_url: str | None
    api_key_masks: list[str] = field(default_factory=list)
    curl_masked: str = ""
    signature_note: str = ""
    schedule_description: str = ""
    next_runs: list[str] = field(default_factory=list)


def instance_flows(instance: Instance) -> list[FlowView]:
    """Each flow with its webhook URL, masked API keys, a curl command (key masked: the
    page reveals the key on request) and, for schedules, the next five fire times."""
    flows = []
    signing = flow_signing_settings(instance)
    details, _ = instance_flow_details(instance)
    for detail in details:
        keys = detail.api_keys
        view = FlowView(
            name=detail.name,
            trigger_type=detail.trigger_type,
            webhook_url=detail.webhook_url,
            api_key_masks=[api_key_masked(key) for key in keys],
            signature_note=signature_note(signing.get(detail.name)),
        )
        if view.webhook_url:
            view.curl_masked = curl_command(
                view.webhook_url,
                api_key=api_key_masked(keys[0]) if keys else None,
                hmac_settings=signing.get(detail.name),
            )
        if detail.schedule:
            try:
                view.schedule_description = schedule_describe(detail.schedule)
            except ScheduleError:
                view.schedule_description = "The schedule is not valid."
            # Shown in the schedule's own zone so the abbreviation (CST/CDT) reads as the
            # user wrote the schedule.
            zone = schedule_time_zone(detail.schedule)
            view.next_runs = [fire_time_display(at.astimezone(zone)) for at in detail.next_runs]
        flows.append(view)
    return flows


def flow_signing_settings(instance: Instance) -> dict[str, dict[str, Any]]:
    """Each ``hmac_webhook`` flow's stored signature settings by flow name. Only the
    scheme is read from them (header, algorithm, encoding, prefix, preset, which setting
    holds the secret): a literal secret stays sealed."""
    return {
        flow.name: flow.hmac
        for flow in instance.integration.flows.all()
        if flow.trigger_type == TriggerType.HMAC_WEBHOOK and flow.hmac
    }


def instance_flow_secrets(instance: Instance, flow_name: str) -> dict[str, Any]:
    """The real keys of one flow and the curl command with the first of them — sent only
    when the user asks to reveal them."""
    if not instance.is_deployed:
        return {"keys": [], "curl": ""}
    context = instance_webhook_context(instance)
    keys = context["webhookApiKeys"].get(flow_name, [])
    url = context["webhookUrls"].get(flow_name)
    return {
        "keys": keys,
        "curl": curl_command(
            url,
            api_key=keys[0] if keys else None,
            hmac_settings=flow_signing_settings(instance).get(flow_name),
        )
        if url
        else "",
    }


def _preview_text(value: Any) -> str:
    if isinstance(value, UndecodablePayload):
        return value.message
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    try:
        text = json.dumps(
            value,
            indent=2,
            ensure_ascii=False,
            default=lambda o: f"<{len(o)} bytes>" if isinstance(o, bytes | bytearray) else str(o),
        )
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > RESULT_PREVIEW_CHARACTERS:
        return text[:RESULT_PREVIEW_CHARACTERS] + "\n… (cut short; the API has the whole result)"
    return text


@dataclass
class StepView:
    step: StepResult
    result_text: str

    @property
    def duration_seconds(self) -> float:
        return (self.step.ended_at - self.step.started_at).total_seconds()


def execution_steps(execution: Execution) -> list[StepView]:
    views = []
    for step in execution.steps.order_by("position"):
        try:
            text = _preview_text(step_result_load(step)) if step.status == "succeeded" else ""
        except OSError:
            text = "(the stored result could not be read)"
        views.append(StepView(step=step, result_text=text))
    return views
