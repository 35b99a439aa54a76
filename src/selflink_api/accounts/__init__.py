"""Identity: accounts, sign-in sessions, profiles and the encrypted personal data store."""
