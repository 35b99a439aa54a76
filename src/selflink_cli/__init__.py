"""The `selflink` command line: dry-run reward calculations and verification, astrology."""
