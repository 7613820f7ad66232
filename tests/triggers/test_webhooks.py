"""The webhook endpoint: verbs, payload shapes, routing, API keys and error answers."""

from __future__ import annotations

import json

import pytest

from executions.models import Execution
from instances.lifecycle import instance_pause
from instances.models import Endpoint
from instances.services import api_key_add, organization_api_key_add
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\xff\xfe"


@pytest.fixture
def echo_url(make_integration, make_instance) -> str:
    instance = make_instance(make_integration())
    return f"/trigger/{Endpoint.objects.get(instance=instance).token}"


def stored(response) -> Execution:
    return Execution.objects.get(pk=response["triggerfish-executionid"])


def test_post_json_is_accepted_with_the_execution_id(client, echo_url):
    response = client.post(echo_url, data=b'{"renderId": 51266}', content_type="application/json")
    assert response.status_code == 200
    execution = stored(response)
    assert response.json() == {"executionId": str(execution.pk)}
    payload = execution.trigger_payload
    assert payload["body"] == {"data": {"renderId": 51266}, "contentType": "application/json"}
    assert payload["rawBody"]["data"] == b'{"renderId": 51266}'
    assert execution.status == "queued"


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_invoking_verb_starts_the_flow(client, echo_url, method):
    response = getattr(client, method)(echo_url)
    assert response.status_code == 200
    assert stored(response).trigger_payload["method"] == method.upper()


def test_head_and_options_answer_without_running(client, echo_url):
    head = client.head(echo_url)
    options = client.options(echo_url)
    assert head.status_code == 200 and head.content == b""
    assert options.status_code == 204
    assert "POST" in options["Allow"] and "GET" in options["Allow"]
    assert not Execution.objects.filter(trigger_kind="webhook").exists()


def test_other_verbs_are_405_json(client, echo_url):
    response = client.generic("TRACE", echo_url)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert "error" in response.json()


def test_a_body_sent_with_get_is_ignored(client, echo_url):
    response = client.generic("GET", echo_url, data=b"ignored", content_type="text/plain")
    payload = stored(response).trigger_payload
    assert payload["body"]["data"] is None
    assert payload["rawBody"]["data"] == b""


