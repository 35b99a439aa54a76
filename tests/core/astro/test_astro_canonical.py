"""Rounding and canonical JSON helpers against their definitions and the rfc8785 reference."""

import hashlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selflink_core.astro.canonical import (
    DEGREE_SCALE,
    ILLUMINATION_DECIMALS,
    ROUNDING_SHIFT,
    canonical_json,
    engine_json,
    fast_canonical_json,
    float_json,
    plain_text,
    rounded,
)

# Every value the engine rounds to 6 decimals is far inside the shift's range (|x| < 2**51 / 1e6).
degrees = st.floats(-2e9, 2e9, allow_nan=False) | st.integers(-(10**15), 10**15).map(
    lambda k: (k + 0.5) / DEGREE_SCALE
)


@settings(max_examples=2000)
@given(degrees)
def test_the_rounding_shift_rounds_like_rounded(value: float) -> None:
    shifted = (value * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT) / DEGREE_SCALE
    assert shifted == rounded(value)
    if shifted == 0.0:
        assert math.copysign(1.0, shifted) == 1.0  # never -0.0, like `rounded`


@settings(max_examples=1000)
@given(st.floats(0, 1) | st.integers(0, 10**4).map(lambda k: (k + 0.5) / 10**4))
def test_the_rounding_shift_rounds_illuminations_like_rounded(value: float) -> None:
    scale = 10.0**ILLUMINATION_DECIMALS
    shifted = (value * scale + ROUNDING_SHIFT - ROUNDING_SHIFT) / scale
    assert shifted == rounded(value, ILLUMINATION_DECIMALS)


finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=3000)
@given(finite_floats)
def test_ecmascript_float_writes_every_float_as_rfc8785(value: float) -> None:
    assert float_json(value) == canonical_json(value).decode()


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_floats_have_no_json_form(value: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        float_json(value)


# Floats around every boundary where msgspec's form and RFC 8785's differ (1e-6, 1e-5, 1e16,
# 1e21), integral ones and -0.0, besides any float at all.
boundary_floats = st.sampled_from(
    [-0.0, 0.0, 1.0, -120.0, 1e-7, 1e-6, 9.5e-6, 1e-5, 1e15, 1e16, 1.25e20, 1e21, 5e-324]
) | st.integers(-30, 30).map(lambda power: -(10.0**power))
# Hex digests (input hashes, ephemeris files) hold "<digit>e<digit>" that is no number.
digests = st.binary(min_size=1, max_size=8).map(lambda data: hashlib.sha256(data).hexdigest())
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | finite_floats
    | boundary_floats
    | digests
    | st.text(st.characters(codec="utf-8")).filter(plain_text),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(max_codepoint=127), max_size=8).filter(plain_text),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=500)
@given(json_values)
def test_fast_canonical_json_equals_the_reference(document: object) -> None:
    assert fast_canonical_json(document) == canonical_json(document)


# Degree values as the engine writes them: k / 10**6, from tiny (msgspec writes below 1e-5 with an
# exponent) to beyond a full circle, integral ones among them.
six_decimal_values = st.integers(-(10**9), 10**9).map(lambda k: k / DEGREE_SCALE) | st.sampled_from(
    [0.0, 1e-6, -1e-6, 9e-6, -9.99999e-6 + 1e-11, 1e-5, 5e-05, 0.0001, 120.0, 359.999999, 30.5]
)
words = st.sampled_from(["sun", "mean_node", "trine", "aries", "placidus", "swiss_ephemeris"])


def records(**fields: st.SearchStrategy[object]) -> st.SearchStrategy[dict[str, object]]:
    """Dicts with the keys inserted in the order given (`fixed_dictionaries` keeps no order)."""
    return st.tuples(*fields.values()).map(lambda values: dict(zip(fields, values, strict=True)))


@st.composite
def chart_positions(draw: st.DrawFn) -> dict[str, object]:
    """The positions section of a chart document (angles to houses) as the engine builds it:
    records with their keys inserted in sorted order, six-decimal floats, vocabulary strings."""
    value = six_decimal_values.map(rounded)
    bodies = records(
        degree_in_sign=value,
        house=st.none() | st.integers(1, 12),
        latitude=value,
        longitude=value,
        name=words,
        retrograde=st.booleans(),
        sign=words,
        speed=value,
    )
    aspects = records(applying=st.booleans(), aspect=words, first=words, orb=value, second=words)
    angle = records(degree_in_sign=value, longitude=value, sign=words, speed=value)
    cusps = records(cusp=value, degree_in_sign=value, house=st.integers(1, 12), sign=words)
    return {
        "angles": draw(st.none() | records(ascendant=angle, ic=angle, mc=angle)),
        "aspects": draw(st.lists(aspects, max_size=6)),
        "ayanamsa_degrees": draw(st.none() | value),
        "bodies": draw(st.lists(bodies, max_size=6)),
        "ephemeris": draw(words),
        "house_system_used": draw(st.none() | words),
        "houses": draw(st.none() | st.lists(cusps, min_size=12, max_size=12)),
    }


@settings(max_examples=500)
@given(chart_positions())
def test_engine_json_writes_chart_sections_as_rfc8785(section: dict[str, object]) -> None:
    assert engine_json(section) == canonical_json(section)
