"""Where step results live: inline in the row when small, in the results storage when large.

Results are serialized with ``executions.codec`` (JSON that carries bytes). Up to
``TRIGGERFISH_INLINE_RESULT_BYTES`` of that text stays in ``StepResult.result``; anything
larger goes to the ``results`` storage (local disk or S3, see config/settings/storage.py)
under ``executions/<execution id>/<position>.json``, so a 50 MB download never bloats the
executions table or the rows the management API lists. ``result_size`` is always the
serialized size, wherever the value went.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile

from executions import codec
from executions.models import Execution, StepResult


def result_storage_key(*, execution_id: Any, position: int) -> str:
    return f"executions/{execution_id}/{position}.json"


def step_result_serialize(value: Any) -> bytes:
    """The stored form of a result; raises TypeError for values JSON cannot carry, which the
    runner turns into a step error (an action returned, say, a set or an open file)."""
    return codec.dumps(value).encode("utf-8")


def step_result_attach(
    *, step_result: StepResult, value: Any, serialized: bytes | None = None
) -> None:
    """Put ``value`` on an unsaved (or saved) StepResult: inline or as a stored file.
    The caller saves the row; the file, if any, is written first, so a row never points at
    a file that does not exist."""
    data = serialized if serialized is not None else step_result_serialize(value)
    step_result.result_size = len(data)
    if len(data) <= settings.TRIGGERFISH_INLINE_RESULT_BYTES:
        step_result.result = value
        step_result.result_file = None
        return
    step_result.result = None
    key = result_storage_key(execution_id=step_result.execution_id, position=step_result.position)
    storage = step_result.result_file.storage
    if storage.exists(key):
        # A re-run of the same position (possible only after manual repair) replaces it;
        # FileSystemStorage would otherwise pick a new name and orphan the old file.
        storage.delete(key)
    step_result.result_file.save(key, ContentFile(data), save=False)


def step_result_load(step_result: StepResult) -> Any:
    """The step's result value, wherever it is stored. Bytes come back byte-exact."""
    if step_result.result_file:
        with step_result.result_file.open("rb") as handle:
            return codec.loads(handle.read())
    return step_result.result


def execution_final_step(execution: Execution) -> StepResult | None:
    """The last step that ran (succeeded, failed or stopped the run)."""
    return StepResult.objects.filter(execution=execution).order_by("-position").first()


def execution_final_result(execution: Execution) -> Any:
    """The last step's result (SPEC §3: what a synchronous caller receives); ``None`` when no
    step ran or the last one failed."""
    step = execution_final_step(execution)
    return step_result_load(step) if step is not None else None


def execution_stopped_early(execution: Execution) -> bool:
    """Whether the run ended by ``StopExecution`` (``flow.stop_execution`` or a custom action
    raising it); its response is then the sync response, never a redirect.

    Read from the step rows: the stopping step succeeded and is either the built-in stop
    action or not the flow's last step (a succeeded step followed by nothing means a stop).
    """
    step = execution_final_step(execution)
    if step is None or step.status != "succeeded":
        return False
    if step.action == "flow.stop_execution":
        return True
    return step.position < execution.flow.steps.count() - 1
