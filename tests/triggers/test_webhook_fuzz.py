"""Property: whatever bytes, headers and content types arrive, the endpoint never answers
5xx, and every 2xx names an execution that is committed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executions.models import Execution
from instances.models import Endpoint
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db

CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/vnd.api+json",
            "text/plain",
            "text/plain; charset=latin-1",
            "text/plain; charset=no-such-charset",
            "application/xml",
            "multipart/form-data",
            "multipart/form-data; boundary=x",
            "multipart/form-data; boundary=",
            "image/png",
            "",
            ";;;",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)
HEADER_NAMES = st.from_regex(r"\AX-[A-Za-z0-9-]{1,20}\Z")
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200)
PATHS = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?#"),
    max_size=40,
)


@pytest.fixture
def url(make_integration, make_instance, settings):
    settings.TRIGGERFISH_RATE_LIMIT_PER_SECOND = 1_000_000
    spec = definition()
    spec["flows"][0]["trigger"]["endpointSecurity"] = "unsecured"
    instance = make_instance(make_integration(spec))
    return f"/trigger/{Endpoint.objects.get(instance=instance).token}"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(
        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO"]
    ),
    body=st.one_of(st.binary(max_size=2000), st.just(b"[" * 5000), st.just(b'{"a": "\\u0000"}')),
    content_type=CONTENT_TYPES,
    headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=5),
    path=PATHS,
)
def test_random_requests_never_5xx_and_every_2xx_is_stored(
    client, url, method, body, content_type, headers, path
):
    response = client.generic(
        method,
        f"{url}/{path}" if path else url,
        data=body,
        content_type=content_type,
        headers=headers,
    )
    assert response.status_code < 500, response.content
    if 200 <= response.status_code < 300 and "triggerfish-executionid" in response:
        assert Execution.objects.filter(pk=response["triggerfish-executionid"]).exists()
    if method in {"GET", "POST", "PUT", "PATCH", "DELETE"} and response.status_code == 200:
        assert "triggerfish-executionid" in response
