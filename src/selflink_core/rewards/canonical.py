"""Canonical JSON (RFC 8785, "JCS") restricted to format 1: strings, integers, arrays, objects.

`rfc8785` is the reference serializer. Events are serialized on the hot path by
`format1_object_bytes`, which relies on `json.dumps` producing exactly the JCS bytes for objects
whose keys are ASCII and whose values are strings or safe integers; a property test proves the
two byte-identical.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1
"""I-JSON's largest exactly representable integer; JCS numbers beyond it are not portable."""

JsonValue: TypeAlias = str | int | Sequence["JsonValue"] | Mapping[str, "JsonValue"]


class CanonicalJsonError(ValueError):
    """A value cannot be written, or a byte string is not strict format-1 JSON."""


def check_string(value: str) -> None:
    """Reject strings that have no UTF-8 form (lone surrogates), which JCS cannot serialize."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise CanonicalJsonError(
                "a string contains a lone surrogate (not valid Unicode)"
            ) from None


def check_integer(value: int) -> None:
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise CanonicalJsonError(f"integer {value} is outside the JSON safe range ±(2^53-1)")


def _check_value(value: object) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise CanonicalJsonError(f"{type(value).__name__} values are not allowed in format 1")
    if isinstance(value, str):
        check_string(value)
    elif isinstance(value, int):
        check_integer(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError("object keys must be strings")
            check_string(key)
            _check_value(item)
    elif isinstance(value, Sequence):
        for item in value:
            _check_value(item)
    else:
        raise CanonicalJsonError(f"{type(value).__name__} values are not allowed in format 1")


def canonical_json(value: JsonValue) -> bytes:
    """JCS bytes of a format-1 value (no trailing newline), via the reference implementation."""
    _check_value(value)
    return bytes(rfc8785.dumps(value))


def format1_object_bytes(obj: Mapping[str, str | int]) -> bytes:
    """JCS bytes of a flat object with ASCII keys and str/int values, without the reference's cost.

    The caller guarantees keys are ASCII and values are `str` (no lone surrogates) or `int` in the
    safe range; `Event` validation does. For such objects JCS escaping and key order coincide with
    `json.dumps(sort_keys=True, ensure_ascii=False)`.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _reject_float(text: str) -> Any:
    raise CanonicalJsonError(f"number {text} is not an integer (floats are not allowed)")


def _reject_constant(text: str) -> Any:
    raise CanonicalJsonError(f"{text} is not valid JSON")


def _checked_int(text: str) -> int:
    value = int(text)
    check_integer(value)
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise CanonicalJsonError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _reject_literals(value: Any) -> None:
    if value is None or isinstance(value, bool):
        raise CanonicalJsonError(f"{json.dumps(value)} is not allowed in format 1")
    if isinstance(value, str):
        check_string(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_string(key)
            _reject_literals(item)
    elif isinstance(value, list):
        for item in value:
            _reject_literals(item)


def parse_strict_json(data: bytes) -> Any:
    """Parse UTF-8 JSON allowing only format-1 values: no floats, booleans, null, duplicate keys.

    Whitespace and key order are accepted here; callers that need canonical bytes compare the
    input with `canonical_json` of the result.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalJsonError(f"not valid UTF-8 (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        raise CanonicalJsonError("starts with a byte order mark")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_float=_reject_float,
            parse_int=_checked_int,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise CanonicalJsonError(f"not valid JSON: {exc.msg} at character {exc.pos + 1}") from None
    except RecursionError:
        raise CanonicalJsonError("not valid JSON: nested too deeply") from None
    _reject_literals(value)
    return value
