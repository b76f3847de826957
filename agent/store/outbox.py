"""The mail outbox: messages queued once by Message-ID, claimed for one attempt at a time."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from computewatch.store.schema import outbox
from computewatch.store.sql import Repository, aware, maybe_aware


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A queued e-mail; `message` is the serialized RFC 5322 message, sent as is."""

    message_id: str
    kind: str
    recipients: tuple[str, ...]
    message: bytes
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str


def _row(r: sa.RowMapping) -> OutboxRow:
    return OutboxRow(
        message_id=r["message_id"],
        kind=r["kind"],
        recipients=tuple(json.loads(r["recipients"])),
        message=bytes(r["message"]),
        attempts=int(r["attempts"]),
        created_at=aware(r["created_at"]),
        next_attempt_at=aware(r["next_attempt_at"]),
        sent_at=maybe_aware(r["sent_at"]),
        last_error=r["last_error"],
    )


class OutboxRepo(Repository):
    """`store.outbox`."""

    def add(self, row: OutboxRow) -> bool:
        """Queue a message once: False if its message id is already queued or sent."""
        values = dataclasses.asdict(row) | {"recipients": json.dumps(list(row.recipients))}
        return self._insert_once(outbox, values)

    def _select(self, stmt: Any) -> list[OutboxRow]:
        stmt = stmt.order_by(outbox.c.created_at, outbox.c.message_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt).mappings()]

    def entries(self) -> list[OutboxRow]:
        """Every message, sent or not, oldest first."""
        return self._select(sa.select(outbox))

    def pending(self) -> list[OutboxRow]:
        """Messages not sent yet, oldest first."""
        return self._select(sa.select(outbox).where(outbox.c.sent_at.is_(None)))

    def due(self, at: datetime) -> list[OutboxRow]:
        """Messages not sent yet whose next attempt is due at `at`, oldest first."""
        stmt = sa.select(outbox).where(outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= at)
        return self._select(stmt)

    def claim(self, row: OutboxRow, until: datetime) -> bool:
        """Take a due message for one delivery attempt; False if another worker took it first."""
        stmt = (
            outbox.update()
            .where(
                outbox.c.message_id == row.message_id,
                outbox.c.sent_at.is_(None),
                outbox.c.attempts == row.attempts,
            )
            .values(attempts=row.attempts + 1, next_attempt_at=until)
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def done(
        self, message_id: str, *, sent_at: datetime | None, next_attempt_at: datetime, error: str
    ) -> None:
        """Record the attempt's outcome: sent (sent_at set) or failed (retry at next_attempt_at)."""
        with self.engine.begin() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.message_id == message_id)
                .values(sent_at=sent_at, next_attempt_at=next_attempt_at, last_error=error)
            )
