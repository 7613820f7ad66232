"""Firing schedules: one fire of an instance's schedule flow becomes one execution (a
polling flow's fire is claimed the same way, then polls: triggers.schedules.poll).

``schedule_fire`` is what the fire tasks (triggers.schedules.tasks) call, for every fire whichever
scheduler sent it:

* it claims the fire first: a ``ScheduleFire`` row unique per (instance, flow name,
  scheduled time), so a duplicate delivery — or two beats firing one slot — starts
  nothing the second time (STYLE "idempotency by claim");
* a ``singleton`` flow whose previous run of the same instance flow is still queued or
  running skips the fire, and records the skip twice over: the claim says ``skipped`` and
  a ``canceled`` execution carries the reason, so the skip shows in the execution list;
* otherwise it creates the execution (``trigger_kind`` schedule, payload
  ``{scheduledTime, invokedAt}`` plus the identity fields), enqueued on commit.

Claim, singleton check and execution commit in one transaction, with the instance row
locked (PostgreSQL; SQLite's IMMEDIATE transactions serialize writers anyway), so two
fires of one singleton flow cannot both see "nothing running".
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from executions.models import Execution, ExecutionStatus, TriggerKind
from executions.services import NewExecution, execution_create, executions_create
from instances.models import Instance
from integrations.models import Flow
from triggers.models import ScheduleFire, ScheduleFireOutcome
from triggers.schedules.index import schedule_latest_due, schedule_step
from triggers.schedules.periodic_tasks import flow_schedule_resolve, schedule_flows
from triggers.schedules.poll import PollJob, PollOutcome, poll_fire, polls_run

logger = logging.getLogger(__name__)

SINGLETON_SKIP_ERROR = "Skipped: the previous run of this flow is still running."
# Claims only need to outlive any redelivery of their message.
SCHEDULE_FIRE_RETENTION = timedelta(hours=48)
_PRUNE_EVERY_SECONDS = 600.0
_last_prune = 0.0


@dataclass(frozen=True)
class Fired:
    """What one fire did. A schedule flow's fire has its ``execution`` (canceled, with the
    reason, when a busy singleton skipped it: ``skipped``); a polling flow's fire has its
    ``poll`` outcome. ``claim`` is None for a fire that was not claimed (Run now)."""

    claim: ScheduleFire | None
    execution: Execution | None = None
    skipped: bool = False
    poll: PollOutcome | None = None


def schedule_fire(
    *,
    instance_id: uuid.UUID | str,
    flow_name: str,
    scheduled_time: datetime,
    message_id: str | None = None,
) -> ScheduleFire | None:
    """Start (or, for a busy singleton flow, skip) one fire. Returns its claim, or None
    when nothing was done: a duplicate of a claimed fire, or an instance that no longer
    runs this schedule (paused, removed, redeployed without the flow)."""
    fired = flow_fire(
        instance_id=instance_id,
        flow_name=flow_name,
        scheduled_time=scheduled_time,
        message_id=message_id,
    )
    return fired.claim if fired else None


def flow_fire(
    *,
    instance_id: uuid.UUID | str,
    flow_name: str,
    scheduled_time: datetime,
    message_id: str | None = None,
    claimed: bool = True,
) -> Fired | None:
    """One fire of a schedule or polling flow, as ``schedule_fire`` describes; with
    ``claimed=False`` no ``ScheduleFire`` claim is taken (Run now, triggers.schedules.run_now:
    one request, never redelivered, so there is no duplicate to stop). None when nothing
    was done."""
    _claims_prune()
    claim: ScheduleFire | None = None
    execution: Execution | None = None
    skipped = False
    with transaction.atomic():
        instance = (
            Instance.objects.running()
            .select_for_update(of=("self",))
            .filter(pk=instance_id)
            .select_related("customer", "integration")
            .first()
        )
        if instance is None:
            logger.info("Schedule fire for instance %s ignored: it is not running", instance_id)
            return None
        flow = next(
            (
                f
                for f in schedule_flows(instance.integration.flows.filter(name=flow_name))
                if flow_schedule_resolve(instance=instance, flow=f) is not None
            ),
            None,
        )
        if flow is None:
            logger.info(
                "Schedule fire for instance %s ignored: no schedule flow %r",
                instance_id,
                flow_name,
            )
            return None
        if claimed:
            try:
                with transaction.atomic():
                    claim = ScheduleFire.objects.create(
                        instance=instance,
                        flow_name=flow_name,
                        scheduled_time=scheduled_time,
                        outcome=ScheduleFireOutcome.STARTED,
                        message_id=message_id,
                    )
            except IntegrityError:
                logger.info(
                    "Schedule fire %s %r @ %s already claimed; not starting it again",
                    instance_id,
                    flow_name,
                    scheduled_time.isoformat(),
                )
                return None
        polling = flow.is_polling
        if not polling:
            payload = {
                "scheduledTime": scheduled_time.astimezone(UTC).isoformat(),
                "invokedAt": timezone.now().astimezone(UTC).isoformat(),
            }
            skipped = (
                flow.singleton
                and Execution.objects.filter(
                    instance=instance,
                    flow__name=flow_name,
                    status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING),
                ).exists()
            )
            if skipped:
                execution = execution_create(
                    instance=instance,
                    flow=flow,
                    trigger_kind=TriggerKind.SCHEDULE,
                    payload=payload,
                    enqueue=False,
                )
                Execution.objects.filter(pk=execution.pk).update(
                    status=ExecutionStatus.CANCELED,
                    ended_at=timezone.now(),
                    error=SINGLETON_SKIP_ERROR,
                )
                logger.info(
                    "Singleton flow %r of instance %s still running; skipped the fire at %s",
                    flow_name,
                    instance_id,
                    payload["scheduledTime"],
                )
            else:
                execution = execution_create(
                    instance=instance,
                    flow=flow,
                    trigger_kind=TriggerKind.SCHEDULE,
                    payload=payload,
                )
            if claim is not None:
                claim.outcome = (
                    ScheduleFireOutcome.SKIPPED if skipped else ScheduleFireOutcome.STARTED
                )
                claim.execution = execution
                claim.save(update_fields=["outcome", "execution"])
    if polling:
        # Outside the instance lock: the source may be slow (triggers.schedules.poll).
        outcome = poll_fire(
            instance=instance, flow=flow, scheduled_time=scheduled_time, claim=claim
        )
        return Fired(claim, poll=outcome, skipped=outcome.status == "skipped")
    return Fired(claim, execution=execution, skipped=skipped)


@dataclass(frozen=True)
class FireRequest:
    """One fire as a batch message carries it."""

    instance_id: str
    flow_name: str
    scheduled_time: datetime


@dataclass(frozen=True)
class _PlacedFire:
    """A fire of a batch matched to its running instance and flow; ``index`` is its
    position in the message."""

    index: int
    request: FireRequest
    instance: Instance
    flow: Flow


def batch_fires_start(fires: list[FireRequest]) -> tuple[int, list[int]]:
    """Start the fires of one batch message together, as far as they can be: one read of
    their instances and flows, then the polling fires (triggers.schedules.poll.polls_run:
    their sources are asked side by side) and the plain schedule fires of non-singleton
    flows (one transaction: one INSERT of the claims, one of the executions). Returns how
    many fires were started or skipped, and the indexes of the fires left for
    ``schedule_fire`` one by one: singleton flows (whose "nothing running" check takes the
    instance lock), anything this cannot place (an instance that stopped running, a flow
    gone — which ``schedule_fire`` then logs and ignores), and a group whose batch failed
    (database trouble; its claims make the repeat harmless). A fire already claimed starts
    nothing."""
    _claims_prune()
    placed, rest = _fires_place(fires)
    polling = [p for p in placed if p.flow.is_polling]
    plain = [p for p in placed if not p.flow.is_polling and not p.flow.singleton]
    rest += [p.index for p in placed if not p.flow.is_polling and p.flow.singleton]
    done = 0
    for group, start in ((polling, _polls_start), (plain, _schedule_fires_start)):
        if not group:
            continue
        try:
            done += start(group)
        except Exception:  # database trouble: this group goes the one-by-one way
            logger.exception("A batch of %d fires failed; firing them one by one", len(group))
            rest += [p.index for p in group]
    return done, sorted(rest)


def _fires_place(fires: list[FireRequest]) -> tuple[list[_PlacedFire], list[int]]:
    """Match fires to running instances and their schedule flows in two reads; the indexes
    of those that match nothing come back apart."""
    instances = {
        str(instance.pk): instance
        for instance in Instance.objects.running()
        .filter(pk__in=list({fire.instance_id for fire in fires}))
        .select_related("customer", "integration")
    }
    flows = {
        (flow.integration_id, flow.name): flow
        for flow in schedule_flows(
            Flow.objects.filter(
                integration_id__in={i.integration_id for i in instances.values()},
                name__in={fire.flow_name for fire in fires},
            )
        )
    }
    placed: list[_PlacedFire] = []
    rest: list[int] = []
    for index, fire in enumerate(fires):
        instance = instances.get(fire.instance_id)
        flow = flows.get((instance.integration_id, fire.flow_name)) if instance else None
        if (
            instance is None
            or flow is None
            or flow_schedule_resolve(instance=instance, flow=flow) is None
        ):
            rest.append(index)
        else:
            placed.append(_PlacedFire(index, fire, instance, flow))
    return placed, rest


def _polls_start(polling: list[_PlacedFire]) -> int:
    claims = _fire_claims_take(polling)
    jobs = [
        PollJob(p.instance, p.flow, p.request.scheduled_time, claims[n])
        for n, p in enumerate(polling)
        if n in claims
    ]
    if len(jobs) < len(polling):
        logger.info(
            "%d polling fires already claimed; not starting them again", len(polling) - len(jobs)
        )
    polls_run(jobs)
    return len(jobs)


def _schedule_fires_start(plain: list[_PlacedFire]) -> int:
    """Claims and executions of plain schedule fires in one transaction. Each claim row is
    written already pointing at its execution's id (foreign keys are checked at commit),
    so the executions the claims won are inserted after, with no UPDATE per claim."""
    invoked_at = timezone.now().astimezone(UTC).isoformat()
    execution_ids = [uuid.uuid4() for _ in plain]
    new = [
        NewExecution(
            instance=p.instance,
            flow=p.flow,
            trigger_kind=TriggerKind.SCHEDULE,
            payload={
                "scheduledTime": p.request.scheduled_time.astimezone(UTC).isoformat(),
                "invokedAt": invoked_at,
            },
            arrived_at=timezone.now(),
            id=execution_id,
        )
        for p, execution_id in zip(plain, execution_ids, strict=True)
    ]
    with transaction.atomic():
        claims = _fire_claims_take(plain, executions=execution_ids)
        executions_create([new[n] for n in sorted(claims)])
    if len(claims) < len(plain):
        logger.info(
            "%d schedule fires already claimed; not starting them again", len(plain) - len(claims)
        )
    return len(claims)


def _fire_claims_take(
    placed: list[_PlacedFire], *, executions: list[uuid.UUID] | None = None
) -> dict[int, ScheduleFire]:
    """Claim many fires with one INSERT that skips the slots already claimed; each row
    carries a message id of this batch's own, so the rows read back by it (the unique
    index, not a LIKE) are exactly the claims this batch won. ``executions``, when given,
    are the claims' execution ids, by position. Returns the claims won, by position."""
    token = uuid.uuid4().hex
    rows = [
        ScheduleFire(
            instance=p.instance,
            flow_name=p.request.flow_name,
            scheduled_time=p.request.scheduled_time,
            outcome=ScheduleFireOutcome.STARTED,
            message_id=f"batch:{token}:{n}",
            execution_id=executions[n] if executions else None,
        )
        for n, p in enumerate(placed)
    ]
    ScheduleFire.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    by_message = {row.message_id: n for n, row in enumerate(rows)}
    claims: dict[int, ScheduleFire] = {}
    message_ids = list(by_message)
    for start in range(0, len(message_ids), 500):
        for claim in ScheduleFire.objects.filter(message_id__in=message_ids[start : start + 500]):
            n = by_message[claim.message_id]
            claim.instance = placed[n].instance
            claims[n] = claim
    return claims


