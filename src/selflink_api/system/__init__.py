"""Liveness, readiness, metrics and the worker heartbeat: how operators see the service."""
