"""Canonical JSON (RFC 8785) and the rounding that makes equal inputs give equal bytes.

Every angle, latitude, speed and orb in a result is rounded to `DECIMALS` decimal places with
Python's correctly rounded `round`, so platform noise in the last bits of the ephemeris almost
never reaches the output.

msgspec, Python and RFC 8785 (ECMAScript) write the same shortest round-trip digits for every
finite float; they differ only in form. msgspec writes integral floats as ``120.0`` and ``-0.0``
and uses exponents below 1e-5 and from 1e16 without a plus sign (``1e-6``, ``1e16``, ``1e21``),
where RFC 8785 writes ``120``, ``0``, ``0.000001``, ``10000000000000000`` and ``1e+21`` (it uses
exponents only below 1e-6 and from 1e21). The fast serializers here encode with msgspec and
rewrite exactly those forms; the tests compare them with the reference `rfc8785` package byte
for byte.
"""

from __future__ import annotations

import hashlib
import math
import re
from json.encoder import encode_basestring
from typing import Any, Final

import msgspec
import rfc8785

DECIMALS: Final = 6  # 1e-6 degree = 0.0036 arcsecond
ILLUMINATION_DECIMALS: Final = 4
JULIAN_DAY_DECIMALS: Final = 8  # about a millisecond
# (x + ROUNDING_SHIFT) - ROUNDING_SHIFT is x rounded to an integer, half to even, for any binary64
# |x| < 2**51: the sum lands where the spacing of binary64 values is exactly 1. Hot loops use it
# inline instead of `rounded` (same results, no int object); the tests check they agree.
ROUNDING_SHIFT: Final = 6755399441055744.0  # 1.5 * 2**52
DEGREE_SCALE: Final = 10.0**DECIMALS

json_string: Final = encode_basestring
"""A str as a JSON string literal, escaped exactly as RFC 8785 requires (UTF-8 left as is)."""


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


# Shapes inside a string that the number rewriting could mistake for a number; documents with
# such strings take the reference path instead.
_LOOKS_LIKE_A_NUMBER_TO_REWRITE = re.compile(r"\d(?:\.0(?!\d)|e-?\d)")
# These patterns start with a literal, so the regex engine finds candidates at C speed.
_NEGATIVE_ZERO = re.compile(rb"-0\.0(?=[,\]}])")
_INTEGRAL_FRACTION = re.compile(rb"\.0(?=[,\]}])(?<=\d\.0)")
_EXPONENT = re.compile(rb"e(?<=\de)-?\d")
_NEGATIVE_EXPONENT = re.compile(rb"e-")
_NUMBER = re.compile(rb"-?\d(?:\.\d+)?e-?\d+")
_NUMBER_BYTES: Final = b"0123456789.-"


def plain_text(text: str) -> bool:
    """Whether `text` may appear in a document serialized by `fast_canonical_json`."""
    return _LOOKS_LIKE_A_NUMBER_TO_REWRITE.search(text) is None


def ecmascript_float(python_repr: str) -> str:
    """RFC 8785's form of a finite float given as Python's `repr` of it."""
    if python_repr.endswith(".0"):
        return "0" if python_repr == "-0.0" else python_repr[:-2]
    if "e" not in python_repr:
        return python_repr
    sign = "-" if python_repr.startswith("-") else ""
    mantissa, exponent = python_repr.removeprefix("-").split("e")
    digits = mantissa.replace(".", "")
    # value = 0.<digits> * 10**point
    point = int(exponent) + 1
    if len(digits) <= point <= 21:
        return sign + digits + "0" * (point - len(digits))
    if 0 < point <= 21:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -6 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    fraction = f".{digits[1:]}" if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{fraction}e{'+' if point > 1 else '-'}{abs(point - 1)}"


def float_json(value: float) -> str:
    """One finite float as RFC 8785 writes it."""
    if not math.isfinite(value):
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    return ecmascript_float(repr(value))


def _exponent_numbers(text: bytes) -> bytes:
    """`text` with each msgspec exponent float in RFC 8785's form (hex digests also contain
    "<digit>e<digit>": a number is only one between JSON punctuation)."""
    pieces = []
    position = 0
    for marker in _EXPONENT.finditer(text):
        start = marker.start()
        if start < position:
            continue
        while start > 0 and text[start - 1] in _NUMBER_BYTES:
            start -= 1
        number = _NUMBER.match(text, start)
        if number is None or start == 0 or text[start - 1] not in b":,[":
            continue
        end = number.end()
        if end == len(text) or text[end] not in b",]}":
            continue
        pieces.append(text[position:start])
        pieces.append(ecmascript_float(repr(float(number.group()))).encode())
        position = end
    if not pieces:
        return text
    pieces.append(text[position:])
    return b"".join(pieces)


def ecmascript_numbers(text: bytes) -> bytes:
    """Compact JSON that msgspec wrote, with the floats in RFC 8785's form.

    Exact when no string in `text` contains a number-like shape (see `plain_text`).
    """
    if b"-0.0" in text:
        text = _NEGATIVE_ZERO.sub(b"0", text)
    return _exponent_numbers(_INTEGRAL_FRACTION.sub(b"", text))


_ENCODER: Final = msgspec.json.Encoder(order="sorted")
_IN_KEY_ORDER: Final = msgspec.json.Encoder()


def engine_json(value: Any) -> bytes:
    """RFC 8785 bytes of a value the engine built: every object's keys ASCII and inserted in
    sorted order, no digits in its strings, and no float that is -0.0 or 1e16 or more in
    magnitude. msgspec writes such floats with an exponent only below 1e-5 ("1e-6"), so text
    without "e-" needs no exponent search (this regex search is the fastest test for it)."""
    text = _INTEGRAL_FRACTION.sub(b"", _IN_KEY_ORDER.encode(value))
    return _exponent_numbers(text) if _NEGATIVE_EXPONENT.search(text) else text


def fast_canonical_json(document: Any) -> bytes:
    """RFC 8785 bytes through msgspec, for documents built by this package.

    Exact when every object key is ASCII and every string passes `plain_text`; the engine checks
    its free-form strings (zone, place name, warnings) before choosing this path, and the test
    suite compares it with `canonical_json` byte for byte.
    """
    if not isinstance(document, dict | list):
        return canonical_json(document)  # the rewriting looks for numbers inside containers
    return ecmascript_numbers(_ENCODER.encode(document))
