"""The stored form of payloads and results: every JSON value a sender can write, with bytes
mixed in, reads back exactly; no object can pass for the encoding of bytes; text the codec
cannot read loads as a value that says so instead of raising."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import codec
from core.codec import BYTES_TAG, UndecodablePayload

# Keys the product uses itself, and the forms its escaping produces, so the property runs
# over exactly the objects an attacker would write.
INTERNAL_KEYS = st.sampled_from(
    [
        BYTES_TAG,
        "_" + BYTES_TAG,
        "__" + BYTES_TAG,
        "___" + BYTES_TAG,
        BYTES_TAG + "_",
        "triggerfish_bytes__",
        "_triggerfish_bytes__",
        "__proto__",
        "constructor",
        "",
    ]
)
KEYS = st.one_of(INTERNAL_KEYS, st.text(max_size=12))
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    INTERNAL_KEYS,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)
    ),
    max_leaves=25,
)
VALUES_WITH_BYTES = st.recursive(
    st.one_of(JSON_SCALARS, st.binary(max_size=40)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(value=VALUES_WITH_BYTES)
def test_any_json_value_with_bytes_mixed_in_round_trips_exactly(value):
    assert codec.payload_decode(codec.payload_encode(value)) == value


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES)
def test_no_json_value_decodes_to_bytes(value):
    def holds_bytes(item):
        if isinstance(item, bytes):
            return True
        if isinstance(item, dict):
            return any(holds_bytes(child) for child in item.values())
        if isinstance(item, list):
            return any(holds_bytes(child) for child in item)
        return False

    assert not holds_bytes(codec.payload_decode(codec.payload_encode(value)))


@pytest.mark.parametrize(
    "value",
    [
        {BYTES_TAG: "!!!notbase64"},
        {BYTES_TAG: "aGVsbG8="},  # valid base64: was silently taken for b"hello"
        {BYTES_TAG: 5},
        {BYTES_TAG: "aGVsbG8=", "other": 1},
        {"_" + BYTES_TAG: "x", "__" + BYTES_TAG: {BYTES_TAG: []}},
        [{"nested": {BYTES_TAG: b"real bytes"}}, b"\x00\xff"],
    ],
)
def test_objects_imitating_the_bytes_encoding_are_kept_as_sent(value):
    assert codec.payload_decode(codec.payload_encode(value)) == value


def test_real_bytes_keep_the_plain_tag_so_older_rows_still_read():
    assert codec.payload_encode({"raw": b"hi"}) == '{"raw":{"__triggerfish_bytes__":"aGk="}}'
    assert codec.payload_decode('{"raw":{"__triggerfish_bytes__":"aGk="}}') == {"raw": b"hi"}


def test_a_tag_inside_a_string_value_needs_no_escaping():
    value = {"note": f"see {BYTES_TAG}", "raw": b"x"}
    assert codec.payload_encode(value) == (
        '{"note":"see __triggerfish_bytes__","raw":{"__triggerfish_bytes__":"eA=="}}'
    )
    assert codec.payload_decode(codec.payload_encode(value)) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"__triggerfish_bytes__": "!!!notbase64"}', "invalid base64"),
        ('{"__triggerfish_bytes__": 7}', "holds int"),
        ('{"__triggerfish_bytes__": "aGk=", "x": 1}', "keys besides"),
        ('{"body": ', "not JSON"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_text_the_codec_cannot_have_written_loads_as_undecodable(text, reason):
    with pytest.raises(codec.PayloadDecodeError, match=reason):
        codec.payload_decode(text)
    loaded = codec.payload_decode_or_undecodable(text)
    assert isinstance(loaded, UndecodablePayload)
    assert reason in loaded.error
    assert loaded.text == (text if isinstance(text, str) else text.decode("utf-8", "replace"))


def test_answer_json_is_strict_with_bytes_as_base64():
    value = {"echo": b"\x00\x01binary", "n": [math.nan, math.inf, -math.inf, 1.5]}
    assert codec.answer_json(value) == b'{"echo": "AAFiaW5hcnk=", "n": [null, null, null, 1.5]}'


def test_escaped_keys_keep_their_order():
    value = {"a": 1, BYTES_TAG: 2, "z": 3, "_" + BYTES_TAG: 4}
    assert list(codec.payload_decode(codec.payload_encode(value))) == list(value)
