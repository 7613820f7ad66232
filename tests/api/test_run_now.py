"""Run now over the API: ``POST /api/v1/instances/{id}/flows/{flow name}/run`` fires a
schedule flow (201, its new execution) or polls a polling flow (200, the poll's outcome)
as beat would; a webhook flow is 400, an unknown flow or another tenant's instance 404, a
paused instance or a busy singleton 409."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from django.utils import timezone

from executions.models import Execution, ExecutionStatus, TriggerKind
from instances.lifecycle import instance_pause
from tests.fixtures.api import api_client_for
from tests.fixtures.poll_source import item_source  # noqa: F401 (a fixture, used by name)
from tests.fixtures.polling import FLOW, orders_definition
from tests.fixtures.schedules import one_flow_definition, schedule_definition
from tests.fixtures.worker import wait_for_execution
from triggers.models import ScheduleFire
from triggers.schedules.fire import SINGLETON_SKIP_ERROR, schedule_fire

pytestmark = pytest.mark.django_db


def run_url(instance, flow_name: str) -> str:
    return f"/api/v1/instances/{instance.pk}/flows/{quote(flow_name)}/run"


@pytest.fixture
def scheduled(make_integration, make_instance):
    return make_instance(make_integration(schedule_definition()))


@pytest.fixture
def polling(item_source, make_integration, make_instance):  # noqa: F811
    definition = orders_definition(item_source.url("/orders"), trigger={"onDeploy": "backfill"})
    return make_instance(make_integration(definition))


def test_a_schedule_flow_runs_now_with_201_and_the_execution_a_fire_creates(scheduled, api_a):
    before = timezone.now()
    response = api_a.post(run_url(scheduled, "Every Ten"))
    assert response.status_code == 201, response.json()
    body = response.json()
    execution = Execution.objects.get(pk=body["id"])
    assert body["status"] == ExecutionStatus.QUEUED
    assert body["flow"] == "Every Ten" and body["instance"] == str(scheduled.pk)
    assert execution.trigger_kind == TriggerKind.SCHEDULE
    fired_at = datetime.fromisoformat(execution.trigger_payload["scheduledTime"])
    assert before <= fired_at <= timezone.now()
    assert fired_at.utcoffset() == UTC.utcoffset(None)
    assert "invokedAt" in execution.trigger_payload
    assert execution.trigger_payload["instance"]["id"] == str(scheduled.pk)
    # A Run now takes no claim: it never stands in the way of beat's fire of this minute.
    assert not ScheduleFire.objects.exists()


def test_run_now_and_beat_fire_of_the_same_minute_both_run(scheduled, staff_api):
    minute = timezone.now().replace(second=0, microsecond=0)
    assert staff_api.post(run_url(scheduled, "Every Ten")).status_code == 201
    claim = schedule_fire(instance_id=scheduled.pk, flow_name="Every Ten", scheduled_time=minute)
    assert claim is not None and claim.execution is not None
    assert staff_api.post(run_url(scheduled, "Every Ten")).status_code == 201
    assert Execution.objects.filter(instance=scheduled, flow__name="Every Ten").count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_run_now_execution_is_run_by_the_worker(
    celery_worker_process, make_integration, make_instance, staff_user
):
    instance = make_instance(make_integration(one_flow_definition({"every": 1, "unit": "hours"})))
    response = api_client_for(staff_user).post(run_url(instance, "Tick"))
    assert response.status_code == 201
    execution = wait_for_execution(response.json()["id"])
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.steps.get().status == "succeeded"


def test_a_polling_flow_polls_now_and_answers_its_outcome(item_source, polling, api_a):  # noqa: F811
    item_source.add(2)
    response = api_a.post(run_url(polling, FLOW))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "succeeded" and body["itemCount"] == 2
    assert "error" not in body
    started = Execution.objects.filter(instance=polling, flow__name=FLOW).order_by("arrived_at")
    assert body["executions"] == [str(e.pk) for e in started]
    assert [e.trigger_payload["body"]["data"]["id"] for e in started] == ["o1", "o2"]
    # The poll moved the cursor as beat's would: asked again, nothing is new.
    again = api_a.post(run_url(polling, FLOW)).json()
    assert (again["status"], again["executions"]) == ("succeeded", [])
    assert [q.get("since") for q in item_source.requests] == [None, ["2"]]


def test_a_failed_poll_answers_failed_with_its_failed_execution(item_source, polling, staff_api):  # noqa: F811
    item_source.fail_with(503)
    response = staff_api.post(run_url(polling, FLOW))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed" and body["itemCount"] == 0
    assert "503" in body["error"]
    (failed_id,) = body["executions"]
    failed = Execution.objects.get(pk=failed_id)
    assert failed.status == ExecutionStatus.FAILED and failed.error == body["error"]


def test_a_poll_backing_off_is_409_with_when_it_tries_again(item_source, polling, staff_api):  # noqa: F811
    item_source.fail_with(503)
    for _ in range(3):  # Run now's failures count as beat's: the third starts the back-off
        assert staff_api.post(run_url(polling, FLOW)).json()["status"] == "failed"
    response = staff_api.post(run_url(polling, FLOW))
    assert response.status_code == 409
    assert response.json()["error"].startswith("Backing off after 3 failed polls")


def test_a_webhook_flow_is_400_call_the_url(scheduled, staff_api):
    response = staff_api.post(run_url(scheduled, "Hook"))
    assert response.status_code == 400
    assert "call the URL" in response.json()["error"]
    assert not Execution.objects.filter(instance=scheduled).exists()


def test_an_unknown_flow_is_404(scheduled, staff_api):
    response = staff_api.post(run_url(scheduled, "No Such Flow"))
    assert response.status_code == 404
    assert "No Such Flow" in response.json()["error"]


def test_another_tenants_instance_is_404_and_runs_nothing(scheduled, api_b):
    response = api_b.post(run_url(scheduled, "Every Ten"))
    assert response.status_code == 404
    assert not Execution.objects.filter(instance=scheduled).exists()


def test_a_paused_instance_is_409_and_runs_nothing(scheduled, api_a):
    instance_pause(instance=scheduled)
    response = api_a.post(run_url(scheduled, "Every Ten"))
    assert response.status_code == 409
    assert "paused" in response.json()["error"]
    assert not Execution.objects.filter(instance=scheduled).exists()


def test_an_instance_not_deployed_is_409(make_integration, make_instance, staff_api):
    instance = make_instance(make_integration(schedule_definition()), deploy=False)
    response = staff_api.post(run_url(instance, "Every Ten"))
    assert response.status_code == 409
    assert "not deployed" in response.json()["error"]


def test_a_busy_singleton_is_409_and_records_the_skip(make_integration, make_instance, api_a):
    definition = one_flow_definition({"every": 1, "unit": "hours"}, singleton=True)
    instance = make_instance(make_integration(definition))
    first = api_a.post(run_url(instance, "Tick"))
    assert first.status_code == 201  # queued: no worker here, so it stays "going"
    second = api_a.post(run_url(instance, "Tick"))
    assert second.status_code == 409
    body = second.json()
    assert body["error"] == SINGLETON_SKIP_ERROR
    skipped = Execution.objects.get(pk=body["executionId"])
    assert skipped.status == ExecutionStatus.CANCELED and skipped.error == SINGLETON_SKIP_ERROR
