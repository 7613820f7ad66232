"""What a component trigger receives and returns.

A trigger is declared on a component (see ``registry.Component.trigger``) and runs in the
web request, before any execution exists::

    @slack.trigger("events", inputs=[Input("signingSecret", "string", required=True)])
    def events(context: TriggerContext, payload: dict, params: dict) -> TriggerResult:
        ...                                  # check, reshape, or answer directly
        return TriggerResult(payload=payload)

``perform`` may return a ``TriggerResult``, a payload ``dict`` (the flow runs with it),
or ``None`` (the flow runs with the payload unchanged). Raising ``TriggerRejected``
refuses the request with its status (401 by default); the refusal is recorded as a
failed execution whose error is the message, and no step runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from integrations.components.context import StateAccess

logger = logging.getLogger("triggerfish.triggers")


class TriggerRejected(Exception):
    """The trigger refuses the request (a bad signature, an unexpected shape)."""

    def __init__(self, message: str, status: int = 401) -> None:
        if not 400 <= status <= 499:
            raise ValueError("A rejection answers with a 4xx status.")
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TriggerResponse:
    """An HTTP answer a trigger sends to the caller."""

    status_code: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes = ""


@dataclass(frozen=True)
class TriggerResult:
    """``payload`` is what the flow's steps see as ``trigger``. ``response``, when given,
    is what the caller gets instead of the default answer; with ``run=False`` the flow
    does not run at all (a handshake such as Slack's ``url_verification``)."""

    payload: dict[str, Any]
    response: TriggerResponse | None = None
    run: bool = True


@dataclass(frozen=True)
class TriggerContext:
    """Who the request is for. ``config_vars`` carries the instance's values (defaults
    filled in); ``log`` is a plain logger, since no execution exists yet. ``state`` is the
    flow's persisted state: writes are saved with the execution the request stores, and
    not at all when the trigger refuses the request or answers it without a run."""

    instance: dict[str, Any]
    customer: dict[str, Any]
    integration: dict[str, Any]
    flow: dict[str, Any]
    config_vars: dict[str, Any]
    webhook_urls: dict[str, str] = field(default_factory=dict)
    log: logging.Logger = logger
    state: StateAccess = field(default_factory=StateAccess)
