"""Content: posts, comments, likes and mentions, with who may see them."""
