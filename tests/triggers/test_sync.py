"""Synchronous invocation: every sync row of SPEC §3's Responses table, on both results
storages (the local disk through our signed view, and S3 through moto's server on loopback
with the presigned URL fetched by plain HTTP), with the flow run by a real Celery worker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from executions.models import Execution
from executions.results import result_object_find
from tests.fixtures.sync import sync_step as step
from tests.fixtures.worker import wait_for_execution

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@dataclass
class Backend:
    """One results storage under test: how to follow a Location it hands out."""

    name: str
    client: Any
    s3_endpoint: str = ""

    def fetch(self, location: str) -> httpx.Response | Any:
        """GET a Location like a caller would: our own URLs through the test client (the
        web side of this test), S3's presigned URLs with plain HTTP."""
        parsed = urlparse(location)
        if parsed.path.startswith("/results/"):
            return self.client.get(parsed.path)
        assert self.name == "s3", f"local storage redirected off-site: {location}"
        return httpx.get(location)

    def follow(self, location: str) -> httpx.Response | Any:
        """Follow our result URL through to the result, S3's extra hop included."""
        response = self.fetch(location)
        if response.status_code == 303 and self.name == "s3":
            return self.fetch(response["Location"])
        return response


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, client: Any) -> Backend:
    if request.param == "local":
        request.getfixturevalue("celery_worker_process")
        return Backend(name="local", client=client)
    s3 = request.getfixturevalue("s3_results")
    return Backend(name="s3", client=client, s3_endpoint=s3.endpoint_url)


def body_of(response: Any) -> bytes:
    if isinstance(response, httpx.Response):
        return response.content
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def content_type_of(response: Any) -> str:
    return response.headers["content-type"]


def execution_of(response: Any) -> Execution:
    return Execution.objects.get(pk=response["triggerfish-executionid"])


# -- sync finished, default: 303 to a signed, expiring URL of the last step's result ---------


def test_sync_flow_answers_303_to_the_result_which_get_returns_as_json(backend, sync_flow, client):
    url = sync_flow([step("flow.return", data="{{ trigger.body.data }}")])
    response = client.post(url, data=b'{"renderId": 51266}', content_type="application/json")
    assert response.status_code == 303, response.content
    assert response.content == b""
    execution = execution_of(response)
    assert execution.status == "succeeded" and execution.synchronous
    location = response["Location"]
    if backend.name == "s3":
        # Straight to the bucket: a presigned GET that carries its own expiry.
        assert location.startswith(f"{backend.s3_endpoint}/")
        assert "X-Amz-Signature=" in location and "X-Amz-Expires=3600" in location
    else:
        assert location.startswith("http://testserver-base/results/")
    result = backend.fetch(location)
    assert result.status_code == 200
    assert content_type_of(result) == "application/json"
    assert body_of(result) == b'{"renderId": 51266}'


def test_a_plain_value_result_is_stored_as_json(backend, sync_flow, client):
    url = sync_flow(
        [step("text.split", name="Split", text="a,b,c", separator=",")],
    )
    response = client.post(url)
    assert response.status_code == 303
    result = backend.fetch(response["Location"])
    assert content_type_of(result) == "application/json"
    assert body_of(result) == b'["a", "b", "c"]'


def test_a_large_binary_result_is_redirected_and_arrives_byte_exact(backend, sync_flow, client):
    # Over the inline limit (stored as a file by the worker) and over the direct limit.
    url = sync_flow([step("flow.return", data="{{ trigger.rawBody.data }}")])
    payload = PNG * 300
    response = client.post(
        f"{url}?triggerfish-prefer-direct-sync-response=true",
        data=payload,
        content_type="image/png",
    )
    assert response.status_code == 303
    result = backend.fetch(response["Location"])
    assert result.status_code == 200
    assert content_type_of(result) == "application/octet-stream"
    assert body_of(result) == payload


def test_header_makes_an_async_flow_synchronous(backend, sync_flow, client):
    url = sync_flow([step("flow.return", data="done")], trigger={"type": "webhook"})
    response = client.post(url, headers={"triggerfish-synchronous": "true"})
    assert response.status_code == 303
    result = backend.fetch(response["Location"])
    assert body_of(result) == b"done"
    assert content_type_of(result) == "text/plain; charset=utf-8"


# -- prefer-direct ------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "query"])
def test_prefer_direct_answers_text_like_results_in_the_body(backend, sync_flow, client, how):
    url = sync_flow([step("flow.return", data={"ok": True, "items": [1, 2]})])
    if how == "header":
        response = client.post(url, headers={"triggerfish-prefer-direct-sync-response": "true"})
    else:
        response = client.post(f"{url}?triggerfish-prefer-direct-sync-response=true")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"ok": True, "items": [1, 2]}
    assert response["triggerfish-executionid"] == str(execution_of(response).pk)


