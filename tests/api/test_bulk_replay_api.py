"""Bulk replay over the API (SPEC §10): the dry run, the job and its progress, cancel,
input errors, and tenancy (a customer user's filter is narrowed to its own customer)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import Execution, ExecutionStatus, ReplayJob
from executions.replay import replay_job_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(world):
    """Three failed executions of A (one with a telling error), one of B, and one that
    succeeded."""
    a, b = world["execution_a"], world["execution_b"]
    extra = []
    for error in ("timeout talking to ERP", "bad gateway"):
        execution = Execution.objects.get(pk=a.pk)
        execution.pk = None
        execution.id = None
        execution.error = error
        execution.status = ExecutionStatus.FAILED
        execution.save()
        extra.append(execution)
    Execution.objects.filter(pk__in=[a.pk, b.pk]).update(status=ExecutionStatus.FAILED, error="x")
    ok = Execution.objects.get(pk=a.pk)
    ok.pk = None
    ok.id = None
    ok.status = ExecutionStatus.SUCCEEDED
    ok.save()
    return {"a": [a.pk, *[e.pk for e in extra]], "b": [b.pk], "ok": ok.pk, **world}


def post(client, body):
    return client.post("/api/v1/executions/replay", body, format="json")


def test_a_dry_run_counts_and_samples_without_creating_anything(staff_api, failed):
    answer = post(staff_api, {"filter": {}, "dryRun": True})
    assert answer.status_code == 200
    assert answer.json()["count"] == 4
    assert sorted(answer.json()["sample"]) == sorted(str(i) for i in failed["a"] + failed["b"])
    narrowed = post(staff_api, {"filter": {"errorContains": "erp"}, "dryRun": True}).json()
    assert narrowed["count"] == 1
    ok = post(staff_api, {"filter": {"status": "succeeded"}, "dryRun": True}).json()
    assert ok["sample"] == [str(failed["ok"])]
    assert ReplayJob.objects.count() == 0
    assert Execution.objects.filter(replay_of__isnull=False).count() == 0


def test_a_job_replays_each_match_once_and_shows_its_progress(staff_api, failed):
    answer = post(staff_api, {"filter": {"instance": str(failed["instance_a"].pk)}})
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "queued" and body["total"] == 3
    replay_job_run(job_id=body["id"])
    replay_job_run(job_id=body["id"])  # a redelivered task replays nothing twice
    job = staff_api.get(f"/api/v1/replay-jobs/{body['id']}").json()
    assert (job["status"], job["total"], job["created"], job["skipped"]) == ("done", 3, 3, 0)
    assert job["filter"] == {"instance": str(failed["instance_a"].pk), "status": "failed"}
    assert job["endedAt"] is not None
    replays = Execution.objects.filter(replay_of__isnull=False)
    assert sorted(r.replay_of_id for r in replays) == sorted(failed["a"])


def test_a_customer_user_replays_only_its_own(api_a, api_b, failed):
    everything = post(api_a, {"filter": {}, "dryRun": True}).json()
    assert everything["count"] == 3  # not B's
    other = post(api_a, {"filter": {"instance": str(failed["instance_b"].pk)}, "dryRun": True})
    assert other.status_code == 400
    assert other.json()["fields"] == {"filter.instance": "No such instance."}
    job_id = post(api_a, {"filter": {}}).json()["id"]
    assert api_a.get(f"/api/v1/replay-jobs/{job_id}").status_code == 200
    assert api_b.get(f"/api/v1/replay-jobs/{job_id}").status_code == 404
    assert api_b.post(f"/api/v1/replay-jobs/{job_id}/cancel").status_code == 404
    assert ReplayJob.objects.get(pk=job_id).status == "queued"


def test_cancel_stops_a_queued_job(staff_api, failed):
    job_id = post(staff_api, {"filter": {}}).json()["id"]
    canceled = staff_api.post(f"/api/v1/replay-jobs/{job_id}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    replay_job_run(job_id=job_id)
    assert Execution.objects.filter(replay_of__isnull=False).count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filter": {"status": "running"}}, "filter.status"),
        ({"filter": {"since": "yesterday"}}, "filter.since"),
        ({"filter": {"instance": "not-a-uuid"}}, "filter.instance"),
        ({"filter": {"colour": "red"}}, "filter.colour"),
        ({"definition": "newest"}, "definition"),
        ({"dryRun": "perhaps"}, "dryRun"),
        ({"everything": True}, "everything"),
    ],
)
def test_bad_input_is_400_naming_the_field(staff_api, failed, body, field):
    answer = post(staff_api, body)
    assert answer.status_code == 400
    assert field in answer.json()["fields"], answer.json()


def test_until_must_follow_since(staff_api, failed):
    now = timezone.now()
    answer = post(
        staff_api,
        {"filter": {"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()}},
    )
    assert answer.status_code == 400
    assert "filter.until" in answer.json()["fields"]


def test_without_a_token_401_and_unknown_job_404(client, staff_api):
    assert (
        client.post("/api/v1/executions/replay", {}, content_type="application/json").status_code
        == 401
    )
    missing = "00000000-0000-0000-0000-000000000000"
    assert staff_api.get(f"/api/v1/replay-jobs/{missing}").status_code == 404
