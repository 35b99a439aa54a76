"""Outgoing messages to people: an outbox table, delivered by a background job."""
