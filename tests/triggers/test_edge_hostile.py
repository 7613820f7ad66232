"""Hostile requests at the webhook edge, through a real gunicorn (SPEC §3, Responses).

Chunked and short bodies are sent with a raw socket: HTTP clients do not send a body
shorter than its Content-Length, and gunicorn's de-chunking is what is being tested.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from executions.models import Execution
from instances.models import Endpoint
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db(transaction=True)

BODY_LIMIT = 200_000


@pytest.fixture
def edge(make_integration, make_instance, start_live_server):
    """A live server with a small body limit, and the token of one webhook endpoint."""
    instance = make_instance(make_integration(definition(name="Edge")))
    token = Endpoint.objects.get(instance=instance).token
    server = start_live_server(workers=1, env={"TRIGGERFISH_MAX_BODY_BYTES": str(BODY_LIMIT)})
    return server, token


def raw_exchange(base_url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is, end the sending side, and read the whole answer."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=15) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    return int(status_line.split(" ")[1]), headers, body


def chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def request_head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: edge.test", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_chunked_body_is_read_whole(edge):
    server, token = edge
    body = json.dumps({"items": ["x" * 100] * 30}).encode()  # 3 KiB in 20 chunks
    assert len(body) < BODY_LIMIT
    request = request_head(
        "POST",
        f"/trigger/{token}",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked",
    )
    status, headers, answer = raw_exchange(server.url, request + chunked(body, 160))
    assert status == 200, answer
    execution = Execution.objects.get(pk=headers["triggerfish-executionid"])
    assert execution.trigger_payload["rawBody"]["data"] == body
    assert execution.trigger_payload["body"]["data"] == {"items": ["x" * 100] * 30}


def test_chunked_body_over_the_limit_is_413_and_not_stored(edge):
    server, token = edge
    request = request_head(
        "POST", f"/trigger/{token}", "Content-Type: text/plain", "Transfer-Encoding: chunked"
    )
    status, _, answer = raw_exchange(server.url, request + chunked(b"y" * (BODY_LIMIT + 1), 1000))
    assert status == 413
    assert json.loads(answer) == {"error": f"Request body exceeds the limit of {BODY_LIMIT} bytes."}
    assert not Execution.objects.exists()


def test_body_shorter_than_its_content_length_is_400_and_not_stored(edge):
    server, token = edge
    request = request_head(
        "POST", f"/trigger/{token}", "Content-Type: application/json", "Content-Length: 100"
    )
    status, headers, answer = raw_exchange(server.url, request + b'{"cut": "he')
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(answer) == {"error": "Incomplete request body."}
    assert not Execution.objects.exists()


def test_chunked_body_cut_off_mid_chunk_is_400_and_not_stored(edge):
    server, token = edge
    request = request_head(
        "POST", f"/trigger/{token}", "Content-Type: text/plain", "Transfer-Encoding: chunked"
    )
    status, _, answer = raw_exchange(server.url, request + b"64\r\n" + b"z" * 10)
    assert status == 400
    assert json.loads(answer) == {"error": "Incomplete request body."}
    assert not Execution.objects.exists()


@pytest.mark.parametrize("suffix", ["%00", "%20x", "%00/fragment", "%C3%A9"])
@pytest.mark.parametrize("method", ["POST", "GET", "HEAD"])
def test_token_outside_the_url_safe_alphabet_is_404_unknown_endpoint(edge, suffix, method):
    # On PostgreSQL a NUL in the lookup was a DataError answered 503 "temporarily
    # unavailable"; no such token can exist, so it is refused before any lookup.
    server, token = edge
    response = httpx.request(method, f"{server.url}/trigger/{token}{suffix}", content=b"{}")
    assert response.status_code == 404
    if method != "HEAD":
        assert response.json() == {"error": "Unknown endpoint."}
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b'{"value": NaN}',
        b'{"value": Infinity}',
        b"[-Infinity]",
        b'{"text": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'["\\ud83d"]',
    ],
)
def test_json_that_is_not_strict_rfc_8259_is_malformed(edge, body):
    server, token = edge
    response = httpx.post(
        f"{server.url}/trigger/{token}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "Received malformed JSON payload."}
    assert not Execution.objects.exists()


def test_surrogate_pairs_and_escaped_backslashes_are_still_json(edge):
    server, token = edge
    body = b'{"emoji": "\\ud83d\\ude00", "path": "C:\\\\ud800"}'
    response = httpx.post(
        f"{server.url}/trigger/{token}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    execution = Execution.objects.get(pk=response.headers["triggerfish-executionid"])
    assert execution.trigger_payload["body"]["data"] == {"emoji": "😀", "path": "C:\\ud800"}


def test_more_than_1000_query_parameters_is_400_json(edge):
    server, token = edge
    query = "&".join(["p"] * 1200)  # short: gunicorn refuses request lines over 4 KiB
    response = httpx.post(f"{server.url}/trigger/{token}?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "More than 1000 query parameters."}
    assert not Execution.objects.exists()


def test_1000_query_parameters_are_accepted(edge):
    server, token = edge
    query = "&".join(["p"] * 1000)
    response = httpx.post(f"{server.url}/trigger/{token}?{query}")
    assert response.status_code == 200


@pytest.mark.parametrize("form", ["urlencoded", "multipart"])
def test_more_than_1000_form_fields_is_400_json(edge, form):
    server, token = edge
    fields = {f"f{index}": "1" for index in range(1200)}
    if form == "urlencoded":
        response = httpx.post(f"{server.url}/trigger/{token}", data=fields)
    else:
        response = httpx.post(
            f"{server.url}/trigger/{token}",
            files={name: (None, value) for name, value in fields.items()},
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "More than 1000 form fields."}
    assert not Execution.objects.exists()


def test_more_than_1000_query_parameters_on_the_api_is_400_json(edge):
    server, _ = edge
    query = "&".join(["p"] * 1200)  # short: gunicorn refuses request lines over 4 KiB
    response = httpx.get(f"{server.url}/api/schema/?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "More than 1000 query parameters or form fields."}


@pytest.mark.parametrize("account", ["ac\u0000me", "\u0000"])
def test_shared_endpoint_customer_id_with_a_nul_is_404_customer_not_found(
    make_integration, make_instance, customer_a, start_live_server, account
):
    # The id is looked up in the database: on PostgreSQL a NUL there was a DataError
    # answered 503 "temporarily unavailable".
    spec = definition(
        name="Shared edge",
        endpointType="shared_instance",
        routing={"flowNameField": "headers.x-flow", "externalCustomerIdField": "body.data.account"},
    )
    make_instance(make_integration(spec), customer=customer_a)
    token = Endpoint.objects.get(integration_name="Shared edge").token
    server = start_live_server(workers=1)
    url, headers = f"{server.url}/trigger/{token}", {"X-Flow": "Echo"}
    response = httpx.post(url, json={"account": account}, headers=headers)
    assert response.status_code == 404
    assert response.json()["error"].startswith("Customer not found")
    assert httpx.post(url, json={"account": "acme"}, headers=headers).status_code == 200
