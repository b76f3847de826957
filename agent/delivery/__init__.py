"""Delivery: side effects after rendering (evidence bundle and ledger, mail through the outbox)."""
