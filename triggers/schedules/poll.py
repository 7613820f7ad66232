"""Polling triggers (SPEC §8): one fire of a polling flow's schedule asks its source for
items, and each new item starts an execution.

``poll_fire`` is what a schedule fire of a polling flow does (triggers.schedules.fire
claims the fire first, exactly as for a schedule flow):

* a fire while the flow backs off after failures is skipped and counted;
* polls of one instance flow never overlap: ``PollState.polling_since`` is claimed by a
  conditional UPDATE (STYLE "idempotency by claim"); a fire that finds it held is skipped
  and counted. A claim older than ``POLL_CLAIM_EXPIRY`` is taken to have died with its
  worker;
* the source is asked outside any transaction (no lock held while a peer is slow);
* the new items' executions, their seen ids and the new cursor are then written in ONE
  transaction, executions enqueued on commit: a crash before the commit creates nothing
  and moves no cursor, so the next poll asks again;
* a poll that fails is a failed execution with no steps and the cause as its error; the
  cursor stays. From the third failure in a row the flow skips 2, 4, 8 … fires (never
  more than an hour between tries); one success resets it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.rows import rows_update
from executions.models import Execution, ExecutionStatus, TriggerKind
from executions.run_definitions import config_vars_for
from executions.services import NewExecution, execution_create, executions_create, identity_fields
from instances.models import Instance, PollSeenItem, PollState
from integrations.components.context import InputError, action_inputs_prepare
from integrations.components.polling import PollContext, PollFailed, PollResult
from integrations.components.registry import Action, PollingTrigger, get_polling_trigger
from integrations.models import Flow, PollOnDeploy
from integrations.references import TemplateError, resolve_inputs
from integrations.schedules import schedule_next_runs
from triggers.models import ScheduleFire, ScheduleFireOutcome
from triggers.schedules.index import schedule_step
from triggers.schedules.periodic_tasks import flow_schedule_resolve

logger = logging.getLogger(__name__)

POLL_CLAIM_EXPIRY = timedelta(minutes=10)
FAILURES_BEFORE_BACKOFF = 3
BACKOFF_MAX = timedelta(hours=1)
# A fire's scheduled time may be a little late (the stock scheduler sends "now"); one
# that lands within this of the end of a back-off is the try, not another skip.
BACKOFF_TOLERANCE = timedelta(seconds=1)
SEEN_IDS_DAYS = 30
SEEN_IDS_KEPT = 10_000
ITEM_ID_MAX = 255
_LOOKUP_CHUNK = 500
# How long a batch's first uncommitted answer may wait while other sources are still asked.
COMMIT_WAIT_SECONDS = 0.25
OVERLAP_SKIP_REASON = "Skipped: the previous poll of this flow is still running."
# Test hook, for the crash tests only (tests/triggers/test_polling_crash.py): a worker
# started with this variable sleeps that many seconds right after a poll commits, before
# its executions are enqueued, so a test can kill it at exactly that point. Unset in
# production; nothing else reads it.
TEST_HOOK_PAUSE_AFTER_COMMIT_VARIABLE = "TRIGGERFISH_TEST_HOOK_POLL_PAUSE_AFTER_COMMIT_SECONDS"


@dataclass(frozen=True)
class PollOutcome:
    """What one fire did: ``succeeded`` (with the executions it started, maybe none),
    ``failed`` (its failed execution in ``executions``, the cause in ``error``) or
    ``skipped`` (overlapping or backing off; the reason in ``error``)."""

    status: str
    item_count: int = 0
    executions: list[Any] = field(default_factory=list)
    error: str = ""


@dataclass
class PollJob:
    """One fire of a polling flow to run: ``claim`` is its ``ScheduleFire`` (None for Run
    now, which takes none)."""

    instance: Instance
    flow: Flow
    scheduled_time: datetime
    claim: ScheduleFire | None = None


@dataclass
class _Ask:
    """A claimed poll between its claim and its commit."""

    job: PollJob
    polling: PollingTrigger
    state: PollState
    polled_at: datetime
    call: Callable[[], PollResult] | None = None
    error: str = ""


def poll_fire(
    *,
    instance: Instance,
    flow: Flow,
    scheduled_time: datetime,
    claim: ScheduleFire | None = None,
) -> PollOutcome:
    """Poll once for ``instance``'s polling ``flow`` (see the module docstring). A commit
    that fails (database trouble) is raised, its claim freed."""
    outcome = _polls_run([PollJob(instance, flow, scheduled_time, claim)])[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def polls_run(jobs: list[PollJob]) -> list[PollOutcome]:
    """Run many polls at once, one outcome per job in order: the state reads, back-off
    checks and claims are a few statements for the whole batch, the sources are asked
    side by side (``TRIGGERFISH_POLL_CONCURRENCY`` threads) and each answer is committed
    as soon as it arrives, those that arrive together in one transaction (a savepoint
    each, so one poll's database trouble stays its own). A commit that fails is logged and
    becomes a ``failed`` outcome with no execution; its claim is freed."""
    outcomes: list[PollOutcome] = []
    for job, outcome in zip(jobs, _polls_run(jobs), strict=True):
        if isinstance(outcome, BaseException):
            logger.error(
                "Poll of %r of instance %s could not be committed",
                job.flow.name,
                job.instance.pk,
                exc_info=outcome,
            )
            outcome = PollOutcome("failed", error=f"The poll could not be saved: {outcome}")
        outcomes.append(outcome)
    return outcomes


def _polls_run(jobs: list[PollJob]) -> list[PollOutcome | BaseException]:
    results: dict[int, PollOutcome | BaseException] = {}
    triggers = []
    for job in jobs:
        polling = get_polling_trigger(job.flow.trigger_type)
        if polling is None:
            raise ValueError(f"Flow {job.flow.name!r} has no polling trigger.")
        triggers.append(polling)
    states = _states_get(jobs)
    backing_off: Counter[int] = Counter()
    candidates: dict[int, int] = {}  # job index -> state pk; the first fire of a state only
    overlapping: Counter[int] = Counter()
    for index, job in enumerate(jobs):
        state = states[index]
        if state.backoff_until and job.scheduled_time + BACKOFF_TOLERANCE < state.backoff_until:
            backing_off[state.pk] += 1
            results[index] = _skipped(
                job.claim,
                f"Backing off after {state.consecutive_failures} failed polls until "
                f"{state.backoff_until.astimezone(UTC).isoformat()}.",
            )
        elif state.pk in candidates.values():
            overlapping[state.pk] += 1
            results[index] = _skipped(job.claim, OVERLAP_SKIP_REASON)
        else:
            candidates[index] = state.pk
    _counts_add(backing_off, "skipped_backing_off")
    polled_at = timezone.now()
    claimed = _poll_claims_take(list(candidates.values()), polled_at)

    def asks() -> Iterator[tuple[int, _Ask]]:
        # Prepared one at a time as the pool takes them, so the first source is asked
        # while the rest are still being prepared.
        for index, state_pk in candidates.items():
            if state_pk not in claimed:
                overlapping[state_pk] += 1
                results[index] = _skipped(jobs[index].claim, OVERLAP_SKIP_REASON)
                continue
            ask = _Ask(jobs[index], triggers[index], states[index], polled_at)
            try:
                ask.call = _source_prepare(ask)
            except Exception as error:  # a failed poll, as the source's own failures are
                ask.error = _failure_message(error)
            yield index, ask

    for index, outcome in _asks_run(asks(), count=len(claimed)):
        results[index] = outcome
    _counts_add(overlapping, "skipped_overlapping")
    return [results[index] for index in range(len(jobs))]


def _states_get(jobs: list[PollJob]) -> list[PollState]:
    """Each job's ``PollState``, created where missing: one read, one insert, one re-read."""
    keys = {(job.instance.pk, job.flow.name) for job in jobs}
    found: dict[tuple[Any, str], PollState] = {}

    def read(wanted: set[tuple[Any, str]]) -> None:
        instance_ids = list({instance_id for instance_id, _ in wanted})
        for start in range(0, len(instance_ids), _LOOKUP_CHUNK):
            for state in PollState.objects.filter(
                instance_id__in=instance_ids[start : start + _LOOKUP_CHUNK],
                flow_name__in={flow_name for _, flow_name in wanted},
            ):
                found[(state.instance_id, state.flow_name)] = state

    read(keys)
    missing = keys - found.keys()
    if missing:
        PollState.objects.bulk_create(
            [PollState(instance_id=instance_id, flow_name=name) for instance_id, name in missing],
            ignore_conflicts=True,  # another worker's fire may create it first
        )
        read(missing)
    return [found[(job.instance.pk, job.flow.name)] for job in jobs]


def _counts_add(counts: Counter[int], field_name: str) -> None:
    by_amount: dict[int, list[int]] = {}
    for state_pk, amount in counts.items():
        by_amount.setdefault(amount, []).append(state_pk)
    for amount, state_pks in by_amount.items():
        PollState.objects.filter(pk__in=state_pks).update(**{field_name: F(field_name) + amount})


def _poll_claims_take(state_pks: list[int], polled_at: datetime) -> set[int]:
    """Claim the polls of these states: one conditional UPDATE (free, or held longer than
    ``POLL_CLAIM_EXPIRY``), then the rows that now carry this claim's time."""
    claimed: set[int] = set()
    for start in range(0, len(state_pks), _LOOKUP_CHUNK):
        chunk = state_pks[start : start + _LOOKUP_CHUNK]
        PollState.objects.filter(pk__in=chunk).filter(
            Q(polling_since__isnull=True) | Q(polling_since__lt=polled_at - POLL_CLAIM_EXPIRY)
        ).update(polling_since=polled_at)
        claimed.update(
            PollState.objects.filter(pk__in=chunk, polling_since=polled_at).values_list(
                "pk", flat=True
            )
        )
    return claimed


def _asks_run(
    asks: Iterator[tuple[int, _Ask]], *, count: int
) -> Iterator[tuple[int, PollOutcome | BaseException]]:
    """Ask the ``count`` sources (side by side when there are several) and commit each
    answer as it arrives; yields ``(job index, outcome)``."""
    if count <= 1:
        for index, ask in asks:
            yield index, _answers_commit([(ask, _answer_get(ask))])[0]
        return
    workers = min(settings.TRIGGERFISH_POLL_CONCURRENCY, count)
    # One more thread hands committed executions to the broker, in commit order, so the
    # next commit does not wait for hundreds of publishes. The task ends after it has.
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-enqueue") as sender,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool,
    ):
        pending = {pool.submit(_answer_get_in_thread, ask): (index, ask) for index, ask in asks}
        arrived: list[tuple[int, _Ask, tuple[PollResult, list[str]] | str]] = []
        first_arrival = 0.0
        while pending or arrived:
            if pending:
                timeout = (
                    max(0.0, first_arrival + COMMIT_WAIT_SECONDS - time.monotonic())
                    if arrived
                    else None
                )
                done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    index, ask = pending.pop(future)
                    if not arrived:
                        first_arrival = time.monotonic()
                    arrived.append((index, ask, future.result()))
            # Committing holds the interpreter the asking threads need: answers wait for
            # the asks still running, but never longer than COMMIT_WAIT_SECONDS.
            if arrived and (not pending or time.monotonic() - first_arrival >= COMMIT_WAIT_SECONDS):
                outcomes = _answers_commit(
                    [(ask, answer) for _, ask, answer in arrived], send=sender.submit
                )
                for (index, _, _), outcome in zip(arrived, outcomes, strict=True):
                    yield index, outcome
                arrived = []


