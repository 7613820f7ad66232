"""Built-in component: Slack. Its ``events`` trigger is the worked example of a component
trigger (docs/components.md): it verifies Slack's signature on the exact bytes, answers
Slack's ``url_verification`` handshake itself, and lets the flow run for events."""

from __future__ import annotations

from typing import Any

from integrations.components.registry import Component, Input
from integrations.components.triggers import (
    TriggerContext,
    TriggerRejected,
    TriggerResponse,
    TriggerResult,
)
from integrations.signatures import SignatureError, signature_verify

slack = Component("slack", name="Slack", description="Receive Slack Events API requests.")


@slack.trigger(
    "events",
    inputs=[
        Input("signingSecret", "string", required=True, description="The app's signing secret."),
        Input("toleranceSeconds", "integer", default=300),
    ],
    description="Verify a Slack Events API request; answer the URL check; run on events.",
    webhook_support=True,
    schedule_support=False,
    synchronous_response_support=True,
)
def events(
    context: TriggerContext, payload: dict[str, Any], params: dict[str, Any]
) -> TriggerResult:
    try:
        signature_verify(
            settings={
                "preset": "slack",
                "secret": params["signingSecret"],
                "toleranceSeconds": params["toleranceSeconds"],
            },
            body=payload["rawBody"]["data"],
            headers=payload["headers"],
        )
    except SignatureError as error:
        raise TriggerRejected(str(error), status=401) from error

    body = payload["body"]["data"]
    if isinstance(body, dict) and body.get("type") == "url_verification":
        challenge = str(body.get("challenge", ""))
        return TriggerResult(
            payload=payload,
            response=TriggerResponse(status_code=200, content_type="text/plain", body=challenge),
            run=False,
        )
    return TriggerResult(payload=payload)
