"""Matching: preferences, precomputed per-person features, scores with a person and ranked
recommendations (the rules live in `selflink_core.matching`; docs/matching.md#api)."""