def _answer_get(ask: _Ask) -> tuple[PollResult, list[str]] | str:
    """The source's answer with its item keys, or the failure's message."""
    if ask.call is None:
        return ask.error
    try:
        result = ask.call()
        _result_check(ask.polling, result)
        return result, [_item_key(value) for value in _item_ids(result)]
    except Exception as error:  # every failure of the source is the run's error
        return _failure_message(error)


def _answer_get_in_thread(ask: _Ask) -> tuple[PollResult, list[str]] | str:
    try:
        return _answer_get(ask)
    finally:
        # A component's poll may have read the database on this thread's own connection.
        connections.close_all()


def _answers_commit(
    answers: list[tuple[_Ask, tuple[PollResult, list[str]] | str]],
    send: Callable[[Callable[[], None]], Any] | None = None,
) -> list[PollOutcome | BaseException]:
    """Commit polls that arrived together. Several are written in one go (``_polls_commit``:
    a statement per table, not per poll); should that fail, they are committed again one
    savepoint each, so one poll's database trouble stays its own."""
    if len(answers) > 1:
        try:
            with transaction.atomic():
                return list(_polls_commit(answers, send=send))
        except Exception:
            logger.warning(
                "Committing %d polls together failed; committing them one by one",
                len(answers),
                exc_info=True,
            )
    return _answers_commit_each(answers, send=send)


