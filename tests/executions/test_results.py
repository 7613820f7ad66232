"""Result storage: small results inline, large ones in the results storage, both loaded
back exactly (bytes included)."""

from __future__ import annotations

import pytest

from core import codec
from executions.models import Execution
from executions.results import (
    execution_final_result,
    result_object_find,
    result_storage_key,
    step_result_load,
)
from executions.runner import execution_run
from tests.fixtures.executions import execution_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_inline_limit(settings):
    settings.TRIGGERFISH_INLINE_RESULT_BYTES = 1024
    return 1024


def run(execution):
    execution_run(execution_id=str(execution.id))
    execution.refresh_from_db()
    return execution


def test_small_result_is_inline_with_its_size(small_inline_limit):
    execution = run(
        execution_make(steps=[("Split", "text.split", {"text": "a,b", "separator": ","})])
    )
    step = execution.steps.get()
    assert step.result == ["a", "b"]
    assert not step.result_file
    assert step.result_size == len(codec.dumps(["a", "b"]).encode())
    assert step_result_load(step) == ["a", "b"]


def test_small_bytes_result_is_inline_and_byte_exact(small_inline_limit, http_peer):
    payload = b"\x00\x01\xfe\xff"
    http_peer.respond("/b", body=payload, content_type="application/octet-stream")
    execution = run(
        execution_make(
            steps=[("Get", "http.request", {"url": http_peer.url("/b"), "responseType": "binary"})]
        )
    )
    step = execution.steps.get()
    assert not step.result_file
    assert step_result_load(step)["data"] == payload


def test_large_result_goes_to_storage_and_loads_back_byte_exact(small_inline_limit, http_peer):
    payload = bytes(range(256)) * 64  # 16 KiB, far over the 1 KiB inline limit
    http_peer.respond("/render.bin", body=payload, content_type="application/octet-stream")
    execution = run(
        execution_make(
            steps=[
                (
                    "Download",
                    "http.request",
                    {"url": http_peer.url("/render.bin"), "responseType": "binary"},
                ),
                ("Reply", "flow.return", {"data": "{{ steps.Download.data }}"}),
            ]
        )
    )
    assert execution.status == "succeeded", execution.error
    download, reply = execution.steps.order_by("position")
    try:
        assert download.result is None
        assert download.result_file.name == result_storage_key(
            execution_id=execution.id, position=0
        )
        assert download.result_file.name == f"executions/{execution.id}/0.json"
        assert download.result_size == download.result_file.size > small_inline_limit
        assert step_result_load(download)["data"] == payload
        # The next step received the bytes themselves, not a stored form.
        assert reply.result_file.name == f"executions/{execution.id}/1.json"
        assert execution_final_result(execution) == {"data": payload}
    finally:
        for step in (download, reply):
            step.result_file.delete(save=False)


def test_result_exactly_at_the_limit_stays_inline(settings):
    value = "x" * 98
    settings.TRIGGERFISH_INLINE_RESULT_BYTES = len(codec.dumps({"data": value}))
    execution = run(execution_make(steps=[("Reply", "flow.return", {"data": value})]))
    step = execution.steps.get()
    assert not step.result_file
    assert step.result == {"data": value}


@pytest.mark.parametrize(
    ("data", "stored"),
    [
        ({"ok": True}, False),  # small and text-like: a direct answer's body, left in the row
        ("x" * 2048, True),  # over the direct limit below: only ever answered by redirect
    ],
)
def test_the_runner_stores_the_result_object_only_when_no_direct_answer_can_carry_it(
    settings, data, stored
):
    settings.TRIGGERFISH_SYNC_DIRECT_MAX_BYTES = 1024
    execution = execution_make(steps=[("Reply", "flow.return", {"data": data})])
    Execution.objects.filter(pk=execution.pk).update(synchronous=True)
    run(execution)
    assert execution.status == "succeeded"
    assert (result_object_find(execution_id=execution.pk) is not None) is stored
