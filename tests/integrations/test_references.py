"""Reference templates (SPEC §2 "References"): pure functions, no database."""

from __future__ import annotations

import pytest

from integrations.references import (
    ReferenceResolutionError,
    ReferenceSyntaxError,
    TemplateError,
    parse_reference,
    resolve_inputs,
    template_references,
)

SCOPE = {
    "trigger": {
        "body": {"data": {"renderId": 42, "tags": ["a", "b"], "ok": True, "none": None}},
        "headers": {"x-acme-flow": "Render", "content-type": "application/json"},
        "rawBody": {"data": b"\x00\xffraw"},
    },
    "configVars": {"Base URL": "http://127.0.0.1:9000", "Region": "eu", "Limit": 5},
    "steps": {
        "Fetch Render": {"data": {"items": [{"id": 1}, {"id": 2}]}, "statusCode": 200},
        "Split": ["x", "y"],
        "Text": "café",
    },
    "instance": {"id": "i-1", "name": "Acme"},
    "customer": {"id": "c-1", "name": "Acme Inc", "externalId": "acme"},
    "integration": {"id": "g-1", "name": "Notifier", "version": 3},
    "flow": {"id": "f-1", "name": "Render Complete"},
    "execution": {"id": "e-1"},
}


def test_exact_reference_keeps_the_value_type():
    assert resolve_inputs("{{ steps['Fetch Render'].data }}", SCOPE) == {
        "items": [{"id": 1}, {"id": 2}]
    }
    assert resolve_inputs("{{ trigger.body.data.tags }}", SCOPE) == ["a", "b"]
    assert resolve_inputs("{{ trigger.body.data.renderId }}", SCOPE) == 42
    assert resolve_inputs("{{ trigger.body.data.ok }}", SCOPE) is True
    assert resolve_inputs("{{ trigger.body.data.none }}", SCOPE) is None


def test_exact_reference_to_bytes_stays_bytes():
    assert resolve_inputs("{{ trigger.rawBody.data }}", SCOPE) == b"\x00\xffraw"


def test_reference_inside_text_is_interpolated():
    url = "{{ configVars['Base URL'] }}/renders/{{ trigger.body.data.renderId }}"
    assert resolve_inputs(url, SCOPE) == "http://127.0.0.1:9000/renders/42"


def test_objects_lists_booleans_and_null_in_text():
    template = (
        "d={{ steps['Fetch Render'].data }} l={{ steps.Split }} "
        "b={{ trigger.body.data.ok }} n={{ trigger.body.data.none }}."
    )
    assert resolve_inputs(template, SCOPE) == (
        'd={"items":[{"id":1},{"id":2}]} l=["x","y"] b=true n=.'
    )


def test_bytes_in_text_are_decoded_as_utf8_with_replacement():
    assert resolve_inputs("raw: {{ trigger.rawBody.data }}", SCOPE) == "raw: \x00\ufffdraw"


def test_quoted_names_with_both_quote_styles_and_escapes():
    assert resolve_inputs('{{ configVars["Base URL"] }}', SCOPE) == "http://127.0.0.1:9000"
    scope = {"trigger": {"it's": {"a\\b": 1}}}
    assert resolve_inputs("{{ trigger['it\\'s'][\"a\\\\b\"] }}", scope) == 1


def test_dotted_names_may_contain_hyphens():
    assert resolve_inputs("{{ trigger.headers.x-acme-flow }}", SCOPE) == "Render"


def test_list_indexes_in_both_syntaxes():
    assert resolve_inputs("{{ steps['Fetch Render'].data.items[1].id }}", SCOPE) == 2
    assert resolve_inputs("{{ steps['Fetch Render'].data.items.1.id }}", SCOPE) == 2
    assert resolve_inputs("{{ steps.Split.0 }}{{ steps.Split[1] }}", SCOPE) == "xy"


def test_numeric_dotted_segment_reads_an_object_key():
    assert resolve_inputs("{{ trigger.codes.404 }}", {"trigger": {"codes": {"404": "gone"}}}) == (
        "gone"
    )


