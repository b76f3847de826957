"""Versioned migrations: each applied once, in order, inside one transaction, under a lock that
serialises migrating processes. Append to MIGRATIONS; never edit a shipped one."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from computewatch.store.schema import (
    COVERAGE_INDEXES,
    accounts,
    coverage,
    evidence_ledger,
    findings,
    observations,
    outbox,
    produced_reports,
    run_stages,
    runs,
    schema_migrations,
    usage,
)


def _create(tables: Sequence[sa.Table]) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for t in tables:
            t.create(conn, checkfirst=True)

    return apply


def _create_indexes(indexes: Sequence[sa.Index]) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for index in indexes:
            index.create(conn, checkfirst=True)

    return apply


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "runs, usage, coverage, accounts", _create([runs, usage, coverage, accounts])),
    (2, "observations (sampled history)", _create([observations])),
    (3, "findings (lifecycle)", _create([findings])),
    (4, "evidence ledger and mail outbox", _create([evidence_ledger, outbox])),
    (5, "produced reports (daemon catch-up)", _create([produced_reports])),
    (6, "coverage indexes (sampling reads, carried coverage)", _create_indexes(COVERAGE_INDEXES)),
    (7, "run stages (time and peak memory per stage)", _create([run_stages])),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
MIGRATION_LOCK = 0x6377_6D69_6772  # pg_advisory_lock key serialising migrations ("cwmigr")


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations across processes: a PostgreSQL advisory lock, or for SQLite (which
    autocommits DDL, so two migrating processes would interleave) a lock file beside it."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
                conn.commit()
        return
    path = engine.url.database
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def schema_version(engine: Engine) -> int:
    """The highest migration applied (0 for an empty database)."""
    with engine.connect() as conn:
        v = conn.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar()
    return int(v or 0)


def migrate(engine: Engine) -> int:
    """Apply pending migrations; returns the schema version now in place. Safe when several
    processes open a new store at once (the daemon and a CLI command)."""
    with migration_lock(engine):
        with engine.begin() as conn:
            schema_migrations.create(conn, checkfirst=True)
        for version, description, apply in MIGRATIONS:
            if version <= schema_version(engine):
                continue
            with engine.begin() as conn:
                apply(conn)
                conn.execute(
                    schema_migrations.insert().values(
                        version=version, description=description, applied_at=datetime.now(UTC)
                    )
                )
    return schema_version(engine)
