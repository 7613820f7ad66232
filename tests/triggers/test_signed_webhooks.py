"""hmac_webhook and component triggers, end to end through a webhook URL."""

from __future__ import annotations

import json
import time

import pytest
import stripe
from slack_sdk.signature import SignatureVerifier

from executions.models import Execution
from instances.lifecycle import instance_remove
from instances.models import Endpoint
from tests.fixtures import components  # registers acmetest.inbound; HOOK_CALLS records its hooks

pytestmark = pytest.mark.django_db

SECRET = "AC49CB66-511F-4085-9119-360B1B142F4B"
BODY = b'{"item":"widget","quantity":5,"customer":"abc-123"}'
# GitHub's documented example: "Hello, World!" signed with "It's a Secret to Everybody".
GITHUB_DOCUMENTED = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
DOCUMENTED = "dc838d5b2ee53f55b5bcd77271505f52cd4c6c5123a867d9088fb70ac580f5bf"


def deploy(make_integration, make_instance, trigger: dict, config=None, values=None):
    spec = {
        "name": "Signed",
        "configVariables": config or [],
        "flows": [
            {
                "name": "In",
                "trigger": trigger,
                "steps": [
                    {
                        "name": "R",
                        "action": "flow.return",
                        "inputs": {"data": "{{ trigger.body.data }}"},
                    }
                ],
            }
        ],
    }
    instance = make_instance(make_integration(spec), config_values=values or {})
    return instance, f"/trigger/{Endpoint.objects.get(instance=instance).token}"


def webhook_runs():
    return Execution.objects.filter(trigger_kind="webhook")


class TestGenericHmac:
    trigger = {
        "type": "hmac_webhook",
        "hmac": {
            "header": "my-hmac-header",
            "algorithm": "sha256",
            "secret": "{{ configVars['Signing Secret'] }}",
        },
    }
    config = [{"key": "Signing Secret", "type": "secret", "required": True}]

    def test_the_documented_example_passes_end_to_end(
        self, client, make_integration, make_instance
    ):
        _, url = deploy(
            make_integration, make_instance, self.trigger, self.config, {"Signing Secret": SECRET}
        )
        response = client.post(
            url, data=BODY, content_type="application/json", headers={"my-hmac-header": DOCUMENTED}
        )
        assert response.status_code == 200
        execution = Execution.objects.get(pk=response.json()["executionId"])
        assert execution.status == "queued"
        assert execution.trigger_payload["body"]["data"]["item"] == "widget"

    def test_a_bad_signature_is_401_and_a_failed_execution_without_the_secret(
        self, client, make_integration, make_instance
    ):
        _, url = deploy(
            make_integration, make_instance, self.trigger, self.config, {"Signing Secret": SECRET}
        )
        response = client.post(
            url,
            data=BODY + b" ",
            content_type="application/json",
            headers={"my-hmac-header": DOCUMENTED},
        )
        assert response.status_code == 401
        assert (
            response.json()["error"]
            == "Signature verification failed: The signature does not match."
        )
        execution = Execution.objects.get(pk=response["triggerfish-executionid"])
        assert execution.status == "failed"
        assert execution.error == response.json()["error"]
        assert not execution.steps.exists()
        assert SECRET not in execution.error

    def test_signature_is_checked_before_the_body_is_parsed(
        self, client, make_integration, make_instance
    ):
        _, url = deploy(
            make_integration, make_instance, self.trigger, self.config, {"Signing Secret": SECRET}
        )
        response = client.post(url, data=b"{not json", content_type="application/json")
        assert response.status_code == 401  # not 400: an unsigned body is never parsed


class TestPresetsThroughTheUrl:
    def test_stripe(self, client, make_integration, make_instance):
        secret = "whsec_abc"
        _, url = deploy(
            make_integration,
            make_instance,
            {"type": "hmac_webhook", "hmac": {"preset": "stripe", "secret": secret}},
        )
        header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), secret)
        ok = client.post(
            url, data=BODY, content_type="application/json", headers={"Stripe-Signature": header}
        )
        assert ok.status_code == 200
        stale = stripe.WebhookSignature.generate_signature_header(
            BODY.decode(), secret, int(time.time()) - 600
        )
        refused = client.post(
            url, data=BODY, content_type="application/json", headers={"Stripe-Signature": stale}
        )
        assert refused.status_code == 401
        assert "tolerance" in refused.json()["error"]

    def test_github_delivery_id_repeats_are_idempotent(
        self, client, make_integration, make_instance
    ):
        _, url = deploy(
            make_integration,
            make_instance,
            {
                "type": "hmac_webhook",
                "hmac": {"preset": "github", "secret": "It's a Secret to Everybody"},
            },
        )
        headers = {
            "X-Hub-Signature-256": GITHUB_DOCUMENTED,
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        }
        first = client.post(url, data=b"Hello, World!", content_type="text/plain", headers=headers)
        again = client.post(url, data=b"Hello, World!", content_type="text/plain", headers=headers)
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        assert webhook_runs().count() == 1


