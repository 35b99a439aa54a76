"""In-app notifications, push and the email digest: what concerns a person, told once."""
