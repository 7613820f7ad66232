"""Run now: fire an instance's schedule or polling flow at once, as beat would
(``POST /api/v1/instances/{id}/flows/{flow name}/run``, the admin's and the wizard's Run
now buttons).

The fire goes through beat's own code path (``triggers.schedules.fire.flow_fire``): the
instance row locked, the same payload (``scheduledTime`` = now), the same singleton rule,
the same poll. What differs, and why:

* **No claim.** A beat fire is claimed per (instance, flow name, scheduled time) so a
  redelivered message or a second beat starts nothing. A Run now is one request, never
  redelivered, and two presses are two runs the person asked for; so it takes no
  ``ScheduleFire`` row, and beat's claim for the same minute neither blocks it nor is
  blocked by it.
* **Singleton.** A busy singleton flow skips a Run now exactly as it skips a beat fire (a
  canceled execution records the skip); the caller is told so (``RunNowConflict`` with that
  execution), since the run it asked for did not happen.
* **Polling.** One poll now, through ``poll_fire``: its outcome is the answer. A poll of
  the same flow already going, or the flow backing off after failed polls, skips it, and
  the caller is told why (``RunNowConflict``): back-off protects a failing source from
  people as well as from the clock.

Refusals: an unknown flow is ``RunNowNotFound``; a webhook, deploy or remove flow is
``RunNowRefused`` (its URL or the lifecycle starts it); an instance that is not deployed,
paused or removed, or a flow whose schedule is off for this instance, is ``RunNowConflict``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from executions.models import Execution
from instances.models import Instance
from instances.tenancy import Viewer
from integrations.models import Flow, TriggerType
from triggers.schedules.fire import SINGLETON_SKIP_ERROR, flow_fire
from triggers.schedules.periodic_tasks import flow_schedule_resolve, schedule_flows
from triggers.schedules.poll import PollOutcome


class RunNowNotFound(Exception):
    """The instance's integration has no flow of that name."""


class RunNowRefused(Exception):
    """The flow is not started by a schedule: Run now does not apply to it."""


class RunNowConflict(Exception):
    """The instance or flow, as it stands, does not run now; ``execution`` is the canceled
    run that records a busy singleton's skip, when there is one."""

    def __init__(self, message: str, execution: Execution | None = None) -> None:
        super().__init__(message)
        self.execution = execution


@dataclass(frozen=True)
class RunNowResult:
    """A schedule flow's new ``execution``, or a polling flow's ``poll`` outcome."""

    flow: Flow
    execution: Execution | None = None
    poll: PollOutcome | None = None


def flow_run_now(*, instance: Instance, flow_name: str, user: Viewer = None) -> RunNowResult:
    """Fire ``instance``'s flow ``flow_name`` now (see the module docstring). ``user`` is
    who asked; who may ask is each surface's tenancy (staff, the instance's customer's
    users), as for deploy."""
    flow = instance.integration.flows.filter(name=flow_name).first()
    if flow is None:
        raise RunNowNotFound(f"No flow {flow_name!r} in {instance.integration}.")
    if not schedule_flows([flow]):
        raise RunNowRefused(_not_scheduled_message(flow))
    if instance.removed_at is not None:
        raise RunNowConflict("The instance is removed.")
    if not instance.is_deployed:
        raise RunNowConflict("The instance is not deployed: deploy it, then run its flows.")
    if not instance.enabled:
        raise RunNowConflict("The instance is paused: enable it, then run its flows.")
    if flow_schedule_resolve(instance=instance, flow=flow) is None:
        raise RunNowConflict(
            f"Flow {flow.name!r} has no schedule on this instance (its schedule variable is "
            "unset or off), so it does not run."
        )
    fired = flow_fire(
        instance_id=instance.pk,
        flow_name=flow.name,
        scheduled_time=timezone.now(),
        claimed=False,
    )
    if fired is None:  # paused or redeployed between the checks and the lock
        raise RunNowConflict("The instance no longer runs this flow.")
    if fired.poll is not None:
        if fired.poll.status == "skipped":
            raise RunNowConflict(fired.poll.error)
        return RunNowResult(flow=flow, poll=fired.poll)
    if fired.skipped:
        raise RunNowConflict(SINGLETON_SKIP_ERROR, fired.execution)
    return RunNowResult(flow=flow, execution=fired.execution)


def _not_scheduled_message(flow: Flow) -> str:
    if flow.trigger_type == TriggerType.INSTANCE_DEPLOY:
        return f"Flow {flow.name!r} runs when the instance is deployed: deploy it to run it."
    if flow.trigger_type == TriggerType.INSTANCE_REMOVE:
        return f"Flow {flow.name!r} runs when the instance is removed; it cannot be run now."
    return f"Flow {flow.name!r} is started by its webhook, not a schedule: call the URL to run it."
