"""Where step results live: inline in the row when small, in the results storage when large.

Results are serialized with ``core.codec`` (JSON that carries bytes). Up to
``TRIGGERFISH_INLINE_RESULT_BYTES`` of that text stays in ``StepResult.result``; anything
larger goes to the ``results`` storage (local disk or S3, see config/settings/storage.py)
under ``executions/<execution id>/<position>.json``, so a 50 MB download never bloats the
executions table or the rows the management API lists. ``result_size`` is always the
serialized size, wherever the value went.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage

from core import codec
from executions.models import Execution, StepResult, results_storage
from executions.rendering import (
    ResultShapeError,
    result_answerable_directly,
    result_rendered_for_redirect,
)
from executions.run_definitions import flow_steps

logger = logging.getLogger(__name__)


def result_storage_key(*, execution_id: uuid.UUID | str, position: int) -> str:
    return f"executions/{execution_id}/{position}.json"


def step_result_serialize(value: Any) -> bytes:
    """The stored form of a result; raises TypeError for values JSON cannot carry, which the
    runner turns into a step error (an action returned, say, a set or an open file)."""
    return codec.payload_encode(value).encode("utf-8")


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
    """The step's result value, wherever it is stored. Bytes come back byte-exact; a
    stored value that cannot be decoded is a ``codec.UndecodablePayload``."""
    if step_result.result_file:
        with step_result.result_file.open("rb") as handle:
            return codec.payload_decode_or_undecodable(handle.read())
    return step_result.result


def execution_final_step(execution: Execution) -> StepResult | None:
    """The last step that ran (succeeded, failed or stopped the run)."""
    return StepResult.objects.filter(execution=execution).order_by("-position").first()


def execution_final_result(execution: Execution, step: StepResult | None = None) -> Any:
    """The last step's result (SPEC §3: what a synchronous caller receives); ``None`` when no
    step ran or the last one failed. ``step``: the final step, when the caller has it."""
    step = step or execution_final_step(execution)
    return step_result_load(step) if step is not None else None


def execution_stopped_early(execution: Execution, step: StepResult | None = None) -> bool:
    """Whether the run ended by ``StopExecution`` (``flow.stop_execution`` or a custom action
    raising it); its response is then the sync response, never a redirect.

    Read from the step rows: the stopping step succeeded and is either the built-in stop
    action or not the flow's last step (a succeeded step followed by nothing means a stop).
    ``step``: the final step, when the caller has it.
    """
    step = step or execution_final_step(execution)
    if step is None or step.status != "succeeded":
        return False
    if step.action == "flow.stop_execution":
        return True
    return step.position < len(flow_steps(execution.flow_id)) - 1


# The final result object: what a synchronous caller is redirected to (SPEC §3). The body
# is stored as the exact response bytes (not the codec's JSON), so the local view streams it
# and S3 serves it itself through a presigned URL with its content type. A small metadata
# object is written after the body: its presence means the body is complete.


@dataclass(frozen=True)
class ResultObject:
    key: str
    content_type: str
    size: int


def result_object_key(*, execution_id: uuid.UUID | str) -> str:
    return f"executions/{execution_id}/result"


def _result_object_meta_key(*, execution_id: uuid.UUID | str) -> str:
    return f"executions/{execution_id}/result.meta.json"


def _storage_replace(storage: Storage, key: str, content: ContentFile) -> None:
    if storage.exists(key):
        # FileSystemStorage would otherwise pick a new name and leave the old file behind.
        storage.delete(key)
    storage.save(key, content)


def result_object_save(
    *, execution_id: uuid.UUID | str, body: bytes, content_type: str
) -> ResultObject:
    storage = results_storage()
    key = result_object_key(execution_id=execution_id)
    content = ContentFile(body)
    # S3Storage sends this as the object's Content-Type, so a GET on the presigned URL
    # answers with it; FileSystemStorage ignores it and the metadata object carries it.
    content.content_type = content_type  # type: ignore[attr-defined]  # read by S3Storage
    _storage_replace(storage, key, content)
    meta = ContentFile(json.dumps({"contentType": content_type, "size": len(body)}).encode())
    meta.content_type = "application/json"  # type: ignore[attr-defined]
    _storage_replace(storage, _result_object_meta_key(execution_id=execution_id), meta)
    return ResultObject(key=key, content_type=content_type, size=len(body))


def result_object_find(*, execution_id: uuid.UUID | str) -> ResultObject | None:
    """The stored final result object, or None when none was written (or it was pruned)."""
    storage = results_storage()
    try:
        with storage.open(_result_object_meta_key(execution_id=execution_id), "rb") as handle:
            meta = json.loads(handle.read())
    except FileNotFoundError:
        return None
    return ResultObject(
        key=result_object_key(execution_id=execution_id),
        content_type=meta["contentType"],
        size=int(meta["size"]),
    )


def result_object_read(result_object: ResultObject) -> bytes:
    with results_storage().open(result_object.key, "rb") as handle:
        return handle.read()


def result_object_delete(*, execution_id: uuid.UUID | str) -> None:
    """Delete the object and its metadata; metadata first, so no reader sees a body half gone."""
    storage = results_storage()
    storage.delete(_result_object_meta_key(execution_id=execution_id))
    storage.delete(result_object_key(execution_id=execution_id))


def sync_result_object_store(*, execution_id: uuid.UUID | str, value: Any, stopped: bool) -> None:
    """Store the final result object of a synchronous run whose answer is a redirect and
    could not be the body of a direct answer (too large, or binary), so the web process
    never loads it. A smaller result stays in its StepResult row: a caller preferring a
    direct answer gets it from there, and a redirect writes the object on demand
    (``triggers.sync.wait``). Called by the runner; never raises (the web side writes the
    object on demand if this failed)."""
    try:
        rendered = result_rendered_for_redirect(value, stopped=stopped)
        if rendered is not None and not result_answerable_directly(rendered):
            result_object_save(
                execution_id=execution_id, body=rendered.body, content_type=rendered.content_type
            )
    except ResultShapeError:
        pass  # answered as an error from the row; nothing to store
    except Exception:
        logger.warning("Could not store the sync result of %s", execution_id, exc_info=True)


# -- Dropped payloads (an integration's ``retention: {storePayloads: false}``) ----------------


def step_result_files_delete(
    *, execution_ids: Sequence[uuid.UUID | str], unsaved: StepResult | None = None
) -> int:
    """Delete the stored files of these executions' step results (the rows keep their
    names until ``execution_payloads_clear``: a failure in between leaves them to be found
    again). ``unsaved``: a step not saved yet (the runner's last), emptied here. Returns how
    many files were deleted."""
    names = list(
        StepResult.objects.filter(execution_id__in=execution_ids)
        .exclude(result_file__isnull=True)
        .exclude(result_file="")
        .values_list("result_file", flat=True)
    )
    if unsaved is not None:
        if unsaved.result_file:
            names.append(unsaved.result_file.name)
        unsaved.result, unsaved.result_file, unsaved.result_size = None, None, 0
    storage = results_storage()
    for name in names:
        storage.delete(name)
    return len(names)


def execution_payloads_clear(*, execution_ids: Sequence[uuid.UUID | str]) -> int:
    """Empty the trigger payloads and step results of these executions and mark them
    dropped (their files are deleted first, by ``step_result_files_delete``). Status,
    timings, errors, step names and log lines stay. Call inside the caller's transaction."""
    StepResult.objects.filter(execution_id__in=execution_ids).update(
        result=None, result_file="", result_size=0
    )
    return Execution.objects.filter(pk__in=execution_ids).update(
        trigger_payload={}, payload_dropped=True
    )
