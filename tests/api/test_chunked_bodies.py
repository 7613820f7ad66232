"""The management API reads chunked request bodies through a real gunicorn: a chunked
PATCH is applied (it was read as empty and answered 200 with nothing done), one over the
limit is a JSON 413 and one cut off mid-chunk a JSON 400, and neither changes anything."""

from __future__ import annotations

import json

import pytest

from api.services import api_token_create
from state.editing import state_instance_read
from tests.fixtures.domain import definition
from tests.triggers.test_edge_hostile import chunked, raw_exchange, request_head

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api_edge(make_integration, make_instance, start_live_server, staff_user):
    instance = make_instance(make_integration(definition(name="Chunked")))
    server = start_live_server(workers=1)
    return server, instance, api_token_create(user=staff_user)


def _patch_head(instance, token: str) -> bytes:
    return request_head(
        "PATCH",
        f"/api/v1/instances/{instance.pk}/state",
        f"Authorization: Bearer {token}",
        "Content-Type: application/merge-patch+json",
        "Transfer-Encoding: chunked",
    )


def test_a_chunked_patch_is_applied(api_edge):
    server, instance, token = api_edge
    body = json.dumps({"instance": {"cursor": "c" * 500}}).encode()
    status, _headers, answer = raw_exchange(
        server.url, _patch_head(instance, token) + chunked(body, 64)
    )
    assert status == 200, answer
    assert json.loads(answer)["instance"] == {"cursor": "c" * 500}
    assert state_instance_read(instance=instance)["instance"] == {"cursor": "c" * 500}


def test_a_chunked_body_over_the_limit_is_413_json(api_edge, settings):
    server, instance, token = api_edge
    body = b'{"instance": {"x": "' + b"y" * 2_700_000 + b'"}}'
    status, headers, answer = raw_exchange(
        server.url, _patch_head(instance, token) + chunked(body, 65536)
    )
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert "over the limit" in json.loads(answer)["error"]
    assert state_instance_read(instance=instance)["instance"] == {}


def test_a_chunked_body_cut_off_is_400_json(api_edge):
    server, instance, token = api_edge
    status, _headers, answer = raw_exchange(
        server.url, _patch_head(instance, token) + b'64\r\n{"inst'
    )
    assert status == 400
    assert json.loads(answer) == {"error": "Incomplete request body."}
    assert state_instance_read(instance=instance)["instance"] == {}
