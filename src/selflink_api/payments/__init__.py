"""Billing with Stripe: plans, subscriptions, entitlements, and the revenue ledger."""
