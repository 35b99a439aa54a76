"""The AI mentor: a conversation grounded in the person's chart, streamed, safe and private."""
