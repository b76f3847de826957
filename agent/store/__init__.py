"""The usage store: SQLAlchemy Core over SQLite or PostgreSQL, one engine per URL per process,
repositories by concern (usage, coverage, runs, findings, ledger, outbox, reports)."""

from computewatch.store.base import Store
from computewatch.store.findings import FindingRow
from computewatch.store.ledger import LedgerRow
from computewatch.store.outbox import OutboxRow
from computewatch.store.reports import ProducedReport
from computewatch.store.retention import Compaction
from computewatch.store.runs import RunRow, RunStats

__all__ = [
    "Compaction",
    "FindingRow",
    "LedgerRow",
    "OutboxRow",
    "ProducedReport",
    "RunRow",
    "RunStats",
    "Store",
]