def test_all_roots_resolve():
    template = (
        "{{ instance.name }}|{{ customer.externalId }}|{{ integration.version }}|"
        "{{ flow.name }}|{{ execution.id }}|{{ configVars.Region }}"
    )
    assert resolve_inputs(template, SCOPE) == "Acme|acme|3|Render Complete|e-1|eu"


def test_resolves_recursively_through_dicts_and_lists_leaving_keys_alone():
    inputs = {
        "{{ not.a.template }}": ["{{ configVars.Limit }}", {"deep": "v{{ configVars.Limit }}"}],
        "plain": 7,
        "none": None,
    }
    assert resolve_inputs(inputs, SCOPE) == {
        "{{ not.a.template }}": [5, {"deep": "v5"}],
        "plain": 7,
        "none": None,
    }


def test_text_without_references_is_unchanged():
    assert resolve_inputs("just } text { here", SCOPE) == "just } text { here"


def test_missing_key_names_the_path_and_the_key():
    with pytest.raises(ReferenceResolutionError) as caught:
        resolve_inputs("{{ steps['Fetch Render'].data.x }}", SCOPE)
    assert str(caught.value) == "Reference 'steps['Fetch Render'].data.x' not found: no key 'x'"
    assert caught.value.path == "steps['Fetch Render'].data.x"


def test_missing_step_inside_text_names_the_path():
    with pytest.raises(ReferenceResolutionError, match=r"steps\['Nope'\].data.*no key 'Nope'"):
        resolve_inputs("id={{ steps['Nope'].data }}", SCOPE)


def test_index_out_of_range_says_how_long_the_list_is():
    with pytest.raises(ReferenceResolutionError, match=r"index 5 out of range \(the list has 2"):
        resolve_inputs("{{ steps.Split[5] }}", SCOPE)


def test_reading_into_a_scalar_is_an_error():
    with pytest.raises(ReferenceResolutionError, match="cannot read x of text"):
        resolve_inputs("{{ steps.Text.x }}", SCOPE)
    with pytest.raises(ReferenceResolutionError, match="used on a list"):
        resolve_inputs("{{ steps.Split.first }}", SCOPE)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ }}", "Empty reference"),
        ("{{ bogus.path }}", "unknown root 'bogus'"),
        ("{{ trigger..x }}", "expected a name after '.'"),
        ("{{ trigger['x }}", "unclosed quote"),
        ("{{ trigger[x] }}", "expected a list index or a quoted name"),
        ("{{ trigger[0 }}", "expected ']'"),
        ("{{ trigger.a b }}", "unexpected ' '"),
        ("{{ __import__('os') }}", "unknown root"),
        ("a {{ trigger.x", "Unclosed reference"),
        ("{{ trigger.x }} and {{ trigger.y", "Unclosed reference"),
    ],
)
def test_malformed_expressions_are_rejected_clearly(template, message):
    with pytest.raises(ReferenceSyntaxError, match=message):
        resolve_inputs(template, {"trigger": {"x": 1, "y": 2}})


def test_syntax_and_resolution_errors_share_a_base():
    assert issubclass(ReferenceSyntaxError, TemplateError)
    assert issubclass(ReferenceResolutionError, TemplateError)


def test_template_references_lists_parsed_paths_without_a_scope():
    found = template_references({"a": ["{{ steps['A'].x }}-{{ configVars.B }}"], "b": 3})
    assert [(r.root, [s.key for s in r.segments]) for r in found] == [
        ("steps", ["A", "x"]),
        ("configVars", ["B"]),
    ]
    with pytest.raises(ReferenceSyntaxError):
        template_references(["ok", "{{ nope }}"])


def test_parse_reference_distinguishes_indexes_from_names():
    reference = parse_reference(" trigger.items[0].1['2'] ")
    assert [s.key for s in reference.segments] == ["items", 0, "1", "2"]
    assert reference.text == "trigger.items[0].1['2']"
