"""Contributor rewards behind the API: the ledger in the database, GitHub ingestion, monthly
snapshots with dispute windows, payouts, and the public transparency pages.

All ledger logic (validation, sealing, scoring, the monthly calculation, bundles, proofs) lives in
`selflink_core.rewards`; this package stores, serializes and exposes.
"""