def _answers_commit_each(
    answers: list[tuple[_Ask, tuple[PollResult, list[str]] | str]],
    send: Callable[[Callable[[], None]], Any] | None = None,
) -> list[PollOutcome | BaseException]:
    """Commit polls in one transaction, a savepoint each; a poll whose savepoint fails
    frees its claim and gets its exception as its outcome."""
    outcomes: list[PollOutcome | BaseException] = []
    try:
        with transaction.atomic():
            for ask, answer in answers:
                try:
                    with transaction.atomic():
                        (outcome,) = _polls_commit([(ask, answer)], send=send)
                except Exception as error:
                    _claim_free(ask)
                    outcomes.append(error)
                else:
                    outcomes.append(outcome)
    except BaseException as error:
        # The transaction itself failed: nothing of these polls was written.
        for ask, _ in answers:
            _claim_free(ask)
        if not isinstance(error, Exception):
            raise
        return [error for _ in answers]
    return outcomes


def _claim_free(ask: _Ask) -> None:
    """Free a poll's claim so the next fire can ask again (best effort: a claim left
    behind expires after ``POLL_CLAIM_EXPIRY``)."""
    try:
        PollState.objects.filter(pk=ask.state.pk, polling_since=ask.polled_at).update(
            polling_since=None
        )
    except Exception:
        logger.warning("Could not free the poll claim of state %s", ask.state.pk, exc_info=True)


