"""The evidence ledger kept in the store: a hash chain whose digests computewatch.delivery.ledger
computes; the store keeps the entries in order and refuses a fork."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from computewatch.domain.errors import StoreError
from computewatch.store.schema import evidence_ledger
from computewatch.store.sql import Repository, reason, redact


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One evidence-ledger entry as stored; `digest` covers every other field."""

    seq: int
    bundle: str
    report_id: str
    manifest_sha256: str
    prev_digest: str
    created_at: str
    digest: str


class LedgerRepo(Repository):
    """`store.ledger`."""

    def entries(self) -> list[LedgerRow]:
        """The whole chain, by sequence number."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(evidence_ledger).order_by(evidence_ledger.c.seq))
            return [LedgerRow(**r) for r in rows.mappings()]

    def append(self, row: LedgerRow) -> None:
        """Insert one entry; the primary key on `seq` makes a concurrent append fail, not fork."""
        try:
            with self.engine.begin() as conn:
                conn.execute(evidence_ledger.insert().values(**dataclasses.asdict(row)))
        except SQLAlchemyError as exc:
            raise StoreError(redact(self.url), f"ledger entry {row.seq}: {reason(exc)}") from exc
