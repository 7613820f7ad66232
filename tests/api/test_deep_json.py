"""A body nested deeper than Python's JSON decoder goes (a RecursionError inside it) is a
400 JSON answer on every JSON route of the API, not a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/customers/",
        "/api/v1/instances/",
        "/api/v1/executions/replay",
        "/api/v1/alert-monitors/",
    ],
)
def test_deeply_nested_json_is_a_400(staff_api, path):
    answer = staff_api.post(path, data=f'{{"name": {DEEP}}}', content_type="application/json")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["error"] == "JSON parse error - nested too deeply."


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/json", DEEP), ("application/yaml", "a: " + DEEP)],
)
def test_a_deeply_nested_definition_is_a_400(staff_api, content_type, body):
    answer = staff_api.post("/api/v1/integrations/import", data=body, content_type=content_type)
    assert answer.status_code == 400
    assert answer.json()["fields"] == {"definition": "Nested too deeply to read."}
