"""Search: people and posts by their words, on PostgreSQL full text or SQLite FTS5."""
