"""Messaging: direct and group conversations, and the realtime gateway that delivers them."""
