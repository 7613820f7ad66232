"""The outcome of a synchronous run, as the runner announces it with the finish.

The runner builds a ``SyncOutcome`` from the rows it has just committed
(``executions.runner``), ``executions.notify`` carries it to the waiting web request (over
Redis, as JSON), and the request answers from it without reading the rows back
(``triggers.sync.wait``). One type on both sides, so neither matches the other's string
keys.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from core import codec


@dataclass(frozen=True)
class SyncOutcomeStep:
    """The run's last step, with its inline result (a value, not its stored form)."""

    position: int
    action: str
    status: str
    result: Any


@dataclass(frozen=True)
class SyncOutcome:
    """What a synchronous caller's answer reads of the finished row: its status, its
    error, its flow, and its last step (None when no step ran)."""

    status: str
    error: str
    flow_id: uuid.UUID | str
    step: SyncOutcomeStep | None = None

    def to_message(self) -> str:
        """The JSON the announcement carries. The result travels in the codec's form, so
        bytes and the rest of what a run may store arrive as they were."""
        step = None
        if self.step is not None:
            step = {
                "position": self.step.position,
                "action": self.step.action,
                "status": self.step.status,
                "result": codec.payload_encode(self.step.result),
            }
        return json.dumps(
            {"status": self.status, "error": self.error, "flowId": str(self.flow_id), "step": step}
        )

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> SyncOutcome:
        """The outcome an announcement's decoded JSON (``to_message``) stands for."""
        step = data.get("step")
        return cls(
            status=data["status"],
            error=data["error"],
            flow_id=data["flowId"],
            step=None
            if step is None
            else SyncOutcomeStep(
                position=step["position"],
                action=step["action"],
                status=step["status"],
                result=codec.payload_decode(step["result"]),
            ),
        )
