"""Moderation: reports, automatic flags, the staff queue, decisions and appeals."""
