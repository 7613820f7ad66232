"""Built-in actions (SPEC §2 table), called the way the runner calls them: declared inputs
checked by ``action_inputs_prepare``, then ``action.function(context, **inputs)``.
``http.request`` talks to a real local server (the ``http_peer`` fixture)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from executions.models import ExecutionLog
from executions.runner import execution_log_sink
from integrations.components.builtins import flow
from integrations.components.context import (
    ActionContext,
    InputError,
    StepError,
    StopExecution,
    action_inputs_prepare,
)
from integrations.components.registry import get_action
from tests.fixtures.executions import execution_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def context() -> ActionContext:
    execution = execution_make(steps=[])
    return ActionContext(
        execution_id=str(execution.id),
        step_name="Under Test",
        log_sink=execution_log_sink(execution, []),
    )


def run(context: ActionContext, key: str, **inputs: Any) -> Any:
    action = get_action(key)
    assert action is not None, key
    return action.function(context, **action_inputs_prepare(action=action, inputs=inputs))


# http.request


def test_http_get_parses_json_and_returns_status_and_headers(context, http_peer):
    http_peer.respond("/renders/7", json={"id": 7}, headers={"X-Trace": "abc"})
    result = run(context, "http.request", url=http_peer.url("/renders/7"))
    assert result["data"] == {"id": 7}
    assert result["statusCode"] == 200
    assert result["headers"]["x-trace"] == "abc"
    assert result["headers"]["content-type"] == "application/json"
    assert http_peer.last_request.method == "GET"


def test_http_post_sends_an_object_as_json(context, http_peer):
    result = run(
        context,
        "http.request",
        method="post",
        url=http_peer.url("/contacts"),
        body={"email": "a@example.com", "tags": [1, 2]},
    )
    request = http_peer.last_request
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"email": "a@example.com", "tags": [1, 2]}
    assert result["data"] == {"ok": True}


def test_http_text_and_bytes_bodies_are_sent_as_given(context, http_peer):
    run(context, "http.request", method="PUT", url=http_peer.url("/t"), body="héllo")
    assert http_peer.last_request.body == "héllo".encode()
    assert http_peer.last_request.headers["content-type"] == "text/plain; charset=utf-8"
    payload = bytes(range(256))
    run(
        context,
        "http.request",
        method="PUT",
        url=http_peer.url("/b"),
        body=payload,
        headers={"Content-Type": "image/png"},
    )
    assert http_peer.last_request.body == payload
    assert http_peer.last_request.headers["content-type"] == "image/png"


def test_http_binary_response_is_byte_exact(context, http_peer):
    payload = bytes(range(256)) * 40
    http_peer.respond("/file", body=payload, content_type="application/octet-stream")
    result = run(context, "http.request", url=http_peer.url("/file"), responseType="binary")
    assert result["data"] == payload
    assert isinstance(result["data"], bytes)


def test_http_text_response_type_returns_text_even_for_json(context, http_peer):
    http_peer.respond("/j", json={"a": 1})
    result = run(context, "http.request", url=http_peer.url("/j"), responseType="text")
    assert result["data"] == '{"a": 1}'


def test_http_json_response_type_falls_back_to_text_and_null(context, http_peer):
    http_peer.respond("/html", text="<p>hi</p>", content_type="text/html")
    http_peer.respond("/empty", status=204, body=b"")
    assert run(context, "http.request", url=http_peer.url("/html"))["data"] == "<p>hi</p>"
    assert run(context, "http.request", url=http_peer.url("/empty"))["data"] is None


def test_http_query_parameters_merge_with_the_url_query(context, http_peer):
    run(
        context,
        "http.request",
        url=http_peer.url("/search?fixed=1"),
        queryParameters={"q": "a b", "tag": ["x", "y"], "n": 3},
    )
    assert http_peer.last_request.query == {
        "fixed": ["1"],
        "q": ["a b"],
        "tag": ["x", "y"],
        "n": ["3"],
    }


def test_http_headers_are_sent(context, http_peer):
    run(
        context,
        "http.request",
        url=http_peer.url("/h"),
        headers={"Authorization": "Bearer t0k", "X-Count": 2},
    )
    assert http_peer.last_request.headers["authorization"] == "Bearer t0k"
    assert http_peer.last_request.headers["x-count"] == "2"


def test_http_error_status_is_a_result_unless_asked_to_fail(context, http_peer):
    http_peer.respond("/missing", status=404, json={"error": "no such render"})
    result = run(context, "http.request", url=http_peer.url("/missing"))
    assert result["statusCode"] == 404
    assert result["data"] == {"error": "no such render"}
    with pytest.raises(StepError, match=r"GET http://127\.0\.0\.1:\d+/missing answered 404"):
        run(context, "http.request", url=http_peer.url("/missing"), failOnErrorStatus=True)


def test_http_timeout_fails_the_step_quickly(context, http_peer):
    http_peer.respond("/slow", text="late", delay=2.0)
    started = time.monotonic()
    with pytest.raises(StepError, match=r"timed out after 0.2 s"):
        run(context, "http.request", url=http_peer.url("/slow?secret=1"), timeoutSeconds=0.2)
    assert time.monotonic() - started < 1.5


def test_http_error_messages_leave_out_the_query_string(context, http_peer):
    http_peer.respond("/slow", text="late", delay=1.0)
    with pytest.raises(StepError) as caught:
        run(context, "http.request", url=http_peer.url("/slow?token=s3cret"), timeoutSeconds=0.1)
    assert "s3cret" not in str(caught.value)


def test_http_refused_connection_is_a_step_error(context, http_peer):
    port = http_peer.port
    http_peer.stop()
    with pytest.raises(StepError, match="failed"):
        run(context, "http.request", url=f"http://127.0.0.1:{port}/x", timeoutSeconds=2)


def test_http_rejects_bad_method_response_type_and_missing_url(context):
    with pytest.raises(InputError, match="'method'"):
        run(context, "http.request", url="http://127.0.0.1:1/", method="BREW")
    with pytest.raises(InputError, match="'responseType'"):
        run(context, "http.request", url="http://127.0.0.1:1/", responseType="xml")
    with pytest.raises(InputError, match="Missing required input 'url'"):
        run(context, "http.request")
    with pytest.raises(InputError, match="Unknown input 'uri'"):
        run(context, "http.request", uri="http://127.0.0.1:1/")


# text.split


def test_text_split_returns_a_list(context):
    assert run(context, "text.split", text="a,b,,c", separator=",") == ["a", "b", "", "c"]
    assert run(context, "text.split", text="one", separator=";") == ["one"]


def test_text_split_rejects_an_empty_separator(context):
    with pytest.raises(StepError, match="separator"):
        run(context, "text.split", text="abc", separator="")


# flow.*


def test_flow_return_gives_back_the_inputs_given(context):
    assert run(context, "flow.return") == {}
    assert run(context, "flow.return", data={"a": 1}, statusCode="201") == {
        "data": {"a": 1},
        "statusCode": 201,
    }
    assert run(
        context, "flow.return", data=b"\x00", contentType="image/png", headers={"x": "y"}
    ) == {"data": b"\x00", "contentType": "image/png", "headers": {"x": "y"}}


def test_flow_stop_execution_raises_with_the_response(context):
    with pytest.raises(StopExecution) as caught:
        run(context, "flow.stop_execution", statusCode=409, body={"error": "dup"})
    assert caught.value.response == {"statusCode": 409, "body": {"error": "dup"}}
    with pytest.raises(StepError, match="HTTP status"):
        run(context, "flow.stop_execution", statusCode=42)


def test_flow_fail_raises_with_the_message(context):
    with pytest.raises(StepError) as caught:
        run(context, "flow.fail", message="Render 7 is not ready")
    assert str(caught.value) == "Render 7 is not ready"


def test_flow_sleep_waits(context):
    started = time.monotonic()
    assert run(context, "flow.sleep", seconds="0.15") == {"sleptSeconds": 0.15}
    assert time.monotonic() - started >= 0.15
    with pytest.raises(StepError, match="negative"):
        run(context, "flow.sleep", seconds=-1)


def test_flow_sleep_is_capped(context, monkeypatch):
    monkeypatch.setattr(flow, "MAX_SLEEP_SECONDS", 0.05)
    assert run(context, "flow.sleep", seconds=3600) == {"sleptSeconds": 0.05}
    assert ExecutionLog.objects.filter(
        execution_id=context.execution_id, level="warning", message__contains="capped"
    ).exists()


# log.write


def test_log_write_stores_a_line_tagged_with_the_step(context):
    run(context, "log.write", level="WARNING", message="disk almost full")
    run(context, "log.write", message=123)
    lines = list(
        ExecutionLog.objects.filter(execution_id=context.execution_id).values_list(
            "level", "message", "step_name"
        )
    )
    assert lines == [
        ("warning", "disk almost full", "Under Test"),
        ("info", "123", "Under Test"),
    ]


def test_log_write_rejects_an_unknown_level(context):
    with pytest.raises(InputError, match="'level'"):
        run(context, "log.write", level="loud", message="x")


# input checking shared by all actions


def test_inputs_are_coerced_or_rejected_by_declared_type(context):
    action = get_action("http.request")
    prepared = action_inputs_prepare(
        action=action,
        inputs={"url": "http://x", "timeoutSeconds": "2.5", "failOnErrorStatus": "true"},
    )
    assert prepared["timeoutSeconds"] == 2.5
    assert prepared["failOnErrorStatus"] is True
    assert prepared["headers"] == {}
    assert prepared["method"] == "GET"
    with pytest.raises(InputError, match="Input 'timeoutSeconds' must be number"):
        action_inputs_prepare(action=action, inputs={"url": "http://x", "timeoutSeconds": "soon"})
    with pytest.raises(InputError, match="Input 'headers' must be object"):
        action_inputs_prepare(action=action, inputs={"url": "http://x", "headers": [1]})


def test_mutable_defaults_are_not_shared_between_calls():
    action = get_action("http.request")
    first = action_inputs_prepare(action=action, inputs={"url": "http://x"})
    first["headers"]["X"] = "1"
    second = action_inputs_prepare(action=action, inputs={"url": "http://x"})
    assert second["headers"] == {}
