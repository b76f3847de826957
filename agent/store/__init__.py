"""The usage store: SQLAlchemy Core over SQLite or PostgreSQL, one engine per process."""

from computewatch.store.db import LedgerRow, OutboxRow, ProducedReport, RunStats, Store

__all__ = ["LedgerRow", "OutboxRow", "ProducedReport", "RunStats", "Store"]
