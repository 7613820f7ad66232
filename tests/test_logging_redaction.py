"""Log lines never carry a webhook token, a result token or an API key (SPEC §3): read
from the log a real gunicorn writes, and from Django's request logger in process."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import httpx
import pytest

from config.logging import REDACTED, SecretPathRedactFilter, redact_secret_paths
from instances.models import Endpoint
from instances.services import api_key_add
from tests.fixtures.domain import definition
from triggers.sync.wait import result_url_sign

# gunicorn's own access and error logs go through the redacting logger class, as
# `manage.py serve` runs it; GUNICORN_CMD_ARGS adds to the fixture's command line.
GUNICORN_ARGS = "--access-logfile - --logger-class config.logging.GunicornLogger"


def log_text_with(path: str, needle: str, timeout: float = 10.0) -> str:
    """The server's log once it holds ``needle`` (lines are written as requests end)."""
    deadline = time.monotonic() + timeout
    while True:
        text = Path(path).read_text()
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_gunicorn_log_holds_no_token_or_api_key(make_integration, make_instance, start_live_server):
    instance = make_instance(make_integration(definition(name="Logged")))
    token = Endpoint.objects.get(instance=instance).token
    wrong_key = "not-a-key-8f1c2b7e4d9a"
    real_key = api_key_add(instance=instance, flow_name="Echo").key
    server = start_live_server(workers=1, env={"GUNICORN_CMD_ARGS": GUNICORN_ARGS})

    malformed = httpx.post(
        f"{server.url}/trigger/{token}/orders/42",
        content=b"{not json",
        headers={"Content-Type": "application/json", "Api-Key": real_key},
    )
    unknown_key = httpx.delete(
        f"{server.url}/api/v1/instances/{instance.pk}/flows/Echo/api-keys/{wrong_key}"
    )
    result = httpx.post(f"{server.url}/results/{result_url_sign(execution_id=instance.pk)}")
    assert (malformed.status_code, unknown_key.status_code) == (400, 401)
    assert result.status_code >= 400

    text = log_text_with(server.log_path, "/results/")
    assert f"Bad Request: /trigger/{REDACTED}/orders/42" in text  # Django's request logger
    assert f"/api-keys/{REDACTED}" in text
    assert f'"POST /trigger/{REDACTED}/orders/42 HTTP/1.1" 400' in text  # gunicorn access
    assert f"/results/{REDACTED}" in text
    for secret in (token, wrong_key, real_key):
        assert secret not in text


@pytest.mark.django_db
def test_request_logger_redacts_paths_in_process(client, caplog, echo_instance_token):
    signed = result_url_sign(execution_id="00000000-0000-0000-0000-000000000000")
    with caplog.at_level(logging.INFO, logger="django.request"):
        client.post(f"/trigger/{echo_instance_token}", b"{", content_type="application/json")
        client.get(f"/results/{signed}x")
        client.delete("/api/v1/instances/1/flows/Echo/api-keys/secret-key-value")
    messages = [record.getMessage() for record in caplog.records if record.name == "django.request"]
    assert f"Bad Request: /trigger/{REDACTED}" in messages
    assert any(message.endswith(f"/results/{REDACTED}") for message in messages)
    assert f"Unauthorized: /api/v1/instances/1/flows/Echo/api-keys/{REDACTED}" in messages
    for secret in (echo_instance_token, signed, "secret-key-value"):
        assert secret not in caplog.text


@pytest.fixture
def echo_instance_token(make_integration, make_instance) -> str:
    instance = make_instance(make_integration())
    return Endpoint.objects.get(instance=instance).token


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Not Found: /trigger/abcDEF_-123", "Not Found: /trigger/[redacted]"),
        (
            '"GET /trigger/abc/my/path?x=1 HTTP/1.1" 200',
            '"GET /trigger/[redacted]/my/path?x=1 HTTP/1.1" 200',
        ),
        (
            "see http://h/results/eyJ:1tX:sig and /results/other",
            "see http://h/results/[redacted] and /results/[redacted]",
        ),
        (
            "DELETE /api/v1/instances/7/flows/A%20B/api-keys/k3y",
            "DELETE /api/v1/instances/7/flows/A%20B/api-keys/[redacted]",
        ),
        ("/api/v1/executions/?page=2", "/api/v1/executions/?page=2"),
    ],
)
def test_secret_path_parts_are_redacted(line, expected):
    assert redact_secret_paths(line) == expected


def test_filter_redacts_arguments_and_tracebacks_and_keeps_the_record():
    try:
        raise ValueError("could not reach http://x/trigger/tok123")
    except ValueError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "%s: %s",
            ("Internal Server Error", "/trigger/tok123"),
            sys.exc_info(),
        )
    assert SecretPathRedactFilter().filter(record) is True
    formatted = logging.Formatter().format(record)
    assert "tok123" not in formatted
    assert f"Internal Server Error: /trigger/{REDACTED}" in formatted
    assert f"http://x/trigger/{REDACTED}" in formatted
