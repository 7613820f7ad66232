"""Bulk replay in the admin: the list's action and "Replay all matching" confirm with the
count of finished executions, a confirmed replay is a job of exactly those, a job can be
canceled, and customer users never reach the pages."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from executions.models import Execution, ReplayItem, ReplayJob
from tests.fixtures.executions import execution_make

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:executions_execution_changelist"
MATCHING = "admin:executions_execution_replay_matching"


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def executions() -> list[Execution]:
    made = [execution_make(steps=[("R", "flow.return", {"data": 1})]) for _ in range(3)]
    Execution.objects.filter(pk__in=[made[0].pk, made[1].pk]).update(status="failed")
    # made[2] stays queued: not finished, so not replayed
    return made


def _action(ids, **extra):
    return {"action": "replay_bulk", ACTION_CHECKBOX_NAME: [str(pk) for pk in ids], **extra}


def test_the_action_confirms_with_the_count_of_finished_executions(staff_client, executions):
    response = staff_client.post(reverse(CHANGELIST), _action(e.pk for e in executions))
    assert response.status_code == 200
    assert response.context["preview"].count == 2
    assert "Yes, replay 2" in response.content.decode()
    assert not ReplayJob.objects.exists()


def test_confirming_creates_a_job_of_those_executions(staff_client, executions):
    chosen = [executions[0].pk, executions[2].pk]
    response = staff_client.post(
        reverse(CHANGELIST), _action(chosen, confirm="yes", definition="original")
    )
    job = ReplayJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:executions_replayjob_change", args=[job.pk])
    assert (job.total, job.definition) == (1, "original")
    assert job.filter == {"admin": "selected", "selected": 2}
    assert list(ReplayItem.objects.values_list("execution_id", flat=True)) == [executions[0].pk]
    assert staff_client.get(response["Location"]).status_code == 200


def test_replay_all_matching_takes_the_lists_filters(staff_client, executions):
    url = reverse(MATCHING) + "?status__exact=failed"
    response = staff_client.get(url)
    assert response.context["preview"].count == 2
    response = staff_client.post(url, {"confirm": "yes", "definition": "current"})
    job = ReplayJob.objects.get()
    assert response.status_code == 302
    assert job.total == 2
    assert job.filter == {"admin": "status__exact=failed"}


def test_the_changelist_links_replay_all_matching_with_its_filters(staff_client, executions):
    page = staff_client.get(reverse(CHANGELIST) + "?status__exact=failed").content.decode()
    assert reverse(MATCHING) + "?status__exact=failed" in page


def test_a_job_is_canceled_by_its_button(staff_client, executions):
    staff_client.post(reverse(CHANGELIST), _action([executions[0].pk], confirm="yes"))
    job = ReplayJob.objects.get()
    page = staff_client.get(reverse("admin:executions_replayjob_change", args=[job.pk]))
    cancel = reverse("admin:executions_replayjob_cancel", args=[job.pk])
    assert cancel in page.content.decode()
    assert staff_client.get(cancel).status_code == 405
    assert staff_client.post(cancel).status_code == 302
    job.refresh_from_db()
    assert job.status == "canceled"
    page = staff_client.get(reverse("admin:executions_replayjob_change", args=[job.pk]))
    assert cancel not in page.content.decode()


def test_customer_users_cannot_reach_the_pages(client, user_a, executions):
    client.force_login(user_a)
    urls = [
        reverse(MATCHING),
        reverse("admin:executions_replayjob_changelist"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    response = client.post(reverse(CHANGELIST), _action([executions[0].pk], confirm="yes"))
    assert response.status_code == 302
    assert not ReplayJob.objects.exists()
