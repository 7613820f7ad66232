"""The admin's "Test this flow": synchronous trials that follow the 303 to the result (with
the signed URL never printed), file bodies sent byte-exact, the upload limit as a form
error, and the last request kept per endpoint for the next visit."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from executions.models import Execution
from instances.models import Endpoint
from tests.fixtures.domain import definition
from tests.fixtures.sync import sync_step as step
from triggers.admin import SAVED_REQUEST_SESSION_KEY
from triggers.webhooks.trial import (
    PRESIGNED_STORAGE_URL,
    SIGNED_RESULT_URL,
    location_shown,
    result_url_token,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def _endpoint(make_integration, make_instance, steps=None, **trigger) -> Endpoint:
    flow = {
        "name": "Echo",
        "trigger": {"type": "webhook", **trigger},
        "steps": steps or [step("flow.return", data="{{ trigger.body.data }}")],
    }
    instance = make_instance(make_integration(definition(flows=[flow])))
    return Endpoint.objects.get(instance=instance)


def _form(**fields):
    return {"method": "POST", "content_type": "application/json", "headers": "{}", **fields}


@pytest.mark.django_db
def test_an_async_trial_answers_at_once_and_follows_nothing(
    client, staff_user, make_integration, make_instance
):
    endpoint = _endpoint(make_integration, make_instance)
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    response = client.post(url, _form(body='{"n": 1}', synchronous="false"))
    assert response.status_code == 200
    assert response.context["result"]["status"] == 200
    assert response.context["followed"] is None
    execution = Execution.objects.get()
    assert not execution.synchronous
    assert response.context["result"]["body"] == f'{{"executionId": "{execution.pk}"}}'
    assert f"&quot;executionId&quot;: &quot;{execution.pk}&quot;" in response.content.decode()


@pytest.mark.django_db
def test_a_file_body_arrives_byte_exact_with_the_files_type(
    client, staff_user, make_integration, make_instance
):
    endpoint = _endpoint(make_integration, make_instance)
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    upload = SimpleUploadedFile("pixel.png", PNG, content_type="image/png")
    response = client.post(url, _form(body="ignored", body_file=upload))
    assert response.context["result"]["status"] == 200
    raw = Execution.objects.get().trigger_payload["rawBody"]
    assert raw["data"] == PNG
    assert raw["contentType"] == "image/png"


@pytest.mark.django_db
def test_a_changed_content_type_field_overrides_the_files_type(
    client, staff_user, make_integration, make_instance
):
    endpoint = _endpoint(make_integration, make_instance)
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    upload = SimpleUploadedFile("blob.bin", b"\x00\x01raw", content_type="image/png")
    client.post(url, _form(content_type="application/x-custom", body_file=upload))
    raw = Execution.objects.get().trigger_payload["rawBody"]
    assert raw == {"data": b"\x00\x01raw", "contentType": "application/x-custom"}


@pytest.mark.django_db
def test_an_oversized_file_is_a_form_error_and_nothing_runs(
    client, staff_user, make_integration, make_instance, settings
):
    settings.TRIGGERFISH_MAX_BODY_BYTES = 100
    endpoint = _endpoint(make_integration, make_instance)
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    upload = SimpleUploadedFile("big.bin", b"x" * 101, content_type="application/octet-stream")
    response = client.post(url, _form(body_file=upload))
    assert response.status_code == 200
    assert response.context["result"] is None
    errors = response.context["form"].errors["body_file"]
    assert "101 bytes" in errors[0] and "TRIGGERFISH_MAX_BODY_BYTES" in errors[0]
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_the_last_request_is_the_next_visits_starting_point(
    client, staff_user, make_integration, make_instance
):
    endpoint = _endpoint(make_integration, make_instance)
    other = _endpoint(make_integration, make_instance)
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    client.post(
        url,
        _form(
            method="PUT",
            body='{"saved": true}',
            headers='{"x-note": "kept"}',
            path_fragment="a/b",
            synchronous="false",
        ),
    )
    page = client.get(url).content.decode()
    assert "{&quot;saved&quot;: true}" in page
    assert '<option value="PUT" selected>' in page
    assert "x-note" in page and 'value="a/b"' in page
    other_page = client.get(reverse("admin:triggers_endpoint_test", args=[other.pk]))
    assert "saved" not in other_page.content.decode()


def test_a_saved_request_keeps_no_credential_header(
    client, staff_user, make_integration, make_instance
):
    endpoint = _endpoint(make_integration, make_instance)
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    headers = '{"Api-Key": "typed-key-6c1f", "Authorization": "Bearer tok-93ad", "x-note": "kept"}'
    client.post(url, _form(body="{}", headers=headers))
    saved = client.session[SAVED_REQUEST_SESSION_KEY.format(pk=endpoint.pk)]
    assert saved["headers"] == {"x-note": "kept"}
    page = client.get(url).content.decode()
    assert "typed-key-6c1f" not in page and "tok-93ad" not in page


@pytest.mark.django_db(transaction=True)
def test_a_sync_trial_follows_the_303_and_shows_the_result(
    client, staff_user, make_integration, make_instance, celery_worker_process
):
    endpoint = _endpoint(
        make_integration,
        make_instance,
        steps=[step("flow.return", data={"total": "{{ trigger.body.data.n }}"})],
    )
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    response = client.post(url, _form(body='{"n": 42}', synchronous="true"))
    result, followed = response.context["result"], response.context["followed"]
    assert result["status"] == 303, result
    assert result["headers"]["Location"] == SIGNED_RESULT_URL
    assert followed["status"] == 200
    assert followed["headers"]["Content-Type"] == "application/json"
    assert followed["body"] == '{"total": 42}'
    execution = Execution.objects.get()
    assert execution.synchronous and execution.status == "succeeded"
    page = response.content.decode()
    assert "/results/" not in page  # the signed URL (its token) is a credential
    assert SIGNED_RESULT_URL in page and "{&quot;total&quot;: 42}" in page


@pytest.mark.django_db(transaction=True)
def test_a_sync_binary_result_is_summarised_not_printed(
    client, staff_user, make_integration, make_instance, celery_worker_process
):
    endpoint = _endpoint(
        make_integration,
        make_instance,
        steps=[step("flow.return", data="{{ trigger.rawBody.data }}")],
    )
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    upload = SimpleUploadedFile("pixel.png", PNG, content_type="image/png")
    response = client.post(url, _form(body_file=upload, synchronous="true"))
    followed = response.context["followed"]
    assert response.context["result"]["status"] == 303
    assert followed["status"] == 200
    assert followed["binary"] == f"{len(PNG)} bytes, application/octet-stream"
    assert followed["body"] == ""


@pytest.mark.django_db(transaction=True)
def test_a_sync_result_with_its_own_status_is_shown_and_not_followed(
    client, staff_user, make_integration, make_instance, celery_worker_process
):
    endpoint = _endpoint(
        make_integration,
        make_instance,
        steps=[step("flow.return", data={"id": 9}, statusCode=201)],
    )
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    response = client.post(url, _form(body="{}", synchronous="true"))
    assert response.context["result"]["status"] == 201
    assert response.context["result"]["body"] == '{"id": 9}'
    assert response.context["followed"] is None


def test_only_our_result_urls_are_followed_and_credentials_are_never_shown(settings):
    settings.BASE_URL = "https://tf.example"
    assert result_url_token("https://tf.example/results/abc:def") == "abc:def"
    assert result_url_token("https://elsewhere.example/results/abc") is None
    assert result_url_token("https://tf.example/results/") is None
    assert location_shown("https://tf.example/results/abc:def") == SIGNED_RESULT_URL
    presigned = "https://s3.example/b/k?X-Amz-Expires=3600&X-Amz-Signature=ff"
    assert location_shown(presigned) == PRESIGNED_STORAGE_URL
    assert location_shown("https://shop.example/thanks") == "https://shop.example/thanks"


@pytest.mark.django_db
def test_the_page_and_an_async_send_take_a_bounded_number_of_queries(
    client, staff_user, make_integration, make_instance, django_assert_max_num_queries
):
    endpoint = _endpoint(make_integration, make_instance)
    client.force_login(staff_user)
    url = reverse("admin:triggers_endpoint_test", args=[endpoint.pk])
    client.post(url, _form(body="{}"))  # warms the routing and key caches
    # The session, the user, the endpoint.
    with django_assert_max_num_queries(3):
        assert client.get(url).status_code == 200
    # Those, the flow's key, storing the execution and the saved request.
    with django_assert_max_num_queries(8):
        assert client.post(url, _form(body="{}")).context["result"]["status"] == 200
