"""The polling examples in the docs work as written: docs/polling.md's definition imports
and polls, and docs/components.md's worked component polling trigger pages through a real
paginated source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from integrations.components.registry import get_polling_trigger
from integrations.definitions import definition_parse, integration_import
from tests.fixtures.polling import Poller

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs"


def code_blocks(page: str, language: str, *, after: str = "") -> list[str]:
    text = (DOCS / page).read_text()
    text = text[text.index(after) :] if after else text
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def test_the_polling_page_definition_imports_and_polls(item_source, make_instance):
    text = code_blocks("polling.md", "yaml")[0]
    integration = integration_import(definition=text)
    flow = integration.flows.get()
    assert flow.is_polling and (flow.poll_batch_size, flow.poll_on_deploy) == (1, "skip")
    poller = Poller(
        make_instance(
            integration,
            config_values={"Shop URL": item_source.base_url, "API Token": "t0ken"},
        ),
        flow_name="New Orders",
    )
    item_source.add(2)
    poller.fire()  # onDeploy: skip
    item_source.add(1)
    poller.fire()
    assert [e.trigger_payload["body"]["data"]["id"] for e in poller.executions()] == ["o3"]
    assert item_source.requests[-1] == {"since": ["2"], "limit": ["50"]}


def test_the_components_page_polling_example_runs(item_source, make_instance):
    module, definition = (
        code_blocks("components.md", language, after="### Worked example: every new order")[0]
        for language in ("python", "yaml")
    )
    if get_polling_trigger("acmeshop.new_orders") is None:  # once per test session
        exec(compile(module, "docs/components.md", "exec"), {})  # noqa: S102 (our own docs)
    integration = integration_import(
        definition={"name": "Shop", **definition_parse(text=definition)}
    )
    poller = Poller(
        make_instance(
            integration,
            config_values={"Shop URL": item_source.base_url, "Shop Token": "t0ken"},
        ),
        flow_name="New Orders",
    )
    item_source.add(123)  # three pages of 50
    poller.fire()
    batches = [e.trigger_payload["body"]["data"] for e in poller.executions()]
    assert [len(batch) for batch in batches] == [10] * 12 + [3]
    assert [item["n"] for batch in batches for item in batch] == list(range(1, 124))
    assert poller.state().cursor == 123
