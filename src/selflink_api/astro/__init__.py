"""Astrology for signed-in people: birth data, cached natal charts, transits, numerology and
synastry, all computed by `selflink_core.astro` (see docs/astro.md)."""
