"""Property: any JSON document a sender posts, whatever keys it holds (the product's own
bytes tag and its escaped forms, ``__proto__``, nested anywhere), is stored and read back
from the database exactly as sent, and the executions list keeps answering 200."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from api.services import api_token_create
from core.codec import BYTES_TAG
from executions.models import Execution
from instances.models import Endpoint
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db

INTERNAL_KEYS = st.sampled_from(
    [
        BYTES_TAG,
        "_" + BYTES_TAG,
        "__" + BYTES_TAG,
        BYTES_TAG + "x",
        "triggerfish_bytes__",
        "__proto__",
        "constructor",
        "prototype",
        "data",
        "contentType",
        "statusCode",
        "",
    ]
)
# Values that look like what the bytes tag holds: base64, not base64, the wrong type.
TAG_LIKE_VALUES = st.sampled_from(["aGVsbG8=", "!!!notbase64", "", "====", "AA"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    TAG_LIKE_VALUES,
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(INTERNAL_KEYS, st.text(max_size=10)), children, max_size=4),
    ),
    max_leaves=20,
)


@pytest.fixture
def url(make_integration, make_instance, settings):
    settings.TRIGGERFISH_RATE_LIMIT_PER_SECOND = 1_000_000
    spec = definition()
    spec["flows"][0]["trigger"]["endpointSecurity"] = "customer_optional"
    instance = make_instance(make_integration(spec))
    return f"/trigger/{Endpoint.objects.get(instance=instance).token}"


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=staff_user)}")
    return api


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=DOCUMENTS)
def test_any_json_document_round_trips_and_the_list_still_answers(client, url, staff_api, document):
    response = client.post(url, data=json.dumps(document), content_type="application/json")
    assert response.status_code == 200, response.content
    stored = Execution.objects.get(pk=response["triggerfish-executionid"])  # read from the row
    assert stored.trigger_payload["body"]["data"] == document
    assert stored.trigger_payload["rawBody"]["data"] == json.dumps(document).encode()
    listed = staff_api.get("/api/v1/executions/")
    assert listed.status_code == 200
    assert all(row.get("payloadError") is None for row in listed.json()["results"])