def _skipped(claim: ScheduleFire | None, reason: str) -> PollOutcome:
    if claim is not None:
        claim.outcome = ScheduleFireOutcome.SKIPPED
        claim.save(update_fields=["outcome"])
    logger.info("%s", reason)
    return PollOutcome("skipped", error=reason)


def _source_prepare(ask: _Ask) -> Callable[[], PollResult]:
    """The poll's call with its inputs resolved, on the caller's thread (config variables
    may read the database); raises ``PollFailed`` for inputs that do not resolve."""
    instance, flow, polling = ask.job.instance, ask.job.flow, ask.polling
    identity = identity_fields(instance=instance, flow=flow)
    config_vars = config_vars_for(integration=instance.integration, instance=instance)
    cursor = ask.state.cursor
    scope = {**identity, "configVars": config_vars, "poll": {"cursor": cursor}}
    try:
        resolved = resolve_inputs(flow.trigger_inputs or {}, scope)
        # Checked as an action's inputs are: declared names, required ones, types.
        params = action_inputs_prepare(
            action=Action(polling.key, polling.poll, polling.inputs), inputs=resolved
        )
    except (TemplateError, InputError) as error:
        raise PollFailed(f"The trigger's inputs could not be resolved: {error}") from error
    context = PollContext(
        instance=identity["instance"],
        customer=identity["customer"],
        integration=identity["integration"],
        flow=identity["flow"],
        config_vars=config_vars,
    )
    return lambda: polling.poll(context, params, cursor)


def _result_check(polling: PollingTrigger, result: Any) -> None:
    if not isinstance(result, PollResult) or not isinstance(result.items, list):
        raise PollFailed(f"{polling.key} returned {type(result).__name__}, not a PollResult")
    try:
        json.dumps(result.cursor)
    except (TypeError, ValueError):
        raise PollFailed(f"{polling.key} returned a cursor that is not JSON") from None


def _item_ids(result: PollResult) -> list[Any]:
    if result.ids is not None:
        if len(result.ids) != len(result.items):
            raise PollFailed(f"{len(result.ids)} ids for {len(result.items)} items")
        return list(result.ids)
    ids = []
    for index, item in enumerate(result.items):
        if not isinstance(item, dict) or item.get("id") is None:
            raise PollFailed(f"Item {index} has no 'id' (give PollResult ids= for such items)")
        ids.append(item["id"])
    return ids


def _item_key(value: Any) -> str:
    """An item id as stored: text as it is, anything else as JSON; too long, its SHA-256."""
    if value is None:
        raise PollFailed("An item's id is null")
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if len(text) > ITEM_ID_MAX:
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    return text


def _failure_message(error: Exception) -> str:
    if isinstance(error, PollFailed):
        return str(error)
    return f"The poll failed: {type(error).__name__}: {error}"