@pytest.mark.parametrize(
    "body",
    [b"{bad-data", b'{"a": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000],
    ids=["syntax", "invalid-utf8", "deep-nesting"],
)
def test_malformed_json_is_rejected_with_400(client, echo_url, body):
    response = client.post(echo_url, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "Received malformed JSON payload."}
    assert not Execution.objects.filter(trigger_kind="webhook").exists()


def test_binary_body_arrives_byte_exact(client, echo_url):
    response = client.post(echo_url, data=PNG, content_type="image/png")
    payload = Execution.objects.get(pk=response.json()["executionId"]).trigger_payload
    assert payload["body"] == {"data": PNG, "contentType": "image/png"}
    assert payload["rawBody"]["data"] == PNG


def test_text_xml_is_text(client, echo_url):
    response = client.post(echo_url, data="<note/>", content_type="application/xml")
    assert stored(response).trigger_payload["body"]["data"] == "<note/>"


def test_multipart_parts_keep_their_types(client, echo_url):
    boundary = "tfboundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="person"\r\n'
            "Content-Type: application/json\r\n\r\n"
            '{"firstname":"Taylor"}\r\n'
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="photo"; filename="taylor.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + PNG
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        echo_url, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 200
    parts = stored(response).trigger_payload["body"]["data"]
    assert parts["person"] == {"data": {"firstname": "Taylor"}, "contentType": "application/json"}
    assert parts["photo"] == {"data": PNG, "contentType": "image/png", "filename": "taylor.png"}


def test_broken_multipart_is_400(client, echo_url):
    response = client.post(
        echo_url, data=b"--nope\r\n\r\n", content_type="multipart/form-data; boundary=other"
    )
    assert response.status_code == 400
    assert "multipart" in response.json()["error"]


def test_headers_query_and_path_fragment_reach_the_payload(client, echo_url):
    response = client.post(
        f"{echo_url}/my/custom/path?one=1&many=a&many=b",
        data=b"{}",
        content_type="application/json",
        headers={"Header-One": "First header value"},
    )
    payload = stored(response).trigger_payload
    assert payload["headers"]["header-one"] == "First header value"
    assert payload["queryParameters"] == {"one": "1", "many": ["a", "b"]}
    assert payload["pathFragment"] == "my/custom/path"


def test_path_fragment_with_dots_and_nul_is_kept_as_data(client, echo_url):
    response = client.post(f"{echo_url}/../a%00b")
    assert response.status_code == 200
    assert stored(response).trigger_payload["pathFragment"] == "../a\x00b"


def test_unknown_token_is_404(client, echo_url):
    response = client.post("/trigger/" + "x" * 32)
    assert response.status_code == 404
    assert response.json() == {"error": "Unknown endpoint."}


def test_paused_instance_is_404(client, make_integration, make_instance):
    instance = make_instance(make_integration())
    instance_pause(instance=instance)
    token = Endpoint.objects.get(instance=instance).token
    response = client.post(f"/trigger/{token}")
    assert response.status_code == 404
    assert response.json() == {"error": "Instance is paused."}


def test_body_over_the_limit_is_413(client, echo_url, settings):
    settings.TRIGGERFISH_MAX_BODY_BYTES = 1000
    response = client.post(echo_url, data=b"x" * 1001, content_type="text/plain")
    assert response.status_code == 413
    assert "1000" in response.json()["error"]
    assert client.post(echo_url, data=b"x" * 1000, content_type="text/plain").status_code == 200


def test_custom_async_response(client, make_integration, make_instance):
    spec = definition()
    spec["flows"][0]["trigger"]["response"] = {
        "statusCode": 202,
        "contentType": "application/json",
        "headers": {"x-acme": "yes"},
        "body": '{"accepted": true}',
    }
    instance = make_instance(make_integration(spec))
    token = Endpoint.objects.get(instance=instance).token
    response = client.post(f"/trigger/{token}")
    assert response.status_code == 202
    assert response.json() == {"accepted": True}
    assert response["x-acme"] == "yes"
    assert response["Content-Type"] == "application/json"
    assert Execution.objects.filter(pk=response["triggerfish-executionid"]).exists()


class TestApiKeys:
    def url_for(self, instance) -> str:
        return f"/trigger/{Endpoint.objects.get(instance=instance).token}"

    def secured(self, make_integration, make_instance, security: str):
        spec = definition()
        spec["flows"][0]["trigger"]["endpointSecurity"] = security
        return make_instance(make_integration(spec))

    def test_customer_optional_is_open_until_a_key_exists(
        self, client, make_integration, make_instance
    ):
        instance = self.secured(make_integration, make_instance, "customer_optional")
        url = self.url_for(instance)
        assert client.post(url).status_code == 200
        key = api_key_add(instance=instance, flow_name="Echo").key
        assert client.post(url).status_code == 401
        assert client.post(url, headers={"Api-Key": "wrong"}).status_code == 401
        assert client.post(url, headers={"Api-Key": key}).status_code == 200

    def test_customer_required_needs_the_generated_key(
        self, client, make_integration, make_instance
    ):
        instance = self.secured(make_integration, make_instance, "customer_required")
        url = self.url_for(instance)
        response = client.post(url)
        assert response.status_code == 401
        assert "Api-Key" in response.json()["error"]
        key = instance.api_keys.get().key
        assert client.post(url, headers={"Api-Key": key}).status_code == 200

    def test_organization_keys(self, client, make_integration, make_instance):
        instance = self.secured(make_integration, make_instance, "organization")
        url = self.url_for(instance)
        instance_key = api_key_add(instance=instance, flow_name="Echo").key
        org_key = organization_api_key_add().key
        assert client.post(url, headers={"Api-Key": instance_key}).status_code == 401
        assert client.post(url, headers={"Api-Key": org_key}).status_code == 200

    def test_unsecured_ignores_keys(self, client, make_integration, make_instance):
        instance = self.secured(make_integration, make_instance, "unsecured")
        api_key_add(instance=instance, flow_name="Echo")
        assert client.post(self.url_for(instance)).status_code == 200


class TestRouting:
    def test_instance_specific_picks_the_flow_from_a_header(
        self, client, make_integration, make_instance
    ):
        spec = definition(
            name="Routed",
            endpointType="instance_specific",
            routing={"flowNameField": "headers.x-flow"},
        )
        spec["flows"].append({**spec["flows"][0], "name": "Other"})
        instance = make_instance(make_integration(spec))
        url = f"/trigger/{Endpoint.objects.get(instance=instance).token}"
        response = client.post(url, headers={"X-Flow": "Other"})
        assert response.status_code == 200
        assert stored(response).flow.name == "Other"
        missing = client.post(url, headers={"X-Flow": "Nope"})
        assert missing.status_code == 404
        assert "Flow not found" in missing.json()["error"]

    def test_shared_endpoint_routes_two_customers(
        self, client, make_integration, make_instance, customer_a, customer_b
    ):
        spec = definition(
            name="Shared",
            endpointType="shared_instance",
            routing={
                "flowNameField": "headers.x-flow",
                "externalCustomerIdField": "body.data.account",
            },
        )
        integration = make_integration(spec)
        instance_a = make_instance(integration, customer=customer_a)
        instance_b = make_instance(integration, customer=customer_b)
        url = f"/trigger/{Endpoint.objects.get(integration_name='Shared').token}"

        def send(account: str):
            return client.post(
                url,
                data=json.dumps({"account": account}),
                content_type="application/json",
                headers={"X-Flow": "Echo"},
            )

        assert stored(send("acme")).instance == instance_a
        assert stored(send("globex")).instance == instance_b
        unknown = send("initech")
        assert unknown.status_code == 404
        assert "Customer not found" in unknown.json()["error"]
