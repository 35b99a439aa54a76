"""Cross-cutting machinery every domain uses: database, jobs, errors, logging, pagination."""
