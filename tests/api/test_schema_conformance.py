"""Schemathesis against the served OpenAPI schema: generated requests (valid and not) to
every operation, as staff; no 5xx, and every response matches what the schema says."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.core.parameters import ParameterLocation

from api.services import api_token_create
from config.wsgi import application

pytestmark = pytest.mark.django_db

# Loaded through the app itself: the schema the product serves is the one tested.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_test_connection_open():
    """Requests go straight into the WSGI app, in this process and this test's
    transaction; like Django's test client, keep the request signals from closing it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# What the API must guarantee is that it never fails (5xx), never answers anything its
# schema does not describe, and refuses what the schema says is invalid (a filter that is
# not a UUID, a page that is not a number, a body of the wrong type: negative data
# rejection). Whether a schema-valid request may still be refused is the business rules'
# call (an unknown customer id, a taken externalId, a definition the importer rejects),
# so positive data acceptance is left out.
EXCLUDED_CHECKS = [checks.positive_data_acceptance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, world, staff_user):
    headers = {}
    # A case whose headers are its invalid part (the Authorization header left out, say)
    # must reach the API as generated: signing it here would make it a valid request, and
    # the API's 200 would then count as accepting invalid data.
    if not (case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)):
        headers["Authorization"] = f"Bearer {api_token_create(user=staff_user)}"
    case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)


def test_every_operation_has_a_summary_and_a_tag(client):
    """/api/docs/ reads as a manual: every operation says what it does, grouped by object."""
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    missing = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if not operation.get("summary") or not operation.get("tags")
    ]
    assert missing == []


def test_deployed_at_is_nullable_and_result_content_types_are_listed(client):
    served = client.get("/api/schema/", {"format": "json"}).json()
    assert served["components"]["schemas"]["Instance"]["properties"]["deployedAt"]["nullable"]
    result = served["paths"]["/api/v1/executions/{id}/result/"]["get"]["responses"]
    assert {"application/json", "text/plain", "application/octet-stream"} <= set(
        result["200"]["content"]
    )
    assert "202" in result


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/instances/?integration=", "integration"),
        ("/api/v1/instances/?customer=not-a-uuid", "customer"),
        ("/api/v1/executions/?instance=", "instance"),
        ("/api/v1/executions/?flow=", "flow"),
        ("/api/v1/executions/?flow=a%00b", "flow"),  # PostgreSQL refuses a NUL: was a 500
        ("/api/v1/executions/?status=", "status"),
        ("/api/v1/executions/?status=failed&status=succeeded", "status"),
        ("/api/v1/executions/?page=abc", "page"),
        ("/api/v1/executions/?page=1&page=2", "page"),
        ("/api/v1/executions/?page=0", "page"),
        ("/api/v1/integrations/?page=-1", "page"),
        ("/api/v1/customers/?page=%D9%A1", "page"),  # an Arabic-Indic digit one
    ],
)
def test_list_filters_refuse_bad_values_with_400(staff_api, url, field):
    response = staff_api.get(url)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


@pytest.mark.parametrize("padding", [" ", "\u0085", "\t"])
def test_a_name_over_its_max_length_is_refused_before_whitespace_is_trimmed(staff_api, padding):
    """The schema's maxLength counts the text as sent; DRF measured it after trimming, so
    a 201-character name that began with whitespace was stored (found by schemathesis)."""
    name = padding + "n" * 200
    response = staff_api.post(
        "/api/v1/customers/", {"name": name, "externalId": "pad-1"}, format="json"
    )
    assert response.status_code == 400
    assert "name" in response.json()["fields"]
    accepted = staff_api.post(
        "/api/v1/customers/", {"name": padding + "n" * 199, "externalId": "pad-2"}, format="json"
    )
    assert accepted.status_code == 201
    assert accepted.json()["name"] == "n" * 199
