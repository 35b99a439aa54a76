"""Canonical JSON (RFC 8785) and the rounding that makes equal inputs give equal bytes.

Every angle, latitude, speed and orb in a result is rounded to `DECIMALS` decimal places with
Python's correctly rounded `round`, so platform noise in the last bits of the ephemeris almost
never reaches the output.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Final

import rfc8785

DECIMALS: Final = 6  # 1e-6 degree = 0.0036 arcsecond
ILLUMINATION_DECIMALS: Final = 4
JULIAN_DAY_DECIMALS: Final = 8  # about a millisecond
# (x + ROUNDING_SHIFT) - ROUNDING_SHIFT is x rounded to an integer, half to even, for any binary64
# |x| < 2**51: the sum lands where the spacing of binary64 values is exactly 1. Hot loops use it
# inline instead of `rounded` (same results, no int object); the tests check they agree.
ROUNDING_SHIFT: Final = 6755399441055744.0  # 1.5 * 2**52
DEGREE_SCALE: Final = 10.0**DECIMALS


def rounded(value: float, decimals: int = DECIMALS) -> float:
    """The binary64 nearest to k / 10**decimals, k = value * 10**decimals rounded half-even.

    This is NumPy's `round` rule, so scalars and arrays of the same quantity agree; it never
    returns -0.0.
    """
    scale = 10.0**decimals
    return round(value * scale) / scale


def canonical_json(document: Any) -> bytes:
    """The RFC 8785 bytes of any JSON-ready value (reference implementation)."""
    return bytes(rfc8785.dumps(document))


def sha256_hex(document: Any) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


# Python writes integral floats as "120.0" and small ones as "5e-05" where RFC 8785 writes "120"
# and "0.00005"; these markers find such literals in compact JSON.
_INTEGRAL_MARKERS: Final = (".0,", ".0}", ".0]")
_EXPONENT_MARKERS: Final = ("e-", "e+")
_NUMBER_CHARS: Final = frozenset("0123456789.-")
_PYTHON_FLOAT = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?")
# The same shapes inside a string could be mistaken for numbers; documents with such strings
# take the reference path instead.
_LOOKS_LIKE_PYTHON_FLOAT = re.compile(r"\d(?:\.\d+)?e[-+]\d|\d\.0(?!\d)")


def plain_text(text: str) -> bool:
    """Whether `text` may appear in a document serialized by `fast_canonical_json`."""
    return _LOOKS_LIKE_PYTHON_FLOAT.search(text) is None


def _token_at(text: str, marker_at: int) -> tuple[int, int] | None:
    """Bounds of the number around a marker, if it is a bare Python float token."""
    start = marker_at
    while start > 0 and text[start - 1] in _NUMBER_CHARS:
        start -= 1
    end = marker_at + 1
    while end < len(text) and (text[end] in _NUMBER_CHARS or text[end] in "e+"):
        end += 1
    if start == 0 or text[start - 1] not in ":,[" or end == len(text) or text[end] not in ",]}":
        return None
    if _PYTHON_FLOAT.fullmatch(text, start, end) is None:
        return None
    return start, end


def _ecmascript_numbers(text: str) -> str:
    spans: set[tuple[int, int]] = set()
    for marker in _INTEGRAL_MARKERS + _EXPONENT_MARKERS:
        found = text.find(marker)
        while found != -1:
            span = _token_at(text, found)
            if span is not None:
                spans.add(span)
            found = text.find(marker, found + 1)
    if not spans:
        return text
    pieces = []
    position = 0
    for start, end in sorted(spans):
        pieces.append(text[position:start])
        literal = text[start:end]
        if literal.endswith(".0") and len(literal) < 18:
            pieces.append("0" if literal == "-0.0" else literal[:-2])
        else:
            pieces.append(canonical_json(float(literal)).decode())
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def fast_canonical_json(document: Any, *, keys_sorted: bool = False) -> bytes:
    """RFC 8785 bytes through the C JSON encoder, for documents built by this package.

    Exact when every object key is ASCII and every string passes `plain_text`; the engine checks
    its free-form strings (zone, place name, warnings) before choosing this path, and the test
    suite compares it with `canonical_json` byte for byte. `keys_sorted` promises that every
    object was built with its keys in sorted order, which skips sorting.
    """
    text = json.dumps(
        document,
        sort_keys=not keys_sorted,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return _ecmascript_numbers(text).encode()
