"""A test component with a trigger, registered once for the test session."""

from __future__ import annotations

from integrations.components.registry import Component, Input, get_trigger
from integrations.components.triggers import TriggerRejected, TriggerResponse, TriggerResult

HOOK_CALLS: list[tuple[str, dict, dict]] = []


def _deployed(context, params) -> None:
    HOOK_CALLS.append(("deploy", dict(context.webhook_urls), dict(params)))


def _removed(context, params) -> None:
    HOOK_CALLS.append(("remove", dict(context.webhook_urls), dict(params)))


if get_trigger("acmetest.inbound") is None:
    acmetest = Component("acmetest", name="Acme test")

    @acmetest.trigger(
        "inbound",
        inputs=[Input("mode", "string", default="pass"), Input("token", "string")],
        on_instance_deploy=_deployed,
        on_instance_remove=_removed,
    )
    def inbound(context, payload, params):
        mode = params["mode"]
        if mode == "reject":
            raise TriggerRejected("Forbidden by the component.", status=403)
        if mode == "crash":
            raise RuntimeError("component bug")
        if mode == "reshape":
            payload = {
                **payload,
                "reshaped": {"token": params["token"], "customer": context.customer["externalId"]},
            }
            return TriggerResult(
                payload=payload,
                response=TriggerResponse(status_code=202, content_type="text/plain", body="queued"),
            )
        return payload
