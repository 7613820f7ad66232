"""Parsing definition text (YAML or JSON) and normalising a valid definition to the shape
it is stored in."""

from __future__ import annotations

import pytest

from integrations.definitions import DefinitionError, definition_normalize, definition_parse
from tests.fixtures.definitions import errors_of, with_flow, with_trigger


def test_yaml_keeps_date_like_text_as_text() -> None:
    parsed = definition_parse(text="name: Dated\ndescription: 2026-03-08\nflows: []\n")
    assert parsed["description"] == "2026-03-08"


def test_yaml_duplicate_keys_are_a_syntax_error() -> None:
    with pytest.raises(DefinitionError) as caught:
        definition_parse(text="name: A\nname: B\n")
    assert list(caught.value.errors) == ["definition"]
    assert "duplicate key 'name'" in caught.value.errors["definition"]


@pytest.mark.parametrize(
    ("text", "content_type"),
    [("name: [unclosed\n", None), ('{"name": }', "application/json"), (b"\xff\xfe\x00", None)],
)
def test_syntax_errors_are_reported_at_definition(
    text: str | bytes, content_type: str | None
) -> None:
    with pytest.raises(DefinitionError) as caught:
        definition_parse(text=text, content_type=content_type)
    assert list(caught.value.errors) == ["definition"]


def test_normalize_omits_defaults_and_fills_stored_shapes() -> None:
    definition = with_flow(
        trigger={
            "type": "hmac_webhook",
            "synchronous": False,
            "endpointSecurity": "customer_optional",
            "hmac": {"header": "x-sig", "algorithm": "sha256", "secret": "s", "encoding": "hex"},
            "response": {},
        },
        queue={"type": "parallel"},
        retry={"maxAttempts": 0, "delaySeconds": 30},
        singleton=False,
    )
    assert definition_normalize(definition=definition, include_secrets=True)["flows"][0] == {
        "name": "F",
        "trigger": {
            "type": "hmac_webhook",
            "response": {"statusCode": 200},
            "hmac": {"header": "x-sig", "algorithm": "sha256", "secret": "s"},
        },
        "retry": {"delaySeconds": 30},
        "steps": [],
    }


def test_path_keeps_user_keys_that_look_like_type_names() -> None:
    errors = errors_of(with_trigger(type="webhook", response={"headers": {"str": 1}}))
    assert list(errors) == ["flows[0].trigger.response.headers.str"]
