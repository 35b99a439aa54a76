"""Rounding and canonical JSON helpers against their definitions and the rfc8785 reference."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from selflink_core.astro.canonical import DEGREE_SCALE, ROUNDING_SHIFT, rounded

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
