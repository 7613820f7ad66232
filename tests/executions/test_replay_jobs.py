"""Bulk replay jobs (executions.replay): each selected execution is replayed once, even
when the job's task runs again."""

from __future__ import annotations

import pytest

from executions.models import Execution, ReplayJob
from executions.replay import replay_job_create, replay_job_run
from tests.fixtures.executions import execution_make

pytestmark = pytest.mark.django_db


def test_running_the_job_twice_replays_each_execution_once(settings):
    settings.TRIGGERFISH_REPLAY_PER_SECOND = 1000
    source = execution_make(steps=[("R", "flow.return", {"data": 1})])
    failed = [source]
    Execution.objects.filter(pk=source.pk).update(status="failed", error="boom")
    job = replay_job_create(
        executions=Execution.objects.filter(pk__in=[e.pk for e in failed]), filter_shown={}
    )
    assert job.total == 1
    replay_job_run(job_id=job.pk)
    replay_job_run(job_id=job.pk)
    job = ReplayJob.objects.get(pk=job.pk)
    assert (job.status, job.created, job.skipped) == ("done", 1, 0)
    assert Execution.objects.filter(replay_of=source).count() == 1
