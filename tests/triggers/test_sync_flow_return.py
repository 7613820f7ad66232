"""What a synchronous caller gets from a flow whose last step is ``flow.return`` with no
inputs, or with inputs that all come out null (docs/synchronous.md): the step result is
``{}`` (SPEC §2: "an object of the inputs given, ``{}`` with none"), which is no result
shape, so it answers as the JSON object ``{}`` — not an empty body, not ``null``."""

from __future__ import annotations

import json

import pytest

from executions.models import Execution
from tests.fixtures.sync import sync_step as step

pytestmark = pytest.mark.django_db(transaction=True)

DIRECT = "?triggerfish-prefer-direct-sync-response=true"


@pytest.mark.parametrize(
    ("inputs", "body"),
    [
        ({}, b'{"renderId": 1}'),
        # The reference resolves to null (the caller sent JSON null): not "given".
        ({"data": "{{ trigger.body.data }}"}, b"null"),
    ],
    ids=["no-inputs", "null-data"],
)
def test_flow_return_without_data_answers_an_empty_json_object(
    celery_worker_process, sync_flow, client, inputs, body
):
    url = sync_flow([step("flow.return", **inputs)])
    response = client.post(url + DIRECT, data=body, content_type="application/json")

    assert response.status_code == 200, response.content
    assert response["content-type"] == "application/json"
    assert json.loads(response.content) == {}
    execution = Execution.objects.get(pk=response["triggerfish-executionid"])
    assert execution.status == "succeeded"
    assert execution.steps.get().result == {}
