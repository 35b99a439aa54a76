"""SelfLink's HTTP API (Litestar) and its background workers."""
