"""A source that fails (SPEC §8): each failed poll is a failed execution with no steps and
the cause as its error, the cursor stays; from the third failure in a row the flow skips
2, 4, 8 … fires, never more than an hour; one success resets it. And a component's own
polling trigger, paging through the source, or raising."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

# Registers pagedtest.orders for the tests below (imported for that side effect).
import tests.fixtures.polling_components  # noqa: F401
from executions.models import ExecutionStatus, TriggerKind
from tests.fixtures.polling import START, Poller, closed_port_url, orders_definition
from triggers.models import ScheduleFireOutcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def poller(item_source, make_integration, make_instance):
    definition = orders_definition(item_source.url("/orders"), trigger={"onDeploy": "backfill"})
    return Poller(make_instance(make_integration(definition)))


def failed_errors(poller: Poller) -> list[str]:
    return [e.error for e in poller.executions() if e.status == ExecutionStatus.FAILED]


def test_an_error_status_is_a_failed_execution_without_steps_and_the_cursor_stays(
    item_source, poller
):
    item_source.add(2)
    poller.fire()
    item_source.add(1)
    item_source.fail_with(503)
    poller.fire()
    failed = poller.executions()[-1]
    assert failed.status == ExecutionStatus.FAILED
    assert failed.trigger_kind == TriggerKind.POLL
    assert failed.error == f"GET {item_source.url('/orders')} answered 503"
    assert failed.steps.count() == 0
    assert failed.ended_at is not None
    assert failed.trigger_payload["poll"]["cursor"] == 2
    state = poller.state()
    assert (state.cursor, state.consecutive_failures, state.backoff_until) == (2, 1, None)
    item_source.recover()
    poller.fire()
    assert [e.trigger_payload["body"]["data"]["id"] for e in poller.executions()[-1:]] == ["o3"]
    assert poller.state().consecutive_failures == 0


def test_a_body_that_is_not_json_fails_the_poll(item_source, poller):
    item_source.fail_with("not json")
    poller.fire()
    assert failed_errors(poller) == [
        f"GET {item_source.url('/orders')} answered a body that is not JSON"
    ]


def test_a_connection_error_fails_the_poll(make_integration, make_instance):
    url = closed_port_url()
    poller = Poller(make_instance(make_integration(orders_definition(url))))
    poller.fire()
    (error,) = failed_errors(poller)
    assert error.startswith(f"GET {url} failed: ")


def test_a_path_not_in_the_response_fails_the_poll(item_source, make_integration, make_instance):
    definition = orders_definition(item_source.url("/orders"), itemsPath="data.invoices")
    poller = Poller(make_instance(make_integration(definition)))
    item_source.add(1)
    poller.fire()
    (error,) = failed_errors(poller)
    assert error.startswith("itemsPath 'data.invoices' not found: no 'invoices' in an object")
    assert poller.state().cursor is None


def test_an_item_without_its_id_fails_the_poll(item_source, make_integration, make_instance):
    definition = orders_definition(item_source.url("/orders"), itemIdPath="orderNumber")
    poller = Poller(make_instance(make_integration(definition)))
    item_source.add(1)
    poller.fire()
    (error,) = failed_errors(poller)
    assert error.startswith("itemIdPath of item 0 'orderNumber' not found")


def test_three_failures_back_off_2_4_8_fires_and_one_success_resets(item_source, poller):
    item_source.fail_with(500)
    outcomes = []
    for _ in range(3 + 2 + 1 + 4 + 1):
        claim = poller.fire()
        assert claim is not None
        outcomes.append(claim.outcome)
        if len(outcomes) == 3:
            state = poller.state()
            # Fires at 0, 5, 10 min failed: 15 and 20 are skipped, 25 tries.
            assert state.backoff_until == START + timedelta(minutes=25)
    skipped, started = ScheduleFireOutcome.SKIPPED, ScheduleFireOutcome.STARTED
    assert outcomes == [started] * 3 + [skipped] * 2 + [started] + [skipped] * 4 + [started]
    state = poller.state()
    assert state.consecutive_failures == 5
    assert state.skipped_backing_off == 6
    assert len(item_source.requests) == 5
    assert len(failed_errors(poller)) == 5
    # The fifth failure skips 8 fires: 40 minutes, under the hour.
    assert state.backoff_until == START + timedelta(minutes=50 + 45)
    item_source.recover()
    item_source.add(1)
    poller.fires = 19  # the fire at 95 minutes: the back-off is over
    poller.fire()
    state = poller.state()
    assert (state.consecutive_failures, state.backoff_until, state.cursor) == (0, None, 1)
    assert poller.executions()[-1].trigger_payload["body"]["data"]["id"] == "o1"


def test_the_back_off_is_never_more_than_an_hour(item_source, poller):
    item_source.fail_with(500)
    state = poller.state
    poller.fire()
    from_db = state()
    from_db.consecutive_failures = 5  # the sixth failure would skip 16 fires: 80 minutes
    from_db.save()
    poller.fire()  # the fire at 5 minutes
    assert state().backoff_until == START + timedelta(minutes=5, hours=1)


def test_a_component_polling_trigger_pages_through_the_source(
    item_source, make_integration, make_instance
):
    definition = orders_definition(item_source.url("/orders"), trigger={"onDeploy": "backfill"})
    definition["flows"][0]["trigger"]["type"] = "pagedtest.orders"
    definition["flows"][0]["trigger"]["inputs"] = {"baseUrl": item_source.base_url}
    poller = Poller(make_instance(make_integration(definition)))
    item_source.add(5)
    poller.fire()
    item_source.add(1)
    poller.fire()
    ids = [e.trigger_payload["body"]["data"]["id"] for e in poller.executions()]
    assert ids == ["o1", "o2", "o3", "o4", "o5", "o6"]
    assert poller.state().cursor == 6


def test_a_component_that_raises_is_a_failed_poll(item_source, make_integration, make_instance):
    definition = orders_definition(item_source.url("/orders"))
    definition["flows"][0]["trigger"]["type"] = "pagedtest.orders"
    definition["flows"][0]["trigger"]["inputs"] = {"baseUrl": "x", "mode": "crash"}
    poller = Poller(make_instance(make_integration(definition)))
    poller.fire()
    assert failed_errors(poller) == ["The poll failed: RuntimeError: component bug"]
    assert poller.state().consecutive_failures == 1


def test_an_input_that_does_not_resolve_is_a_failed_poll(
    item_source, make_integration, make_instance
):
    # Trigger inputs are resolved before any trigger payload exists.
    definition = orders_definition("{{ trigger.body.url }}")
    poller = Poller(make_instance(make_integration(definition)))
    poller.fire()
    (error,) = failed_errors(poller)
    assert error == (
        "The trigger's inputs could not be resolved: "
        "Reference 'trigger.body.url' not found: 'trigger' is not available here"
    )


def test_a_credential_in_the_query_is_in_no_log_line(
    item_source, make_integration, make_instance, caplog
):
    # The HTTP client logs each request's full URL at INFO; its logger is held at WARNING.
    definition = orders_definition(
        item_source.url("/orders"),
        queryParameters={"since": "{{ poll.cursor }}", "api_key": "sk-live-4f9a1c"},
    )
    poller = Poller(make_instance(make_integration(definition)))
    item_source.add(1)
    with caplog.at_level(logging.DEBUG):
        poller.fire()
        item_source.fail_with(500)
        poller.fire()
    assert item_source.requests[0]["api_key"] == ["sk-live-4f9a1c"]  # it was sent
    assert "Polled" in caplog.text and "failed" in caplog.text  # and lines were logged
    assert "sk-live-4f9a1c" not in caplog.text
