"""Outgoing email: an outbox table, delivered by a background job (low in the layers:
accounts sends through it, notifications send the daily digest through it)."""
