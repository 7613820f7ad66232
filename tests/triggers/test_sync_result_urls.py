"""The signed result URL (``/results/<token>``): expiry, signature, methods, retention."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from django.utils import timezone

from executions.models import Execution
from executions.retention import execution_results_prune
from tests.fixtures.sync import sync_step as step
from tests.fixtures.worker import wait_for_execution
from triggers.sync.wait import result_url_verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def result_path(celery_worker_process, sync_flow, client) -> str:
    """The path of a 303's Location for a finished run of a sync flow."""
    response = client.post(sync_flow([step("flow.return", data={"n": 1})]))
    assert response.status_code == 303
    return urlparse(response["Location"]).path


def test_the_url_works_until_it_expires(result_path, client, settings):
    assert client.get(result_path).status_code == 200
    with time_machine.travel(time.time() + settings.TRIGGERFISH_RESULT_URL_SECONDS - 5):
        assert client.get(result_path).status_code == 200
    with time_machine.travel(time.time() + settings.TRIGGERFISH_RESULT_URL_SECONDS + 5):
        expired = client.get(result_path)
    assert expired.status_code == 403
    assert expired.json() == {"error": "This result URL has expired."}


def test_expiry_is_fixed_when_the_url_is_handed_out(result_path, client, settings):
    # Raising the setting later does not revive a URL already given to a caller.
    settings.TRIGGERFISH_RESULT_URL_SECONDS = 10 * 24 * 3600
    with time_machine.travel(time.time() + 3600 + 5):
        assert client.get(result_path).status_code == 403


@pytest.mark.parametrize("where", ["signature", "value"])
def test_a_tampered_url_is_refused(result_path, client, where):
    token = result_path.rsplit("/", 1)[1]
    value, signature = token.rsplit(":", 1)
    if where == "signature":
        tampered = f"{value}:{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    else:
        tampered = f"{value[:-2]}{'AA' if value[-2:] != 'AA' else 'BB'}:{signature}"
    response = client.get(f"/results/{tampered}")
    assert response.status_code == 403
    assert response.json() == {"error": "This result URL is not valid."}
    assert client.get("/results/not-a-token").status_code == 403


def test_head_answers_headers_without_a_body(result_path, client):
    response = client.head(result_path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Length"] == str(len(b'{"n": 1}'))
    assert response.content == b""


def test_other_methods_are_405(result_path, client):
    response = client.post(result_path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_a_pruned_result_is_410(result_path, client):
    token = result_path.rsplit("/", 1)[1]

    execution = Execution.objects.get(pk=result_url_verify(token))
    Execution.objects.filter(pk=execution.pk).update(ended_at=timezone.now() - timedelta(days=31))
    assert execution_results_prune() == 1
    response = client.get(result_path)
    assert response.status_code == 410
    assert response.json() == {"error": "The result is no longer retained."}


def test_the_202_url_on_s3_also_expires_and_checks_its_signature(s3_results, sync_flow, client):
    url = sync_flow(
        [step("flow.sleep", name="Wait", seconds=0.5), step("flow.return", data="x")],
        syncTimeoutSeconds=0.1,
    )
    response = client.post(url)
    assert response.status_code == 202
    path = urlparse(response["Location"]).path
    wait_for_execution(response["triggerfish-executionid"])
    assert client.get(path).status_code == 303
    with time_machine.travel(time.time() + 3600 + 5):
        assert client.get(path).status_code == 403
    assert client.get(path[:-3] + "xyz").status_code == 403
