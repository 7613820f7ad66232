"""Synchronous invocation (SPEC §3): the web request waits for the run and answers its result.

The run happens on a Celery worker like any other; the request waits for it through
``executions.notify`` (no database polling, no connection held) up to the flow's sync
timeout, reads the row once, and answers:

- the run raised → 400 ``{"error": <the execution's error>}``;
- the result sets ``statusCode``, or the run ended in ``flow.stop_execution`` → that status,
  body, content type and headers, never a redirect;
- otherwise → 303 to a signed, expiring URL of the final result object (see
  ``executions.results``), or the body itself (200) when the caller prefers a direct answer
  and the result is text-like and small;
- still running at the timeout → 202 with ``Location:`` the signed result URL, which
  answers 202 until the run ends and the result afterwards.

Signed URLs are ``{BASE_URL}/results/<token>``: ``django.core.signing`` over the execution
id and an expiry time. With ``RESULTS_STORAGE=s3`` the 303 goes straight to a presigned S3
URL of the object instead, and the result URL redirects to a fresh one.
"""

from __future__ import annotations

import time
import uuid
from typing import TypeVar

from django.conf import settings
from django.core import signing
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase

from core import codec
from executions.models import Execution, ExecutionStatus, StepResult, results_storage
from executions.notify import execution_finish_wait
from executions.outcome import SyncOutcome
from executions.rendering import (
    RESULT_SHAPE_ERROR_STATUS,
    RenderedResult,
    ResultShapeError,
    content_type_is_text_like,
    result_answerable_directly,
    result_render,
)
from executions.results import (
    ResultObject,
    execution_final_result,
    execution_final_step,
    execution_stopped_early,
    result_object_find,
    result_object_read,
    result_object_save,
)
from executions.retention import execution_results_pruned
from integrations.models import Flow
from triggers.sync.answers import (
    EXECUTION_ID_HEADER,
    error_response,
    rendered_response,
    undecodable_result_response,
)

SYNC_HEADER = "triggerfish-synchronous"
PREFER_DIRECT = "triggerfish-prefer-direct-sync-response"
RESULT_URL_SALT = "triggerfish.sync-result"
CANCELED_ERROR = "The execution was canceled."

AnyResponse = TypeVar("AnyResponse", bound=HttpResponseBase)


class SyncHeaderError(ValueError):
    pass


class ResultUrlInvalid(Exception):
    pass


class ResultUrlExpired(ResultUrlInvalid):
    pass


# -- What the caller asked for ---------------------------------------------------------


def sync_requested(*, flow: Flow, header_value: str | None) -> bool:
    """The flow's setting unless the request's header overrides it."""
    if header_value is None:
        return flow.synchronous
    value = header_value.strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    raise SyncHeaderError(f"Header {SYNC_HEADER} must be true or false.")


def prefer_direct_requested(request: HttpRequest) -> bool:
    value = request.headers.get(PREFER_DIRECT) or request.GET.get(PREFER_DIRECT) or ""
    return value.strip().lower() == "true"


def sync_timeout_seconds(flow: Flow) -> float:
    return flow.sync_timeout_seconds or settings.TRIGGERFISH_SYNC_TIMEOUT_SECONDS


# -- Signed result URLs ------------------------------------------------------------------


def result_url_sign(*, execution_id: uuid.UUID | str, expires_in: float | None = None) -> str:
    """A token naming the execution and when the URL stops working. The expiry is in the
    signed value (not checked against a setting at read time), so changing the setting
    never revives or kills URLs already handed out."""
    seconds = expires_in if expires_in is not None else settings.TRIGGERFISH_RESULT_URL_SECONDS
    return signing.dumps(
        {"e": str(execution_id), "x": int(time.time() + seconds)}, salt=RESULT_URL_SALT
    )


def result_url_verify(token: str) -> str:
    """The execution id a token names; raises ResultUrlExpired or ResultUrlInvalid."""
    try:
        value = signing.loads(token, salt=RESULT_URL_SALT)
    except signing.BadSignature as error:
        raise ResultUrlInvalid from error
    if not isinstance(value, dict) or not isinstance(value.get("e"), str):
        raise ResultUrlInvalid
    if not isinstance(value.get("x"), int) or value["x"] < time.time():
        raise ResultUrlExpired
    return value["e"]


def result_url(*, execution_id: uuid.UUID | str) -> str:
    return f"{settings.BASE_URL}/results/{result_url_sign(execution_id=execution_id)}"


def _uses_presigned_urls() -> bool:
    # Any storage that signs its own URLs (S3Storage with querystring auth) serves the object
    # itself; the local disk is served by our view.
    return settings.RESULTS_STORAGE == "s3"


# -- The final result object ---------------------------------------------------------------


def _result_object_ensure(execution: Execution, rendered: RenderedResult) -> ResultObject:
    """The stored object, written now if the runner did not (an async execution reached
    again by an idempotent sync request, or a failed write on the worker)."""
    found = result_object_find(execution_id=execution.id)
    if found is not None:
        return found
    return result_object_save(
        execution_id=execution.id, body=rendered.body, content_type=rendered.content_type
    )


# -- Answers -----------------------------------------------------------------------------------


def _with_execution_id(response: AnyResponse, execution: Execution) -> AnyResponse:
    response[EXECUTION_ID_HEADER] = str(execution.id)
    return response


def running_response(execution: Execution, *, with_location: bool) -> HttpResponse:
    if with_location:
        response = JsonResponse({"executionId": str(execution.id), "status": "running"}, status=202)
        response["Location"] = result_url(execution_id=execution.id)
    else:
        response = JsonResponse({"status": "running"}, status=202)
    return _with_execution_id(response, execution)


