"""Cancel routes: one queued execution, or an instance's queued executions; tenancy."""

from __future__ import annotations

import pytest

from executions.models import Execution
from executions.retries import execution_retry_schedule
from executions.services import execution_create

pytestmark = pytest.mark.django_db


def test_cancel_a_queued_execution(staff_api, world):
    execution = world["execution_a"]
    response = staff_api.post(f"/api/v1/executions/{execution.pk}/cancel")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["error"]) == ("canceled", "Canceled while queued")
    assert body["endedAt"] is not None
    again = staff_api.post(f"/api/v1/executions/{execution.pk}/cancel")
    assert again.status_code == 400
    assert again.json()["error"] == "Only a queued execution can be canceled; this one is canceled."


def test_a_running_execution_is_not_canceled(staff_api, world):
    execution = world["execution_a"]
    Execution.objects.filter(pk=execution.pk).update(status="running")
    assert staff_api.post(f"/api/v1/executions/{execution.pk}/cancel").status_code == 400
    execution.refresh_from_db()
    assert execution.status == "running"


def test_cancel_queued_of_an_instance_and_of_one_flow(staff_api, world):
    instance = world["instance_a"]
    flow = instance.integration.flows.get(name="Echo")

    more = execution_create(instance=instance, flow=flow, trigger_kind="manual", payload={})
    other_instance_row = world["execution_b"]
    unknown = staff_api.post(
        f"/api/v1/instances/{instance.pk}/cancel-queued", {"flow": "Nope"}, format="json"
    )
    assert unknown.json() == {"canceled": 0}
    response = staff_api.post(
        f"/api/v1/instances/{instance.pk}/cancel-queued", {"flow": "Echo"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"canceled": 2}
    assert set(
        Execution.objects.filter(pk__in=[world["execution_a"].pk, more.pk]).values_list(
            "status", flat=True
        )
    ) == {"canceled"}
    other_instance_row.refresh_from_db()
    assert other_instance_row.status == "queued"


def test_a_customer_cannot_cancel_another_tenants_executions(api_a, api_b, world):
    execution = world["execution_a"]
    assert api_b.post(f"/api/v1/executions/{execution.pk}/cancel").status_code == 404
    instance = world["instance_a"]
    assert api_b.post(f"/api/v1/instances/{instance.pk}/cancel-queued").status_code == 404
    execution.refresh_from_db()
    assert execution.status == "queued"
    assert api_a.post(f"/api/v1/instances/{instance.pk}/cancel-queued").json() == {"canceled": 1}


def test_the_detail_lists_every_attempt(staff_api, world):
    first = world["execution_a"]
    Execution.objects.filter(pk=first.pk).update(status="failed", error="down")
    flow = first.flow
    flow.retry_max_attempts = 2
    flow.save()
    retry = execution_retry_schedule(execution_id=first.pk)
    detail = staff_api.get(f"/api/v1/executions/{retry.pk}").json()
    assert (detail["attempt"], detail["retryOf"]) == (2, str(first.pk))
    assert detail["notBefore"] is not None
    assert [(a["id"], a["attempt"], a["status"]) for a in detail["attempts"]] == [
        (str(first.pk), 1, "failed"),
        (str(retry.pk), 2, "queued"),
    ]
