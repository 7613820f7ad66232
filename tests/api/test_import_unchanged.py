"""Importing a definition identical to the newest version of its name makes no new
version: the API answers 200 with that version and ``created: false`` (201 ``created:
true`` for a new one), and ``manage.py import_integration`` says which it did."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from integrations.models import Integration
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db

SIGNED = {
    "name": "Signed",
    "flows": [
        {
            "name": "In",
            "trigger": {
                "type": "hmac_webhook",
                "hmac": {"header": "x-sig", "algorithm": "sha256", "secret": "first-secret"},
            },
            "steps": [{"name": "R", "action": "flow.return"}],
        }
    ],
}


def post(api, spec: dict, content_type: str = "application/json"):
    return api.post("/api/v1/integrations/import", json.dumps(spec), content_type=content_type)


def test_the_same_definition_again_answers_200_with_the_existing_version(staff_api):
    first = post(staff_api, definition())
    again = post(staff_api, definition())

    assert first.status_code == 201
    assert first.json()["created"] is True
    assert again.status_code == 200
    assert again.json() == {**first.json(), "created": False}
    assert Integration.objects.filter(name="Echo").count() == 1


def test_the_same_definition_written_differently_is_still_identical(staff_api):
    """Compared normalized: YAML instead of JSON, defaults spelled out, keys reordered."""
    post(staff_api, definition())
    spelled_out = definition()
    spelled_out["endpointType"] = "flow_specific"
    spelled_out["flows"][0]["trigger"]["endpointSecurity"] = "customer_optional"
    yaml_text = json.dumps(dict(reversed(list(spelled_out.items()))))  # JSON is YAML

    again = staff_api.post(
        "/api/v1/integrations/import", yaml_text, content_type="application/yaml"
    )

    assert again.status_code == 200
    assert again.json()["created"] is False


def test_a_changed_definition_makes_the_next_version(staff_api):
    post(staff_api, definition())
    changed = post(staff_api, definition(description="Now with words."))

    assert changed.status_code == 201
    assert changed.json()["version"] == 2
    assert changed.json()["created"] is True


def test_only_the_newest_version_counts(staff_api):
    post(staff_api, definition())
    post(staff_api, definition(description="v2"))
    back_to_first = post(staff_api, definition())

    assert back_to_first.status_code == 201
    assert back_to_first.json()["version"] == 3


def test_a_changed_secret_is_a_change(staff_api):
    post(staff_api, SIGNED)
    same = post(staff_api, SIGNED)
    rotated = json.loads(json.dumps(SIGNED))
    rotated["flows"][0]["trigger"]["hmac"]["secret"] = "second-secret"
    changed = post(staff_api, rotated)

    assert same.status_code == 200
    assert changed.status_code == 201
    assert changed.json()["version"] == 2


def test_import_command_says_when_nothing_changed(tmp_path):
    path = tmp_path / "echo.json"
    path.write_text(json.dumps(definition()))

    first, again = StringIO(), StringIO()
    call_command("import_integration", str(path), stdout=first)
    call_command("import_integration", str(path), stdout=again)

    integration = Integration.objects.get(name="Echo")
    assert first.getvalue().strip() == f"Imported Echo v1 ({integration.id})"
    assert again.getvalue().strip() == (
        f"Unchanged: Echo v1 ({integration.id}) is identical; no new version"
    )