def _redirect(location: str) -> HttpResponse:
    response = HttpResponse(status=303)
    response["Location"] = location
    # HttpResponse defaults to text/html; an empty 303 claims no type.
    del response["Content-Type"]
    return response


def _object_response(result_object: ResultObject) -> FileResponse:
    handle = results_storage().open(result_object.key, "rb")
    response = FileResponse(handle, content_type=result_object.content_type)
    response["Content-Length"] = str(result_object.size)
    return response


def finished_response(
    execution: Execution, *, prefer_direct: bool, final_step: StepResult | None = None
) -> HttpResponse:
    """The answer for a finished execution. ``final_step``: the execution's last
    StepResult, when the caller has read it."""
    answer = _finished_answer(execution, prefer_direct=prefer_direct, final_step=final_step)
    if isinstance(answer, ResultObject):
        return _with_execution_id(_redirect(result_url(execution_id=execution.id)), execution)
    return answer


def _finished_answer(
    execution: Execution, *, prefer_direct: bool, final_step: StepResult | None = None
) -> HttpResponse | ResultObject:
    """The answer for a finished execution, or the stored result object when the answer is
    that object on the local storage: redirected to from the caller's answer, served by the
    signed result URL itself (never a redirect to itself). With S3 the answer redirects to
    a presigned URL of the object."""
    if execution.status != ExecutionStatus.SUCCEEDED:
        message = execution.error or (
            CANCELED_ERROR if execution.status == ExecutionStatus.CANCELED else "The run failed."
        )
        return _with_execution_id(error_response(message, 400), execution)

    # The redirect case is settled without loading the result when the runner stored the
    # object: a 50 MB download need not pass through the web process.
    result_object = result_object_find(execution_id=execution.id)
    if result_object is None:
        final_step = final_step or execution_final_step(execution)  # read once for both
        value = execution_final_result(execution, final_step)
        if isinstance(value, codec.UndecodablePayload):
            return _with_execution_id(undecodable_result_response(value), execution)
        stopped = execution_stopped_early(execution, final_step)
        try:
            rendered = result_render(value, stopped=stopped)
        except ResultShapeError as error:
            return _with_execution_id(
                error_response(str(error), RESULT_SHAPE_ERROR_STATUS), execution
            )
        if rendered.status is not None:
            return _with_execution_id(rendered_response(rendered), execution)
        if prefer_direct and result_answerable_directly(rendered):
            return _with_execution_id(rendered_response(rendered), execution)
        result_object = _result_object_ensure(execution, rendered)
    elif (
        prefer_direct
        and content_type_is_text_like(result_object.content_type)
        and result_object.size <= settings.TRIGGERFISH_SYNC_DIRECT_MAX_BYTES
    ):
        body = result_object_read(result_object)
        response = HttpResponse(body, content_type=result_object.content_type)
        return _with_execution_id(response, execution)

    if _uses_presigned_urls():
        location = results_storage().url(
            result_object.key, expire=int(settings.TRIGGERFISH_RESULT_URL_SECONDS)
        )
        return _with_execution_id(_redirect(location), execution)
    return result_object


def sync_respond(*, execution_id: uuid.UUID | str, flow: Flow, prefer_direct: bool) -> HttpResponse:
    """Wait for a just-accepted synchronous execution and answer the caller."""
    finish = execution_finish_wait(execution_id=execution_id, timeout=sync_timeout_seconds(flow))
    if finish is not None and finish.outcome is not None:
        execution, final_step = _announced_rows(execution_id, finish.outcome)
        return finished_response(execution, prefer_direct=prefer_direct, final_step=final_step)
    # The row and its last step in one query (the answer needs both); a run with no step
    # yet (still queued, or a flow without steps) reads the row alone.
    final_step = (
        StepResult.objects.select_related("execution")
        .filter(execution_id=execution_id)
        .order_by("-position")
        .first()
    )
    if final_step is not None:
        execution = final_step.execution
    else:
        execution = Execution.objects.get(pk=execution_id)
    if not execution.is_finished:
        return running_response(execution, with_location=True)
    return finished_response(execution, prefer_direct=prefer_direct, final_step=final_step)


def _announced_rows(
    execution_id: uuid.UUID | str, outcome: SyncOutcome
) -> tuple[Execution, StepResult | None]:
    """The execution and its last step as the runner announced them after committing them
    (executions.runner._sync_outcome): unsaved copies of what the rows say, carrying what
    ``finished_response`` reads."""
    execution = Execution(
        id=execution_id,
        status=outcome.status,
        error=outcome.error,
        flow_id=outcome.flow_id,
        synchronous=True,
    )
    step = outcome.step
    if step is None:
        return execution, None
    return execution, StepResult(
        execution_id=execution_id,
        position=step.position,
        action=step.action,
        status=step.status,
        result=step.result,
    )


def result_url_respond(*, token: str) -> HttpResponse | FileResponse:
    """What the signed result URL answers: 202 while the run goes on, then its result."""
    try:
        execution_id = result_url_verify(token)
    except ResultUrlExpired:
        return error_response("This result URL has expired.", 403)
    except ResultUrlInvalid:
        return error_response("This result URL is not valid.", 403)
    execution = Execution.objects.filter(pk=execution_id).first()
    if execution is None:
        return error_response("The execution no longer exists.", 404)
    if not execution.is_finished:
        return running_response(execution, with_location=False)
    if execution.status == ExecutionStatus.SUCCEEDED and execution_results_pruned(execution):
        return _with_execution_id(
            error_response("The result is no longer retained.", 410), execution
        )
    answer = _finished_answer(execution, prefer_direct=False)
    if isinstance(answer, ResultObject):
        return _with_execution_id(_object_response(answer), execution)
    return answer
