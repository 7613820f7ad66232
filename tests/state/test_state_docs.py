"""docs/state.md's complete example imports as written, and its flows do what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from executions.runner import execution_run
from executions.services import execution_create
from integrations.definitions import integration_import
from tests.state.conftest import last_result, stored

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "state.md"


def example_definition() -> str:
    text = DOC.read_text()
    section = text[text.index("## A complete example") :]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match is not None, "docs/state.md has no YAML example under its heading"
    return match.group(1)


def run(instance, flow_name: str, payload=None):
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(name=flow_name),
        trigger_kind="manual",
        payload={"body": {"data": payload}},
        enqueue=False,
    )
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    return execution


def test_the_example_imports_as_written_and_its_flows_keep_their_state(make_instance, http_peer):
    integration = integration_import(
        definition=example_definition(), content_type="application/yaml"
    )
    instance = make_instance(integration, config_values={"Base URL": http_peer.url("")})
    http_peer.respond("/orders", json={"nextCursor": "2026-12-01T10:00:00Z", "count": 3})
    run(instance, "Poll orders")
    run(instance, "Poll orders")
    sinces = [request.query for request in http_peer.requests]
    assert sinces == [{"since": ["1970-01-01T00:00:00Z"]}, {"since": ["2026-12-01T10:00:00Z"]}]
    state = stored(instance, "Poll orders")
    assert state["flow"] == {"since": "2026-12-01T10:00:00Z"}
    assert state["integration"] == {"ordersSeen": 6}

    run(instance, "Store token", payload={"token": "tok-9"})
    used = run(instance, "Use token")
    assert last_result(used) == {"data": {"authorization": "Bearer tok-9"}}
