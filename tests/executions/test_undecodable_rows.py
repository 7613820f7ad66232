"""A row whose stored payload or result cannot be decoded (written by a release whose bytes
encoding a sender could imitate, or damaged) is listed and shown with what is wrong on
every surface, can be opened and deleted, and fails its run with a clear error: one bad
row never makes a page or list answer 500."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from api.services import api_token_create
from core.codec import UndecodablePayload
from executions.models import Execution, StepResult
from executions.runner import execution_run
from executions.services import execution_create
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db

# What the release before this one stored for a sender's {"__triggerfish_bytes__": "!!!…"}.
FORGED = (
    '{"body":{"data":{"__triggerfish_bytes__":"!!!notbase64"},"contentType":"application/json"}}'
)
REASON = "invalid base64"


def _store_raw(table: str, column: str, pk, text: str) -> None:
    with connection.cursor() as cursor:
        # Table and column are this module's constants; the values are parameters.
        sql = f"UPDATE {table} SET {column} = %s WHERE id = %s"  # noqa: S608
        cursor.execute(sql, [text, str(pk)])


@pytest.fixture
def rows(make_integration, make_instance):
    instance = make_instance(make_integration(definition()))
    flow = instance.integration.flows.get()
    good = execution_create(
        instance=instance, flow=flow, trigger_kind="webhook", payload={"n": 1}, enqueue=False
    )
    bad = execution_create(
        instance=instance, flow=flow, trigger_kind="webhook", payload={}, enqueue=False
    )
    _store_raw("executions_execution", "trigger_payload", bad.pk.hex, FORGED)
    Execution.objects.filter(pk=bad.pk).update(status="succeeded", ended_at=timezone.now())
    step = StepResult.objects.create(
        execution=bad,
        position=0,
        name="Reply",
        action="flow.return",
        status="succeeded",
        started_at=timezone.now(),
        ended_at=timezone.now(),
        result=None,
    )
    _store_raw("executions_stepresult", "result", step.pk, '{"data":{"__triggerfish_bytes__":7}}')
    return instance, good, bad


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user)}")
    return client


def test_the_row_loads_as_undecodable_and_saves_back_unchanged(rows):
    _, _, bad = rows
    loaded = Execution.objects.get(pk=bad.pk)
    assert isinstance(loaded.trigger_payload, UndecodablePayload)
    assert REASON in loaded.trigger_payload.error
    loaded.error = "touched"
    loaded.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT trigger_payload FROM executions_execution WHERE id = %s", [bad.pk.hex]
        )
        assert cursor.fetchone()[0] == FORGED


def test_api_list_detail_and_result_answer_and_say_what_is_wrong(rows, staff_user):
    _, good, bad = rows
    api = _api(staff_user)
    listed = api.get("/api/v1/executions/")
    assert listed.status_code == 200, listed.content
    by_id = {row["id"]: row for row in listed.json()["results"]}
    assert by_id[str(good.pk)]["payloadError"] is None
    assert REASON in by_id[str(bad.pk)]["payloadError"]

    detail = api.get(f"/api/v1/executions/{bad.pk}")
    assert detail.status_code == 200, detail.content
    assert REASON in detail.json()["payloadError"]
    assert "holds int" in detail.json()["steps"][0]["resultError"]

    for path in (
        f"/api/v1/executions/{bad.pk}/result",
        f"/api/v1/executions/{bad.pk}/steps/0/result",
    ):
        result = api.get(path)
        assert result.status_code == 409, result.content
        assert result["Content-Type"] == "application/json"
        assert "cannot be read" in result.json()["error"]


def test_wizard_instance_and_history_pages_list_the_row_with_the_problem(rows, client, user_a):
    instance, _, bad = rows
    client.force_login(user_a)
    for url in (f"/wizard/instances/{instance.pk}/", f"/wizard/instances/{instance.pk}/history/"):
        page = client.get(url)
        assert page.status_code == 200, url
        text = page.content.decode()
        assert f'data-execution="{bad.pk}"' in text
        assert REASON in text
    opened = client.get(f"/wizard/executions/{bad.pk}/")
    assert opened.status_code == 200
    assert "holds int" in opened.content.decode()


def test_admin_lists_opens_and_deletes_the_row(rows, client, staff_user):
    _, _, bad = rows
    client.force_login(staff_user)
    listed = client.get("/admin/executions/execution/")
    assert listed.status_code == 200
    assert REASON in listed.content.decode()
    page = client.get(f"/admin/executions/execution/{bad.pk}/change/")
    assert page.status_code == 200
    assert REASON in page.content.decode() and "!!!notbase64" in page.content.decode()
    assert client.get(f"/admin/executions/execution/{bad.pk}/result/").status_code == 409
    confirm = client.get(f"/admin/executions/execution/{bad.pk}/delete/")
    assert confirm.status_code == 200
    deleted = client.post(f"/admin/executions/execution/{bad.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Execution.objects.filter(pk=bad.pk).exists()


def test_a_run_of_an_unreadable_payload_fails_saying_why(make_integration, make_instance):
    instance = make_instance(make_integration(definition()))
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(),
        trigger_kind="webhook",
        payload={},
        enqueue=False,
    )
    _store_raw("executions_execution", "trigger_payload", execution.pk.hex, FORGED)
    execution_run(execution_id=str(execution.pk))
    execution.refresh_from_db()
    assert execution.status == "failed"
    assert execution.error.startswith("The trigger payload cannot be read:")
    assert REASON in execution.error
    assert not execution.steps.exists()
    assert execution.logs.filter(level="error", message=execution.error).exists()


def test_replaying_an_unreadable_row_is_409_and_creates_nothing(rows, staff_user):
    _, _, bad = rows
    before = Execution.objects.count()
    response = _api(staff_user).post(f"/api/v1/executions/{bad.pk}/replay")
    assert response.status_code == 409
    assert "cannot be read" in response.json()["error"]
    assert Execution.objects.count() == before
