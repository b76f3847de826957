"""What every repository shares: the engine, the dialect's upsert, UTC datetimes, URL redaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from computewatch.domain.errors import StoreError

BATCH = 500  # rows per executemany round trip


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def maybe_aware(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


def redact(url: str) -> str:
    """Never print a password that someone put in a URL."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "<unparseable store url>"


def reason(exc: BaseException) -> str:
    """The first line of the driver's message (the rest is SQL and parameters)."""
    return str(exc.__cause__ or exc).splitlines()[0]


class Repository:
    """One concern's tables over the store's shared engine."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT (both backends do)."""
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return postgresql.insert(table)
        if dialect == "sqlite":
            return sqlite.insert(table)
        raise StoreError(redact(self.url), f"unsupported database dialect {dialect}")

    def _upsert(
        self,
        conn: Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        key: Sequence[str],
        update: Sequence[str],
        changed: Sequence[str] = (),
    ) -> None:
        """One INSERT ... ON CONFLICT (key) DO UPDATE statement for all rows (in batches): an
        existing row is replaced, never added to. Rows must be unique on `key`. With `changed`,
        an existing row is only rewritten when one of those columns differs (an unchanged row
        leaves no dead tuple behind in PostgreSQL)."""
        if not rows:
            return
        stmt = self._insert(table)
        differs = sa.or_(*(table.c[c] != stmt.excluded[c] for c in changed)) if changed else None
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in update}, where=differs
        )
        for i in range(0, len(rows), BATCH):
            conn.execute(stmt, list(rows[i : i + BATCH]))

    def _insert_once(self, table: sa.Table, values: Mapping[str, Any]) -> bool:
        """Insert a row unless one with its key exists: True if this call added it."""
        key = list(table.primary_key.columns)
        stmt = self._insert(table).values(**values).on_conflict_do_nothing().returning(*key)
        with self.engine.begin() as conn:  # rowcount is not reliable here; RETURNING is
            return conn.execute(stmt).first() is not None
