"""Versioned migrations: each applied once, in order, inside one transaction, under a lock that
serialises migrating processes. Append to MIGRATIONS; never edit a shipped one."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from computewatch.domain import SAMPLING_GAP, CoverageStatus
from computewatch.store import rollup
from computewatch.store.exports import export_deliveries
from computewatch.store.peaks import backfill
from computewatch.store.runs import backfill_calls
from computewatch.store.schema import (
    COVERAGE_INDEXES,
    INTERVAL_INDEXES,
    RETIRED_INDEXES,
    STATE_INDEXES,
    USAGE_ESTIMATES_INDEX,
    accounts,
    api_call_totals,
    api_error_counts,
    compactions,
    coverage,
    daily_peaks,
    evidence_ledger,
    findings,
    observations,
    outbox,
    produced_reports,
    proven_intervals,
    run_processes,
    run_stages,
    runs,
    schema_migrations,
    unit_state,
    usage,
    usage_daily,
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


def _unit_state(conn: Connection) -> None:
    """Create the per-unit state and error counters, filled from the coverage already stored."""
    for t in (unit_state, api_error_counts):
        t.create(conn, checkfirst=True)
    for index in STATE_INDEXES:
        index.create(conn, checkfirst=True)
    unit = [coverage.c.provider, coverage.c.account_id, coverage.c.region, coverage.c.collector]
    reads = coverage.c.error_code != SAMPLING_GAP
    newest = sa.select(sa.func.max(coverage.c.id).label("id")).where(reads).group_by(*unit)
    ok = coverage.c.status == str(CoverageStatus.OK)
    newest_ok = sa.select(sa.func.max(coverage.c.id).label("id")).where(reads, ok).group_by(*unit)
    good: dict[tuple[str, str, str, str], tuple[object, object, object]] = {}
    for r in conn.execute(sa.select(coverage).where(coverage.c.id.in_(newest_ok))).mappings():
        good[(r["provider"], r["account_id"], r["region"], r["collector"])] = (
            r["period_start"],
            r["period_end"],
            r["recorded_at"],
        )
    rows = []
    for r in conn.execute(sa.select(coverage).where(coverage.c.id.in_(newest))).mappings():
        key = (r["provider"], r["account_id"], r["region"], r["collector"])
        start, end, at = good.get(key, (None, None, None))
        row = {c: r[c] for c in unit_state.c.keys() if c in r}
        rows.append(row | {"ok_period_start": start, "ok_period_end": end, "ok_recorded_at": at})
    if rows:
        conn.execute(unit_state.insert(), rows)
    failed = (
        sa.select(coverage.c.provider, coverage.c.collector, coverage.c.error_code, sa.func.count())
        .where(reads, coverage.c.status == str(CoverageStatus.FAILED))
        .group_by(coverage.c.provider, coverage.c.collector, coverage.c.error_code)
    )
    counts = [
        {"provider": p, "collector": c, "error_code": code, "count": int(n)}
        for p, c, code, n in conn.execute(failed)
    ]
    if counts:
        conn.execute(api_error_counts.insert(), counts)


def _kept_on_write(conn: Connection) -> None:
    """Migration 14: interval indexes, daily peaks and API call totals, filled from the store."""
    _create_indexes(INTERVAL_INDEXES)(conn)
    for t in (daily_peaks, api_call_totals):
        t.create(conn, checkfirst=True)
    backfill(conn)
    backfill_calls(conn, postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)


def _rebuild(conn: Connection, table: sa.Table) -> None:
    """Give an existing table its current shape (key order, SQLite's rowid): rename it, create
    the table anew, copy the rows over, drop the old one."""
    old = f"{table.name}_old"
    if conn.dialect.name == "postgresql":  # the key's name goes with the constraint
        conn.execute(sa.text(f"ALTER TABLE {table.name} DROP CONSTRAINT {table.name}_pkey"))
    conn.execute(sa.text(f"ALTER TABLE {table.name} RENAME TO {old}"))
    table.create(conn)
    cols = ", ".join(c.name for c in table.c)
    conn.execute(sa.text(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {old}"))  # noqa: S608
    conn.execute(sa.text(f"DROP TABLE {old}"))


def _daily_rollup(conn: Connection) -> None:
    """Migration 15: the daily roll-up, filled from the usage stored; the daily peaks rebuilt
    with the day leading their key; the indexes those and a partial index replace dropped."""
    usage_daily.create(conn, checkfirst=True)
    rollup.backfill(conn)
    for name in RETIRED_INDEXES:
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
    _rebuild(conn, daily_peaks)
    USAGE_ESTIMATES_INDEX.create(conn, checkfirst=True)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "runs, usage, coverage, accounts", _create([runs, usage, coverage, accounts])),
    (2, "observations (sampled history)", _create([observations])),
    (3, "findings (lifecycle)", _create([findings])),
    (4, "evidence ledger and mail outbox", _create([evidence_ledger, outbox])),
    (5, "produced reports (daemon catch-up)", _create([produced_reports])),
    (6, "coverage indexes (sampling reads, carried coverage)", _create_indexes(COVERAGE_INDEXES)),
    (7, "run stages (time and peak memory per stage)", _create([run_stages])),
    (8, "proven intervals (incremental sampling)", _create([proven_intervals])),
    (9, "unit state, API error counters, query indexes", _unit_state),
    (10, "compactions (retention of sealed months)", _create([compactions])),
    (12, "run processes (host, pid, start: abandoned runs)", _create([run_processes])),
    (13, "billing export deliveries (provenance, restatements)", _create([export_deliveries])),
    (14, "daily peaks, API call totals, interval indexes (recent history)", _kept_on_write),
    (15, "daily usage roll-up, daily peaks keyed by day, partial estimates index", _daily_rollup),
]
SCHEMA_VERSION = max(v for v, _, _ in MIGRATIONS)
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


def applied_versions(engine: Engine) -> set[int]:
    """The versions recorded as applied."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(schema_migrations.name):
            return set()
        return {int(v) for (v,) in conn.execute(sa.select(schema_migrations.c.version))}


def schema_version(engine: Engine) -> int:
    """The last migration of the longest applied prefix of MIGRATIONS (0 for an empty database).
    Versions are reserved per change, so a store may hold a later one before an earlier one lands;
    each is applied by whether it is recorded, never by comparison with the highest."""
    applied = applied_versions(engine)
    version = 0
    for v, _, _ in MIGRATIONS:
        if v not in applied:
            break
        version = v
    return version


def migrate(engine: Engine) -> int:
    """Apply pending migrations; returns the schema version now in place. Safe when several
    processes open a new store at once (the daemon and a CLI command)."""
    with migration_lock(engine):
        with engine.begin() as conn:
            schema_migrations.create(conn, checkfirst=True)
        done = applied_versions(engine)
        for version, description, apply in MIGRATIONS:
            if version in done:
                continue
            with engine.begin() as conn:
                apply(conn)
                conn.execute(
                    schema_migrations.insert().values(
                        version=version, description=description, applied_at=datetime.now(UTC)
                    )
                )
    return schema_version(engine)
