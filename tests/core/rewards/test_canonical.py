"""The fast event serializer is byte-identical to the RFC 8785 reference; parsing is strict."""

import json

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from selflink_core.rewards import CanonicalJsonError, canonical_json, parse_strict_json
from selflink_core.rewards.canonical import format1_object_bytes
from tests.core.rewards.strategies import fast, free_text, ledgers


@fast
@given(ledgers(max_size=8, small_points=False))
def test_fast_event_serializer_matches_the_reference(events):
    for event in events:
        obj = event.as_json_object()
        assert format1_object_bytes(obj) == rfc8785.dumps(obj)
        assert canonical_json(obj) == rfc8785.dumps(obj)


@fast
@given(free_text(0, 60), st.integers(-(2**53) + 1, 2**53 - 1))
def test_strings_and_safe_integers_serialize_like_the_reference(text, number):
    obj = {"a": text, "b": number, "z": text[::-1]}
    assert format1_object_bytes(obj) == rfc8785.dumps(obj)
    assert parse_strict_json(format1_object_bytes(obj)) == obj


def test_escapes_follow_rfc_8785():
    obj = {"s": '\u2028\x7f\x1f\b\t\n\f\r"\\/é😀'}
    assert format1_object_bytes(obj) == (
        '{"s":"\u2028\x7f\\u001f\\b\\t\\n\\f\\r\\"\\\\/é😀"}'.encode()
    )


@pytest.mark.parametrize("value", [2**53, -(2**53), True, None, 1.5, "\ud800"])
def test_values_outside_format_1_are_refused(value):
    with pytest.raises(CanonicalJsonError):
        canonical_json({"k": value})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"a":1.0}', "float"),
        (b'{"a":1e3}', "float"),
        (b'{"a":true}', "true"),
        (b'{"a":null}', "null"),
        (b'{"a":1,"a":2}', "duplicate key"),
        (b'{"a":9007199254740992}', "safe range"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":"\\ud800"}', "surrogate"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b'{"a":"\xff"}', "UTF-8"),
        (b'{"a":', "not valid JSON"),
    ],
)
def test_strict_parser_names_what_is_wrong(text, reason):
    with pytest.raises(CanonicalJsonError, match=reason):
        parse_strict_json(text)


def test_strict_parser_accepts_nested_format_1_values():
    data = {"list": ["x", 1, {"y": -2}], "s": "ok"}
    assert parse_strict_json(json.dumps(data).encode()) == data