def test_a_small_result_answered_directly_is_never_written_to_the_results_storage(
    backend, sync_flow, client
):
    url = sync_flow([step("flow.return", data={"ok": True})])
    direct = client.post(url, headers={"triggerfish-prefer-direct-sync-response": "true"})
    assert direct.status_code == 200 and direct.json() == {"ok": True}
    # The runner left it in the StepResult row; the direct answer came from there.
    assert result_object_find(execution_id=execution_of(direct).pk) is None
    # A caller answered by redirect gets the object, written on demand.
    redirected = client.post(url)
    assert redirected.status_code == 303
    assert result_object_find(execution_id=execution_of(redirected).pk) is not None
    assert backend.fetch(redirected["Location"]).status_code == 200


def test_prefer_direct_redirects_a_binary_result(backend, sync_flow, client):
    url = sync_flow([step("flow.return", data="{{ trigger.rawBody.data }}")])
    response = client.post(
        url,
        data=PNG,
        content_type="image/png",
        headers={"triggerfish-prefer-direct-sync-response": "true"},
    )
    assert response.status_code == 303
    assert body_of(backend.fetch(response["Location"])) == PNG


def test_prefer_direct_redirects_a_result_over_the_size_limit(backend, sync_flow, client, settings):
    settings.TRIGGERFISH_SYNC_DIRECT_MAX_BYTES = 16
    url = sync_flow([step("flow.return", data="x" * 17)])
    response = client.post(url, headers={"triggerfish-prefer-direct-sync-response": "true"})
    assert response.status_code == 303
    assert body_of(backend.fetch(response["Location"])) == b"x" * 17
    at_limit = client.post(
        sync_flow([step("flow.return", data="y" * 16)]),
        headers={"triggerfish-prefer-direct-sync-response": "true"},
    )
    assert at_limit.status_code == 200 and at_limit.content == b"y" * 16


# -- results that set statusCode, and flow.stop_execution: never a redirect ---------------


def test_a_result_with_status_code_is_answered_as_it_says(backend, sync_flow, client):
    url = sync_flow(
        [
            step(
                "flow.return",
                data="<error>not acceptable</error>",
                statusCode=406,
                contentType="application/xml",
                headers={"x-acme": "yes"},
            )
        ]
    )
    response = client.post(url)
    assert response.status_code == 406
    assert response.content == b"<error>not acceptable</error>"
    assert response["Content-Type"] == "application/xml"
    assert response["x-acme"] == "yes"
    assert response["triggerfish-executionid"] == str(execution_of(response).pk)


def test_a_result_can_redirect_the_caller_elsewhere(backend, sync_flow, client):
    url = sync_flow(
        [
            step(
                "flow.return",
                data="Redirecting you...",
                statusCode=303,
                headers={"Location": "https://example.com/next"},
            )
        ]
    )
    response = client.post(url, headers={"triggerfish-prefer-direct-sync-response": "true"})
    assert response.status_code == 303
    assert response["Location"] == "https://example.com/next"
    assert response.content == b"Redirecting you..."


def test_status_code_without_data_answers_an_empty_body(backend, sync_flow, client):
    response = client.post(sync_flow([step("flow.return", statusCode=204)]))
    assert response.status_code == 204
    assert response.content == b""


def test_stop_execution_answers_its_status_and_body(backend, sync_flow, client):
    url = sync_flow(
        [
            step(
                "flow.stop_execution",
                name="Stop",
                statusCode=415,
                body={"error": "send JSON"},
                headers={"x-reason": "media"},
            ),
            step("flow.return", data="never"),
        ]
    )
    response = client.post(url)
    assert response.status_code == 415
    assert response.json() == {"error": "send JSON"}
    assert response["x-reason"] == "media"
    execution = execution_of(response)
    assert list(execution.steps.values_list("name", flat=True)) == ["Stop"]


def test_stop_execution_without_a_body_answers_nothing(backend, sync_flow, client):
    response = client.post(sync_flow([step("flow.stop_execution", statusCode=200)]))
    assert response.status_code == 200
    assert response.content == b""


# -- contentType without statusCode: 303 (or 200 direct) carrying that content type -----------


def test_content_type_without_status_is_redirected_with_that_type(backend, sync_flow, client):
    url = sync_flow([step("flow.return", data="id,name\n1,Ada\n", contentType="text/csv")])
    response = client.post(url)
    assert response.status_code == 303
    result = backend.fetch(response["Location"])
    assert content_type_of(result) == "text/csv"
    assert body_of(result) == b"id,name\n1,Ada\n"


