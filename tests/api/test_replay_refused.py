"""A request refused at its signature check or component trigger is recorded as a failed
execution; no surface replays it (the API answers 409, the wizard and the admin offer no
Replay and refuse it when forced), and nothing is created."""

from __future__ import annotations

import pytest
from django.urls import reverse

from executions.models import Execution, TriggerKind
from executions.services import execution_create
from instances.models import Endpoint
from tests.fixtures import components  # noqa: F401 - registers acmetest.inbound

pytestmark = pytest.mark.django_db

SIGNED = {
    "name": "Signed",
    "configVariables": [{"key": "Signing Secret", "type": "secret", "required": True}],
    "flows": [
        {
            "name": "In",
            "trigger": {
                "type": "hmac_webhook",
                "hmac": {
                    "header": "x-signature",
                    "algorithm": "sha256",
                    "secret": "{{ configVars['Signing Secret'] }}",
                },
            },
            "steps": [
                {"name": "R", "action": "flow.return", "inputs": {"data": "{{ trigger.body }}"}}
            ],
        }
    ],
}

COMPONENT_REJECTS = {
    "name": "Component",
    "flows": [
        {
            "name": "In",
            "trigger": {"type": "acmetest.inbound", "inputs": {"mode": "reject", "token": "t"}},
            "steps": [{"name": "R", "action": "flow.return"}],
        }
    ],
}


def _refused_execution(client, make_integration, make_instance, spec, values) -> Execution:
    instance = make_instance(make_integration(spec), config_values=values)
    token = Endpoint.objects.get(instance=instance).token
    response = client.post(
        f"/trigger/{token}",
        data=b'{"transfer": "everything"}',
        content_type="application/json",
        headers={"x-signature": "0" * 64},
    )
    assert response.status_code in (401, 403)
    return Execution.objects.get(instance=instance)


@pytest.fixture(params=["bad signature", "component refusal"])
def refused(request, client, make_integration, make_instance) -> Execution:
    if request.param == "bad signature":
        return _refused_execution(
            client, make_integration, make_instance, SIGNED, {"Signing Secret": "s3cret"}
        )
    return _refused_execution(client, make_integration, make_instance, COMPONENT_REJECTS, {})


def test_a_refused_request_is_marked_refused_at_its_trigger(refused):
    assert refused.status == "failed"
    assert refused.refused_at_trigger is True
    assert refused.is_replayable is False


def test_api_replay_of_a_refused_request_is_409_and_creates_nothing(refused, staff_api):
    response = staff_api.post(f"/api/v1/executions/{refused.pk}/replay")

    assert response.status_code == 409
    assert set(response.json()) == {"error"}
    assert "refused" in response.json()["error"]
    assert Execution.objects.count() == 1


def test_api_replay_of_an_ordinary_failed_run_still_works(
    staff_api, make_integration, make_instance
):
    instance = make_instance(make_integration())
    failed = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(),
        trigger_kind=TriggerKind.WEBHOOK,
        payload={},
        enqueue=False,
    )
    Execution.objects.filter(pk=failed.pk).update(status="failed")

    response = staff_api.post(f"/api/v1/executions/{failed.pk}/replay")

    assert response.status_code == 201
    assert response.json()["replayOf"] == str(failed.pk)


def test_wizard_offers_no_replay_and_refuses_a_forced_one(refused, client, user_a):
    client.force_login(user_a)
    page = client.get(reverse("webui:execution", args=[refused.pk]))
    assert page.status_code == 200
    assert reverse("webui:replay", args=[refused.pk]) not in page.content.decode()
    assert "cannot be replayed" in page.content.decode()

    forced = client.post(reverse("webui:replay", args=[refused.pk]), follow=True)

    assert forced.status_code == 200
    assert "never replayed" in forced.content.decode()
    assert Execution.objects.count() == 1


def test_admin_replay_action_skips_a_refused_request(refused, client, staff_user):
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:executions_execution_changelist"),
        {"action": "replay_executions", "_selected_action": [str(refused.pk)]},
        follow=True,
    )
    assert "never replayed" in response.content.decode()
    assert Execution.objects.count() == 1
