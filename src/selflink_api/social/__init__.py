"""The social graph: follows, blocks and mutes between accounts."""
