"""The step runner, called in-process: ordering, recording, failure, claims, stop."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.models import Execution, ExecutionLog, StepResult
from executions.results import execution_final_result, execution_stopped_early
from executions.runner import execution_run
from integrations.components.registry import Component, Input
from tests.fixtures.executions import execution_make

pytestmark = pytest.mark.django_db

# A component for these tests only: counts calls so a second run would show.
CALLS: list[str] = []
testing = Component("runner_testing")


@testing.action("count", inputs=[Input("label", "string", required=True)])
def count(context, *, label):
    CALLS.append(label)
    context.log.info(f"counted {label}")
    return {"label": label, "execution": context.execution_id, "step": context.step_name}


@testing.action("explode")
def explode(context):
    raise KeyError("boom")


@testing.action("unstorable")
def unstorable(context):
    return {1, 2}


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def run(execution: Execution) -> Execution:
    execution_run(execution_id=str(execution.id))
    execution.refresh_from_db()
    return execution


def test_steps_run_in_order_and_each_result_is_recorded():
    execution = execution_make(
        steps=[
            ("Split", "text.split", {"text": "{{ trigger.body.data.csv }}", "separator": ","}),
            ("Second", "runner_testing.count", {"label": "{{ steps.Split[1] }}"}),
            ("Reply", "flow.return", {"data": "{{ steps.Second }}"}),
        ],
        payload={"body": {"data": {"csv": "a,b,c"}}},
    )
    execution = run(execution)
    assert execution.status == "succeeded"
    assert execution.error == ""
    assert execution.started_at <= execution.ended_at
    steps = list(execution.steps.order_by("position"))
    assert [(s.position, s.name, s.action, s.status) for s in steps] == [
        (0, "Split", "text.split", "succeeded"),
        (1, "Second", "runner_testing.count", "succeeded"),
        (2, "Reply", "flow.return", "succeeded"),
    ]
    assert steps[0].result == ["a", "b", "c"]
    assert all(s.started_at <= s.ended_at for s in steps)
    assert steps[1].result == {"label": "b", "execution": str(execution.id), "step": "Second"}
    assert execution_final_result(execution) == {"data": steps[1].result}
    assert not execution_stopped_early(execution)


def test_logs_record_start_action_lines_and_finish():
    execution = run(
        execution_make(
            steps=[
                ("Count", "runner_testing.count", {"label": "x"}),
                ("Note", "log.write", {"level": "warning", "message": "careful"}),
            ]
        )
    )
    lines = list(execution.logs.order_by("id").values_list("level", "step_name", "message"))
    assert lines[0] == ("info", "", "Execution started: flow 'Main'")
    assert lines[1] == ("info", "Count", "counted x")
    assert lines[2] == ("warning", "Note", "careful")
    assert lines[3][0] == "info"
    assert lines[3][2].startswith("Execution finished: succeeded in ")
    assert len(lines) == 4


def test_config_vars_use_instance_values_then_integration_defaults():
    execution = run(
        execution_make(
            steps=[
                (
                    "Reply",
                    "flow.return",
                    {"data": "{{ configVars['Base URL'] }}|{{ configVars.Region }}"},
                )
            ],
            config_variables=[
                {"key": "Base URL", "default": "http://default"},
                {"key": "Region", "default": "us"},
            ],
            config_values={"Region": "eu"},
        )
    )
    assert execution_final_result(execution) == {"data": "http://default|eu"}


def test_scope_exposes_identity_roots_and_webhook_context():
    execution = execution_make(
        steps=[
            (
                "Reply",
                "flow.return",
                {
                    "data": {
                        "execution": "{{ execution.id }}",
                        "customer": "{{ customer.externalId }}",
                        "instance": "{{ instance.name }}",
                        "flow": "{{ flow.name }}",
                        "version": "{{ integration.version }}",
                        "urls": "{{ trigger.webhookUrls }}",
                        "payloadExecutionId": "{{ trigger.executionId }}",
                    }
                },
            )
        ]
    )
    data = execution_final_result(run(execution))["data"]
    assert data["execution"] == str(execution.id)
    assert data["payloadExecutionId"] == str(execution.id)
    assert data["customer"] == execution.customer.external_id
    assert data["instance"] == execution.instance.name
    assert data["flow"] == "Main"
    assert data["version"] == 1
    assert data["urls"] == {}


def test_failing_step_fails_the_run_and_later_steps_do_not_run():
    execution = run(
        execution_make(
            steps=[
                ("First", "runner_testing.count", {"label": "first"}),
                ("Fail", "flow.fail", {"message": "Render {{ steps.First.label }} is broken"}),
                ("Never", "runner_testing.count", {"label": "never"}),
            ]
        )
    )
    assert execution.status == "failed"
    assert execution.error == "Render first is broken"
    assert CALLS == ["first"]
    steps = list(execution.steps.order_by("position"))
    assert [(s.name, s.status) for s in steps] == [("First", "succeeded"), ("Fail", "failed")]
    assert steps[1].error == "Render first is broken"
    assert steps[1].result is None
    assert execution.logs.filter(
        level="error", step_name="Fail", message="Step 'Fail' failed: Render first is broken"
    ).exists()
    assert execution.logs.filter(message__startswith="Execution finished: failed").exists()
    assert execution.ended_at is not None


def test_reference_error_fails_the_step_naming_the_path():
    execution = run(
        execution_make(
            steps=[("Use", "flow.return", {"data": "{{ trigger.body.data.missing }}"})],
            payload={"body": {"data": {"present": 1}}},
        )
    )
    assert execution.status == "failed"
    assert execution.error == "Reference 'trigger.body.data.missing' not found: no key 'missing'"
    assert execution.steps.get().error == execution.error


def test_unexpected_exception_is_recorded_with_its_type():
    execution = run(execution_make(steps=[("Boom", "runner_testing.explode", {})]))
    assert execution.status == "failed"
    assert execution.error == "KeyError: 'boom'"


def test_unknown_action_and_missing_required_input_fail_the_step():
    execution = run(execution_make(steps=[("X", "nope.nothing", {})]))
    assert execution.error == "Unknown action 'nope.nothing'"
    execution = run(execution_make(steps=[("X", "runner_testing.count", {})]))
    assert execution.error == "Missing required input 'label' of action 'runner_testing.count'"


def test_result_that_cannot_be_stored_fails_the_step():
    execution = run(execution_make(steps=[("Set", "runner_testing.unstorable", {})]))
    assert execution.status == "failed"
    assert execution.error.startswith("Step result cannot be stored:")


def test_stop_execution_ends_the_run_successfully_with_its_response():
    execution = run(
        execution_make(
            steps=[
                (
                    "Stop",
                    "flow.stop_execution",
                    {"statusCode": 202, "body": "{{ trigger.body.data }}"},
                ),
                ("Never", "runner_testing.count", {"label": "never"}),
            ],
            payload={"body": {"data": {"id": 9}}},
        )
    )
    assert execution.status == "succeeded"
    assert CALLS == []
    step = execution.steps.get()
    assert step.status == "succeeded"
    assert step.result == {"statusCode": 202, "body": {"id": 9}}
    assert execution_final_result(execution) == {"statusCode": 202, "body": {"id": 9}}
    assert execution_stopped_early(execution)
    assert execution.logs.filter(
        message="Execution stopped by step 'Stop' with status 202"
    ).exists()


def test_a_flow_without_steps_succeeds_with_no_result():
    execution = run(execution_make(steps=[]))
    assert execution.status == "succeeded"
    assert execution_final_result(execution) is None


def test_second_delivery_runs_nothing():
    execution = execution_make(steps=[("Count", "runner_testing.count", {"label": "once"})])
    run(execution)
    first_ended = execution.ended_at
    execution = run(execution)
    assert CALLS == ["once"]
    assert StepResult.objects.filter(execution=execution).count() == 1
    assert execution.ended_at == first_ended
    assert (
        ExecutionLog.objects.filter(
            execution=execution, message__startswith="Execution started"
        ).count()
        == 1
    )


def test_malformed_or_unknown_ids_are_ignored():
    execution_run(execution_id="not-a-uuid")
    execution_run(execution_id="00000000-0000-0000-0000-000000000000")


def test_canceled_execution_does_not_run():
    execution = execution_make(steps=[("Count", "runner_testing.count", {"label": "x"})])
    Execution.objects.filter(pk=execution.pk).update(status="canceled")
    assert run(execution).status == "canceled"
    assert CALLS == []


def test_scope_queries_do_not_grow_with_the_number_of_steps(django_assert_max_num_queries):
    """Loading the flow's steps is one query however long the flow is (no N+1)."""
    steps = [(f"S{i}", "text.split", {"text": "a", "separator": ","}) for i in range(12)]
    execution = execution_make(steps=steps)
    # Claim, load, its instance, customer, integration and flow (not cached yet), steps,
    # config vars, webhook context (3), one insert per step, finish.
    with django_assert_max_num_queries(12 + 15):
        execution_run(execution_id=str(execution.id))


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_run_the_steps_once():
    execution = execution_make(steps=[("Count", "runner_testing.count", {"label": "once"})])
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait()
            execution_run(execution_id=str(execution.id))
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert CALLS == ["once"]
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert execution.steps.count() == 1


def test_the_opening_line_is_saved_with_the_runs_next_write_and_keeps_its_time():
    execution = execution_make(steps=[("Reply", "flow.return", {"data": 1})])
    with CaptureQueriesContext(connection) as captured:
        run(execution)
    log_inserts = [
        q
        for q in captured.captured_queries
        if q["sql"].startswith('INSERT INTO "executions_executionlog"')
    ]
    assert len(log_inserts) == 1  # opening and closing lines in the final transaction
    opening, closing = execution.logs.order_by("id")
    assert opening.message == "Execution started: flow 'Main'"
    # Stamped when logged, before the step ran, not when it was saved.
    assert opening.created_at <= execution.steps.get().started_at <= closing.created_at


def test_a_run_that_crashes_the_runner_keeps_its_opening_line(monkeypatch):
    def storage_full(*args, **kwargs):
        raise RuntimeError("storage full")

    monkeypatch.setattr("executions.runner.execution_scope", storage_full)
    execution = run(execution_make(steps=[("Reply", "flow.return", {"data": 1})]))
    assert execution.status == "failed"
    assert execution.error == "Internal error: storage full"
    messages = list(execution.logs.order_by("id").values_list("message", flat=True))
    assert messages == ["Execution started: flow 'Main'"]
