"""Feeds: what a person reads when they open the app."""