def _poll_info(*, cursor: Any, previous: Any, polled_at: datetime, item_count: int) -> dict:
    return {
        "cursor": cursor,
        "previousCursor": previous,
        "polledAt": polled_at.astimezone(UTC).isoformat(),
        "itemCount": item_count,
    }


# What a successful poll writes to its state (not the skip counters, which other fires
# of the flow increment meanwhile).
_STATE_FIELDS_POLLED = [
    "cursor",
    "primed",
    "last_polled_at",
    "last_item_count",
    "consecutive_failures",
    "backoff_until",
    "polling_since",
]


def _polls_commit(
    answers: list[tuple[_Ask, tuple[PollResult, list[str]] | str]],
    *,
    send: Callable[[Callable[[], None]], Any] | None = None,
) -> list[PollOutcome]:
    """Write what polls found, inside the caller's transaction: each failed poll's failed
    execution (``_poll_failed``), and for the rest, together — their states locked and
    read in one query, the ids they already saw in one, every new item's execution in one
    INSERT (``executions_create``, enqueued on commit), their seen ids in one."""
    pause = float(os.environ.get(TEST_HOOK_PAUSE_AFTER_COMMIT_VARIABLE) or 0)
    if pause:  # registered first, so it runs before the executions' enqueue callbacks
        transaction.on_commit(lambda: time.sleep(pause))
    outcomes: dict[int, PollOutcome] = {}
    found: list[tuple[int, _Ask, PollResult, list[str]]] = []
    for n, (ask, answer) in enumerate(answers):
        if isinstance(answer, str):
            job = ask.job
            outcomes[n] = _poll_failed(
                job.instance, job.flow, ask.state, job.scheduled_time, ask.polled_at, answer
            )
        else:
            found.append((n, ask, *answer))
    if not found:
        return [outcomes[n] for n in range(len(answers))]
    states = PollState.objects.select_for_update().in_bulk([ask.state.pk for _, ask, _, _ in found])
    known = _known_ids(list(states), [key for *_, ids in found for key in ids])
    new_executions: list[NewExecution] = []
    seen: list[PollSeenItem] = []
    planned: list[tuple[int, _Ask, int, int, int]] = []  # n, ask, ids, new, executions
    for n, ask, result, ids in found:
        state, flow, polled_at = states[ask.state.pk], ask.job.flow, ask.polled_at
        new: list[tuple[str, Any]] = []
        for key, item in zip(ids, result.items, strict=True):
            if (state.pk, key) not in known:
                known.add((state.pk, key))  # the same id twice in one answer runs once
                new.append((key, item))
        info = _poll_info(
            cursor=result.cursor, previous=state.cursor, polled_at=polled_at, item_count=len(ids)
        )
        started = 0
        if state.primed or flow.poll_on_deploy == PollOnDeploy.BACKFILL:
            size = flow.poll_batch_size or 1
            for start in range(0, len(new), size):
                batch = [item for _, item in new[start : start + size]]
                new_executions.append(
                    NewExecution(
                        instance=ask.job.instance,
                        flow=flow,
                        trigger_kind=TriggerKind.POLL,
                        payload={"body": {"data": batch[0] if size == 1 else batch}, "poll": info},
                        # Queues and lists order by arrival: the source's order, even when
                        # the clock does not move between two rows.
                        arrived_at=polled_at + timedelta(microseconds=started),
                    )
                )
                started += 1
        seen.extend(PollSeenItem(state=state, item_id=key, seen_at=polled_at) for key, _ in new)
        state.cursor = result.cursor
        state.primed = True
        state.last_polled_at = polled_at
        state.last_item_count = len(ids)
        state.consecutive_failures = 0
        state.backoff_until = None
        state.polling_since = None
        planned.append((n, ask, len(ids), len(new), started))
    executions = iter(executions_create(new_executions, send=send))
    PollSeenItem.objects.bulk_create(seen, ignore_conflicts=True, batch_size=500)
    rows_update(list(states.values()), _STATE_FIELDS_POLLED)
    claims: list[ScheduleFire] = []
    pruned: list[tuple[PollState, datetime]] = []
    for n, ask, item_count, new_count, started in planned:
        execution_ids = [next(executions).pk for _ in range(started)]
        outcomes[n] = PollOutcome("succeeded", item_count=item_count, executions=execution_ids)
        if new_count:
            pruned.append((states[ask.state.pk], ask.polled_at))
        if ask.job.claim is not None and execution_ids:
            ask.job.claim.execution_id = execution_ids[0]
            claims.append(ask.job.claim)
        logger.info(
            "Polled %r of instance %s: %d items, %d new, %d executions",
            ask.job.flow.name,
            ask.job.instance.pk,
            item_count,
            new_count,
            started,
        )
    rows_update(claims, ["execution"])
    _seen_prune(pruned)
    return [outcomes[n] for n in range(len(answers))]


