"""TRIGGERFISH_STATE_MAX_VALUE_BYTES is read strictly, like every setting (SPEC §6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.components.context import ActionContext, StepError
from tests.test_settings import start_django


@pytest.mark.parametrize("value", ["a lot", "0", "-1"])
def test_a_bad_state_value_limit_stops_start_up_naming_the_variable(tmp_path: Path, value):
    started = start_django(tmp_path, TRIGGERFISH_STATE_MAX_VALUE_BYTES=value)
    assert started.returncode != 0
    assert (
        "TRIGGERFISH_STATE_MAX_VALUE_BYTES" in started.stderr.rsplit("ImproperlyConfigured", 1)[1]
    )


def test_a_context_built_outside_a_run_refuses_state_calls():
    # What a deploy/remove hook, or an action called by hand, gets: no run keeps its state.
    context = ActionContext(execution_id="", step_name="By hand")
    with pytest.raises(StepError, match="Persisted state is not available here"):
        context.state.flow.set("cursor", 1)
    with pytest.raises(StepError, match="Persisted state is not available here"):
        context.state.scope("integration").get("x")
