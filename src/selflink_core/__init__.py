"""SelfLink's pure, deterministic logic: rewards, astrology and matching.

Nothing in this package performs I/O, reads the clock or draws randomness, and it imports no
web, database or queue library, so the same inputs give the same bytes on every machine.
"""
