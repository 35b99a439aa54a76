"""Astrology engine (natal charts, synastry, composites, transits) and numerology."""
