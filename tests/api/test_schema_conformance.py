"""Schemathesis against the served OpenAPI schema: generated requests (valid and not) to
every operation, as staff; no 5xx, and every response matches what the schema says."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from api.services import api_token_create
from config.wsgi import application

pytestmark = pytest.mark.django_db

# Loaded through the app itself: the schema the product serves is the one tested.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_test_connection_open():
    """Requests go straight into the WSGI app, in this process and this test's
    transaction; like Django's test client, keep the request signals from closing it."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# What the API must guarantee is that it never fails (5xx) and never answers anything its
# schema does not describe. Whether a schema-valid request may still be refused is the
# business rules' call (an unknown customer id, a taken externalId, a definition the
# importer rejects), and unknown query parameters are ignored as is usual for REST APIs,
# so the two request-acceptance checks are left out.
EXCLUDED_CHECKS = [checks.positive_data_acceptance, checks.negative_data_rejection]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, world, staff_user):
    token = api_token_create(user=staff_user)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, excluded_checks=EXCLUDED_CHECKS
    )