def _known_ids(state_pks: list[int], keys: list[str]) -> set[tuple[int, str]]:
    """Which of ``keys`` these states have seen, as (state pk, item id)."""
    wanted = list(dict.fromkeys(keys))
    known: set[tuple[int, str]] = set()
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        known.update(
            PollSeenItem.objects.filter(
                state_id__in=state_pks, item_id__in=wanted[start : start + _LOOKUP_CHUNK]
            ).values_list("state_id", "item_id")
        )
    return known


def _seen_prune(polled: list[tuple[PollState, datetime]]) -> None:
    """Forget ids that are both older than 30 days and outside the newest 10,000, for each
    (state, time of its poll): an id inside either window still starts nothing. One
    indexed query finds the states that have ids older than 30 days at all (usually
    none); only those look for their 10,000th newest."""
    if not polled:
        return
    latest = max(now for _, now in polled)
    with_old_ids = set(
        PollSeenItem.objects.filter(
            state__in=[state for state, _ in polled],
            seen_at__lt=latest - timedelta(days=SEEN_IDS_DAYS),
        )
        .values_list("state_id", flat=True)
        .distinct()
    )
    for state, now in polled:
        if state.pk not in with_old_ids:
            continue
        boundary = (
            PollSeenItem.objects.filter(state=state)
            .order_by("-seen_at")
            .values_list("seen_at", flat=True)[SEEN_IDS_KEPT - 1 : SEEN_IDS_KEPT]
        )
        oldest_kept = next(iter(boundary), None)
        if oldest_kept is not None:
            cutoff = min(oldest_kept, now - timedelta(days=SEEN_IDS_DAYS))
            PollSeenItem.objects.filter(state=state, seen_at__lt=cutoff).delete()


def _poll_failed(
    instance: Instance,
    flow: Flow,
    state: PollState,
    scheduled_time: datetime,
    polled_at: datetime,
    message: str,
) -> PollOutcome:
    with transaction.atomic():
        state = PollState.objects.select_for_update().get(pk=state.pk)
        failures = state.consecutive_failures + 1
        info = _poll_info(
            cursor=state.cursor, previous=state.cursor, polled_at=polled_at, item_count=0
        )
        execution = execution_create(
            instance=instance,
            flow=flow,
            trigger_kind=TriggerKind.POLL,
            payload={"poll": info},
            enqueue=False,
        )
        Execution.objects.filter(pk=execution.pk).update(
            status=ExecutionStatus.FAILED,
            started_at=polled_at,
            ended_at=timezone.now(),
            error=message,
        )
        state.consecutive_failures = failures
        state.last_polled_at = polled_at
        state.backoff_until = _backoff_until(
            instance, flow, failures=failures, scheduled_time=scheduled_time
        )
        state.polling_since = None
        state.save()
    logger.warning(
        "Poll of %r of instance %s failed (%d in a row): %s",
        flow.name,
        instance.pk,
        failures,
        message,
    )
    return PollOutcome("failed", executions=[execution.pk], error=message)


def _backoff_until(
    instance: Instance, flow: Flow, *, failures: int, scheduled_time: datetime
) -> datetime | None:
    """After the third failure in a row, the time of the fire that tries again: 2, 4, 8 …
    fires on, but never more than an hour after this one."""
    if failures < FAILURES_BEFORE_BACKOFF:
        return None
    latest = scheduled_time + BACKOFF_MAX
    skipped = 2 ** (failures - FAILURES_BEFORE_BACKOFF + 1)
    schedule = flow_schedule_resolve(instance=instance, flow=flow)
    if schedule is None:
        return latest
    step = schedule_step(schedule)
    if step is not None:
        return min(scheduled_time + step * (skipped + 1), latest)
    if skipped + 1 > 1000:  # more fires than the schedule math lists: the hour is sooner
        return latest
    runs = schedule_next_runs(schedule, count=skipped + 1, after=scheduled_time)
    return min(runs[-1], latest) if runs else latest
