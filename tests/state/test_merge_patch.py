"""state.merge_patch: RFC 7396's algorithm (its Appendix A examples) and the diff that
the admin sends."""

from __future__ import annotations

import copy

import pytest

from state.merge_patch import merge_patch_apply, merge_patch_diff

# RFC 7396 Appendix A: (original, patch, result).
RFC_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC_EXAMPLES)
def test_apply_follows_the_rfc_examples(original, patch, result):
    kept_original, kept_patch = copy.deepcopy(original), copy.deepcopy(patch)
    assert merge_patch_apply(original, patch) == result
    assert (original, patch) == (kept_original, kept_patch)


def test_the_result_shares_nothing_with_the_patch():
    patch = {"a": {"list": [1]}}
    result = merge_patch_apply({}, patch)
    result["a"]["list"].append(2)
    assert patch == {"a": {"list": [1]}}


@pytest.mark.parametrize(
    ("original", "edited", "patch"),
    [
        ({"a": 1, "b": 2}, {"a": 1, "b": 3}, {"b": 3}),
        ({"a": 1, "b": 2}, {"a": 1}, {"b": None}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"x": 1}}, {"a": {"y": None}}),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, {"a": [1, 2, 3]}),
        ({"a": 1}, {"a": True}, {"a": True}),
        ({"a": True}, {"a": 1}, {"a": 1}),
        ({"a": 1}, {"a": 1.0}, {}),
        ({"a": "x"}, {"a": {"b": 1}}, {"a": {"b": 1}}),
        ({}, {}, {}),
    ],
)
def test_diff_is_the_smallest_patch_that_makes_the_edit(original, edited, patch):
    assert merge_patch_diff(original, edited) == patch
    assert merge_patch_apply(original, merge_patch_diff(original, edited)) == edited