def test_content_type_without_status_is_direct_when_preferred(backend, sync_flow, client):
    url = sync_flow([step("flow.return", data="<a>1</a>", contentType="application/xml")])
    response = client.post(url, headers={"triggerfish-prefer-direct-sync-response": "true"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response.content == b"<a>1</a>"


# -- errors and time ----------------------------------------------------------------------------


def test_a_run_that_raises_is_400_with_its_message(backend, sync_flow, client):
    url = sync_flow([step("flow.fail", name="Check", message="Render 7 is not ready")])
    response = client.post(url)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Render 7 is not ready"}
    assert execution_of(response).error == "Render 7 is not ready"


def test_a_run_past_the_sync_timeout_is_202_then_its_url_serves_the_result(
    backend, sync_flow, client
):
    url = sync_flow(
        [step("flow.sleep", name="Wait", seconds=3), step("flow.return", data={"late": 1})],
        syncTimeoutSeconds=0.3,
    )
    started = time.monotonic()
    response = client.post(url)
    waited = time.monotonic() - started
    assert response.status_code == 202
    execution = execution_of(response)
    assert response.json() == {"executionId": str(execution.pk), "status": "running"}
    # Answered at the timeout, not at the run's end: the run is still going.
    assert not execution.is_finished
    assert 0.3 <= waited < 2.5
    location = response["Location"]
    # Our own signed view for both storages: it knows the run is still going.
    assert location.startswith("http://testserver-base/results/")
    running = backend.fetch(location)
    assert running.status_code == 202
    assert running.json() == {"status": "running"}
    # The run goes on without the caller.
    assert wait_for_execution(execution.pk).status == "succeeded"
    result = backend.follow(location)
    assert result.status_code == 200
    assert body_of(result) == b'{"late": 1}'
    assert content_type_of(result) == "application/json"


def test_the_result_url_answers_a_finished_failure_as_400(backend, sync_flow, client):
    url = sync_flow(
        [step("flow.sleep", name="Wait", seconds=0.6), step("flow.fail", message="too late")],
        syncTimeoutSeconds=0.1,
    )
    response = client.post(url)
    assert response.status_code == 202
    wait_for_execution(execution_of(response).pk)
    late = backend.fetch(response["Location"])
    assert late.status_code == 400
    assert late.json() == {"error": "too late"}


def test_a_fast_run_wakes_the_request_well_before_the_timeout(backend, sync_flow, client):
    url = sync_flow([step("flow.return", data="quick")], syncTimeoutSeconds=20)
    client.post(url)  # warm-up: first task of a test may pay for connections
    started = time.monotonic()
    response = client.post(url, headers={"triggerfish-prefer-direct-sync-response": "true"})
    assert response.status_code == 200 and response.content == b"quick"
    assert time.monotonic() - started < 5.0


# -- async stays async ------------------------------------------------------------------


def test_header_false_forces_a_sync_flow_to_answer_async(sync_flow, client):
    url = sync_flow([step("flow.return", data="x")])
    response = client.post(url, headers={"triggerfish-synchronous": "false"})
    assert response.status_code == 200
    execution = execution_of(response)
    assert response.json() == {"executionId": str(execution.pk)}
    assert execution.synchronous is False
    # The worker runs it after the answer; let it finish before the database is flushed.
    assert wait_for_execution(execution.pk).status == "succeeded"


def test_a_sync_header_that_is_not_a_boolean_is_400_and_runs_nothing(sync_flow, client):
    url = sync_flow([step("flow.return", data="x")])
    response = client.post(url, headers={"triggerfish-synchronous": "maybe"})
    assert response.status_code == 400
    assert response.json() == {"error": "Header triggerfish-synchronous must be true or false."}
    assert not Execution.objects.exists()


# -- S3 specifics -------------------------------------------------------------------------------


def test_s3_presigned_url_expiry_follows_the_setting(s3_results, sync_flow, client, settings):
    settings.TRIGGERFISH_RESULT_URL_SECONDS = 120
    response = client.post(sync_flow([step("flow.return", data=[1])]))
    assert response.status_code == 303
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["X-Amz-Expires"] == ["120"]
    execution = execution_of(response)
    # The worker stored the object in the bucket (not this process on demand).
    assert f"executions/{execution.pk}/result" in s3_results.keys(f"executions/{execution.pk}/")
    head = s3_results.client.head_object(
        Bucket=s3_results.bucket, Key=f"executions/{execution.pk}/result"
    )
    assert head["ContentType"] == "application/json"


def test_the_202_location_on_s3_redirects_to_a_fresh_presigned_url(s3_results, sync_flow, client):
    url = sync_flow(
        [step("flow.sleep", name="Wait", seconds=0.8), step("flow.return", data="slow")],
        syncTimeoutSeconds=0.1,
    )
    response = client.post(url)
    assert response.status_code == 202
    wait_for_execution(execution_of(response).pk)
    redirect = client.get(urlparse(response["Location"]).path)
    assert redirect.status_code == 303
    assert "X-Amz-Signature=" in redirect["Location"]
    fetched = httpx.get(redirect["Location"])
    assert fetched.status_code == 200 and fetched.content == b"slow"
