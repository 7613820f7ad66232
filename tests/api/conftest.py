from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from executions.models import TriggerKind
from executions.services import execution_create
from tests.fixtures.api import api_client_for


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return api_client_for(staff_user)


@pytest.fixture
def api_a(user_a) -> APIClient:
    return api_client_for(user_a)


@pytest.fixture
def api_b(user_b) -> APIClient:
    return api_client_for(user_b)


@pytest.fixture
def world(make_integration, make_instance, customer_a, customer_b):
    """One integration deployed to customer A and to customer B, one webhook run each."""
    integration = make_integration()
    instance_a = make_instance(integration, customer=customer_a, name="A main")
    instance_b = make_instance(integration, customer=customer_b, name="B main")
    flow = integration.flows.get(name="Echo")
    execution_a = execution_create(
        instance=instance_a, flow=flow, trigger_kind=TriggerKind.WEBHOOK, payload={}, enqueue=False
    )
    execution_b = execution_create(
        instance=instance_b, flow=flow, trigger_kind=TriggerKind.WEBHOOK, payload={}, enqueue=False
    )
    return {
        "integration": integration,
        "instance_a": instance_a,
        "instance_b": instance_b,
        "execution_a": execution_a,
        "execution_b": execution_b,
    }
