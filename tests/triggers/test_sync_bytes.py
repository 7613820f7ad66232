"""What a run returns never makes its answer a 5xx, through a real gunicorn and worker:
bytes inside a result are answered as base64 strings in strict JSON (sync answer, result
URL, management API), a sender's object imitating the bytes encoding is kept as sent and
leaves the executions list working, and result URLs answer 405 JSON to other verbs."""

from __future__ import annotations

import base64
import json
import math

import httpx
import pytest
from django.utils import timezone

from api.services import api_token_create
from executions.models import Execution, StepResult
from executions.services import execution_create
from instances.models import Endpoint
from tests.fixtures.domain import definition
from tests.fixtures.sync import sync_step as step
from tests.fixtures.worker import wait_for_execution

pytestmark = pytest.mark.django_db(transaction=True)

PREFER_DIRECT = {"triggerfish-prefer-direct-sync-response": "true"}
BINARY = b"\x00\x01\xfe\xffnot text\x80"


@pytest.fixture
def server(celery_worker_process, start_live_server, celery_session_queue):
    return start_live_server(workers=2, env={"CELERY_TASK_DEFAULT_QUEUE": celery_session_queue})


@pytest.fixture
def staff_headers(staff_user) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token_create(user=staff_user)}"}


def _strict_json(response: httpx.Response):
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.content, parse_constant=pytest.fail)


def test_octet_stream_echoed_in_an_object_answers_base64_json(server, sync_flow, staff_headers):
    path = sync_flow([step("flow.return", data={"echo": "{{ trigger.body.data }}"})])
    url = f"{server.url}{path}"
    sent = {"content": BINARY, "headers": {"Content-Type": "application/octet-stream"}}

    direct = httpx.post(url, headers={**sent["headers"], **PREFER_DIRECT}, content=BINARY)
    assert direct.status_code == 200, direct.text
    assert _strict_json(direct) == {"echo": base64.b64encode(BINARY).decode()}
    execution = Execution.objects.get(pk=direct.headers["triggerfish-executionid"])
    assert execution.status == "succeeded"

    redirected = httpx.post(url, **sent)
    assert redirected.status_code == 303, redirected.text
    result = httpx.get(redirected.headers["location"])
    assert result.status_code == 200
    assert _strict_json(result) == {"echo": base64.b64encode(BINARY).decode()}

    api = httpx.get(f"{server.url}/api/v1/executions/{execution.pk}/result", headers=staff_headers)
    assert api.status_code == 200, api.text
    assert _strict_json(api) == {"echo": base64.b64encode(BINARY).decode()}


def test_a_multipart_upload_with_a_file_part_answers_its_bytes_as_base64(server, sync_flow):
    path = sync_flow([step("flow.return", data="{{ trigger.body.data }}")])
    response = httpx.post(
        f"{server.url}{path}",
        headers=PREFER_DIRECT,
        data={"note": "hello"},
        files={"file": ("photo.png", BINARY, "image/png")},
    )
    assert response.status_code == 200, response.text
    answer = _strict_json(response)
    assert answer["file"]["data"] == base64.b64encode(BINARY).decode()
    assert answer["file"]["filename"] == "photo.png"
    assert answer["note"]["data"] == "hello"


def test_a_bare_bytes_result_is_still_answered_as_the_bytes(server, sync_flow):
    path = sync_flow(
        [step("flow.return", data="{{ trigger.rawBody.data }}", contentType="image/png")]
    )
    response = httpx.post(
        f"{server.url}{path}", content=BINARY, headers={"Content-Type": "image/png"}
    )
    assert response.status_code == 303
    result = httpx.get(response.headers["location"])
    assert (result.status_code, result.headers["content-type"]) == (200, "image/png")
    assert result.content == BINARY


@pytest.mark.parametrize(
    "response_inputs",
    [
        {"headers": {"X Bad Name": "v", "X-Control": "a\u0001b", "X-Fine": "ok"}},
        {"contentType": "text/plain\u0007"},
        {"statusCode": 101},
    ],
)
def test_a_result_http_cannot_carry_is_never_a_5xx(server, sync_flow, response_inputs):
    path = sync_flow([step("flow.return", data={"a": 1}, **response_inputs)])
    response = httpx.post(f"{server.url}{path}", headers=PREFER_DIRECT, timeout=10)
    assert response.status_code < 500, response.text
    execution = Execution.objects.get(pk=response.headers["triggerfish-executionid"])
    assert execution.status == "succeeded"
    if "headers" in response_inputs:
        assert response.status_code == 200
        assert response.headers["x-fine"] == "ok"
        assert "x-control" not in response.headers
    else:
        assert response.status_code == 400
        assert "invalid" in response.json()["error"]


def test_a_sender_object_imitating_bytes_is_stored_as_sent_and_lists_keep_working(
    server, make_integration, make_instance, staff_headers
):
    spec = definition()
    spec["flows"][0]["trigger"]["endpointSecurity"] = "customer_optional"
    instance = make_instance(make_integration(spec))
    url = f"{server.url}/trigger/{Endpoint.objects.get(instance=instance).token}"
    forged = [
        {"__triggerfish_bytes__": "!!!notbase64"},
        {"__triggerfish_bytes__": "aGVsbG8="},
        {"___triggerfish_bytes__": {"__triggerfish_bytes__": []}},
    ]
    for body in forged:
        accepted = httpx.post(url, json=body)
        assert accepted.status_code == 200, accepted.text
        execution = wait_for_execution(accepted.json()["executionId"])
        assert execution.status == "succeeded", execution.error
        assert execution.trigger_payload["body"]["data"] == body
        result = httpx.get(
            f"{server.url}/api/v1/executions/{execution.pk}/result", headers=staff_headers
        )
        assert (result.status_code, result.json()) == (200, body)
    listed = httpx.get(f"{server.url}/api/v1/executions/", headers=staff_headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == len(forged)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_verbs_on_a_result_url_answer_405_json(server, sync_flow, method):
    path = sync_flow([step("flow.return", data={"n": 1})])
    location = httpx.post(f"{server.url}{path}").headers["location"]
    response = httpx.request(method, location, content=b"x")
    assert response.status_code == 405, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["allow"] == "GET, HEAD"
    assert "error" in response.json()
    assert httpx.get(location).status_code == 200


def test_non_finite_floats_in_a_result_are_answered_as_null(
    client, staff_user, make_integration, make_instance
):
    # NaN cannot arrive through the edge (400 there), but an action may compute one.
    instance = make_instance(make_integration(definition()))
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(),
        trigger_kind="manual",
        payload={},
        enqueue=False,
    )
    Execution.objects.filter(pk=execution.pk).update(status="succeeded", ended_at=timezone.now())
    StepResult.objects.create(
        execution=execution,
        position=0,
        name="Reply",
        action="flow.return",
        status="succeeded",
        started_at=timezone.now(),
        ended_at=timezone.now(),
        result={"data": {"ratio": math.nan, "limits": [math.inf, -math.inf, 2.5]}},
    )
    response = client.get(
        f"/api/v1/executions/{execution.pk}/result",
        headers={"Authorization": f"Bearer {api_token_create(user=staff_user)}"},
    )
    assert response.status_code == 200
    assert response.content == b'{"ratio": null, "limits": [null, null, 2.5]}'