class TestSlackEvents:
    secret = "8f742231b10e8888abcd99yyyzzz85a5"

    def signed(self, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(self.secret).generate_signature(
            timestamp=timestamp, body=body
        )
        return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}

    def url(self, make_integration, make_instance) -> str:
        trigger = {
            "type": "slack.events",
            "inputs": {"signingSecret": "{{ configVars['Slack Secret'] }}"},
        }
        config = [{"key": "Slack Secret", "type": "secret", "required": True}]
        return deploy(
            make_integration, make_instance, trigger, config, {"Slack Secret": self.secret}
        )[1]

    def test_url_verification_is_answered_without_running(
        self, client, make_integration, make_instance
    ):
        url = self.url(make_integration, make_instance)
        body = json.dumps(
            {
                "type": "url_verification",
                "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            }
        ).encode()
        response = client.post(
            url, data=body, content_type="application/json", headers=self.signed(body)
        )
        assert response.status_code == 200
        assert response.content == b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        assert response["Content-Type"].startswith("text/plain")
        assert not webhook_runs().exists()

    def test_events_run_the_flow(self, client, make_integration, make_instance):
        url = self.url(make_integration, make_instance)
        body = json.dumps(
            {"type": "event_callback", "event": {"type": "app_mention", "text": "hi"}}
        ).encode()
        response = client.post(
            url, data=body, content_type="application/json", headers=self.signed(body)
        )
        assert response.status_code == 200
        execution = Execution.objects.get(pk=response.json()["executionId"])
        assert execution.trigger_payload["body"]["data"]["event"]["text"] == "hi"

    def test_a_forged_event_is_refused_and_recorded(self, client, make_integration, make_instance):
        url = self.url(make_integration, make_instance)
        body = b'{"type": "event_callback"}'
        headers = self.signed(b'{"type": "something else"}')
        response = client.post(url, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 401
        assert webhook_runs().get().status == "failed"


class TestComponentTrigger:
    def deploy(self, make_integration, make_instance, mode: str):
        trigger = {
            "type": "acmetest.inbound",
            "inputs": {"mode": mode, "token": "{{ configVars.Token }}"},
        }
        config = [{"key": "Token", "type": "string", "default": "t-1"}]
        return deploy(make_integration, make_instance, trigger, config)

    def test_perform_reshapes_the_payload_and_answers(
        self, client, make_integration, make_instance
    ):
        _, url = self.deploy(make_integration, make_instance, "reshape")
        response = client.post(url, data=b"{}", content_type="application/json")
        assert response.status_code == 202
        assert response.content == b"queued"
        execution = Execution.objects.get(pk=response["triggerfish-executionid"])
        assert execution.trigger_payload["reshaped"] == {"token": "t-1", "customer": "acme"}

    def test_a_rejection_uses_the_components_status(self, client, make_integration, make_instance):
        _, url = self.deploy(make_integration, make_instance, "reject")
        response = client.post(url)
        assert response.status_code == 403
        assert response.json() == {"error": "Forbidden by the component."}
        assert webhook_runs().get().status == "failed"

    def test_a_component_bug_is_a_400_not_a_500(self, client, make_integration, make_instance):
        _, url = self.deploy(make_integration, make_instance, "crash")
        response = client.post(url)
        assert response.status_code == 400
        assert "RuntimeError" in response.json()["error"]

    def test_deploy_and_remove_hooks_get_the_webhook_urls(self, make_integration, make_instance):
        components.HOOK_CALLS.clear()
        instance, url = self.deploy(make_integration, make_instance, "pass")
        instance_remove(instance=instance)
        kinds = [call[0] for call in components.HOOK_CALLS]
        assert kinds == ["deploy", "remove"]
        for _, urls, params in components.HOOK_CALLS:
            assert urls == {"In": "http://testserver-base" + url}
            assert params == {"mode": "pass", "token": "t-1"}
