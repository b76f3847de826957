"""Whether the store's database role may write: proven before `audit` (or the daemon) calls a
cloud API, so a read-only role or a database without privileges is a clear exit 2, not an
internal error after billed requests. The probe writes nothing: every statement matches no row
and the transaction is rolled back, but the database still checks the privilege (and a
read-only transaction) for each of them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from computewatch.domain.errors import StoreUnavailable
from computewatch.store.schema import metadata, schema_migrations
from computewatch.store.sql import reason, redact

# SQLSTATEs (PostgreSQL) meaning "this role or transaction may not do that".
_REFUSED_STATES = frozenset({"42501", "25006"})  # insufficient_privilege, read_only_sql_transaction
_REFUSED_TEXT = ("permission denied", "read-only transaction", "readonly database")

HINT = (
    "the role in the URL must be able to write computewatch's tables: use the role that owns "
    "them, or GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES and USAGE ON ALL SEQUENCES "
    "IN SCHEMA public to it (and, for a new database, CREATE on the schema); read-only roles "
    "can run `status`, `findings` and `verify --store`"
)


def is_refusal(exc: BaseException) -> bool:
    """True when the database refused a statement for lack of privilege or a read-only
    transaction (not a bug, not an unreachable server)."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in _REFUSED_STATES:
        return True
    text = reason(exc).lower()
    return any(needle in text for needle in _REFUSED_TEXT)


def refused(url: str, exc: SQLAlchemyError) -> StoreUnavailable:
    return StoreUnavailable(redact(url), f"cannot write: {reason(exc)} ({HINT})")


def _probe(conn: Connection, table: sa.Table) -> None:
    cols = list(table.c)
    nothing = sa.false()
    conn.execute(table.insert().from_select(cols, sa.select(*cols).where(nothing)))
    conn.execute(table.update().where(nothing).values({cols[0].name: cols[0]}))
    conn.execute(table.delete().where(nothing))


def _sequences_without_usage(conn: Connection) -> list[str]:
    """PostgreSQL: the sequences behind the tables' ids that the role may not advance (an INSERT
    that matches no row never asks for the next id, so the probe above cannot see this)."""
    found = conn.execute(
        sa.text(
            "SELECT c.relname FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND CASE WHEN c.relkind = 'S' "
            "THEN NOT has_sequence_privilege(c.oid, 'USAGE') ELSE false END ORDER BY c.relname"
        )
    )
    return [str(name) for (name,) in found]


def check_writable(engine: Engine, url: str) -> None:
    """StoreUnavailable (exit 2, URL without password, hint) unless every table can be written."""
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                for table in metadata.sorted_tables:
                    if table.name != schema_migrations.name:  # written by migrations only
                        _probe(conn, table)
                blocked = (
                    _sequences_without_usage(conn) if engine.dialect.name == "postgresql" else []
                )
            finally:
                trans.rollback()
    except SQLAlchemyError as exc:
        if is_refusal(exc):
            raise refused(url, exc) from exc
        raise
    if blocked:
        raise StoreUnavailable(
            redact(url),
            f"cannot write: permission denied for sequence {', '.join(blocked)} ({HINT})",
        )