def stock_fire_time(*, instance_id: uuid.UUID | str, flow_name: str, now: datetime) -> datetime:
    """The scheduled time of a fire sent by django-celery-beat's stock scheduler, whose
    message carries none: the latest cron time at or before ``now``; for an interval,
    ``now`` to the second (such fires are deduplicated by message id instead)."""
    instance = Instance.objects.filter(pk=instance_id).select_related("integration").first()
    flow = instance.integration.flows.filter(name=flow_name).first() if instance else None
    schedule = flow_schedule_resolve(instance=instance, flow=flow) if instance and flow else None
    fallback = now.replace(microsecond=0)
    if not schedule or schedule_step(schedule) is not None:
        return fallback
    latest = schedule_latest_due(schedule, after=now - timedelta(days=400), now=now)
    return latest or fallback


def _claims_prune() -> None:
    """Drop claims past their retention, at most every few minutes per process."""
    global _last_prune
    if time.monotonic() - _last_prune < _PRUNE_EVERY_SECONDS and _last_prune:
        return
    _last_prune = time.monotonic()
    try:
        ScheduleFire.objects.filter(
            created_at__lt=timezone.now() - SCHEDULE_FIRE_RETENTION
        ).delete()
    except Exception:  # pruning is housekeeping; a fire must not fail for it
        logger.warning("Could not prune old schedule fire claims", exc_info=True)
