"""Idempotency-Key: a repeat within 24 h returns the first execution and runs nothing."""

from __future__ import annotations

import pytest
import time_machine

from executions.models import Execution
from executions.retention import prune_results
from instances.models import Endpoint
from tests.fixtures.domain import definition
from triggers.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def urls(make_integration, make_instance):
    spec = definition()
    spec["flows"].append({**spec["flows"][0], "name": "Second"})
    instance = make_instance(make_integration(spec))
    return {e.flow_name: f"/trigger/{e.token}" for e in Endpoint.objects.filter(instance=instance)}


def test_a_repeated_key_returns_the_first_execution(client, urls):
    first = client.post(urls["Echo"], headers={"Idempotency-Key": "order-1"})
    again = client.post(urls["Echo"], headers={"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["triggerfish-executionid"] == first["triggerfish-executionid"]
    assert Execution.objects.filter(trigger_kind="webhook").count() == 1


def test_keys_are_per_endpoint(client, urls):
    one = client.post(urls["Echo"], headers={"Idempotency-Key": "k"})
    two = client.post(urls["Second"], headers={"Idempotency-Key": "k"})
    assert one.json() != two.json()
    assert Execution.objects.filter(trigger_kind="webhook").count() == 2


def test_a_key_older_than_a_day_starts_a_new_run(client, urls):
    with time_machine.travel("2026-11-01 12:00:00Z", tick=False):
        first = client.post(urls["Echo"], headers={"Idempotency-Key": "k"})
    with time_machine.travel("2026-11-02 12:00:01Z", tick=False):
        later = client.post(urls["Echo"], headers={"Idempotency-Key": "k"})
    assert later.json() != first.json()
    with time_machine.travel("2026-11-02 12:00:02Z", tick=False):
        repeat = client.post(urls["Echo"], headers={"Idempotency-Key": "k"})
    assert repeat.json() == later.json()


def test_an_overlong_key_is_400(client, urls):
    response = client.post(urls["Echo"], headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert not Execution.objects.filter(trigger_kind="webhook").exists()


def test_keys_past_the_window_are_pruned_by_the_hourly_task(client, urls):
    with time_machine.travel("2026-11-01 12:00:00Z", tick=False):
        client.post(urls["Echo"], headers={"Idempotency-Key": "old"})
    with time_machine.travel("2026-11-02 13:00:00Z", tick=False):
        client.post(urls["Echo"], headers={"Idempotency-Key": "fresh"})
        prune_results()
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
