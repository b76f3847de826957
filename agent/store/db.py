"""The usage store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL.

Writes are idempotent upserts on the record key (DESIGN §3); aggregation runs in SQL so a large
history never travels into Python row by row.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from computewatch.domain import (
    SAMPLING_GAP,
    Account,
    CoverageEntry,
    CoverageStatus,
    DailyRow,
    DailyTotal,
    Finding,
    FindingState,
    FindingStatus,
    Metric,
    Observation,
    Peak,
    Total,
    UsageRecord,
    Window,
)
from computewatch.domain.errors import StoreError

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", TS, nullable=False),
)
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("window_start", TS, nullable=False),
    sa.Column("window_end", TS, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("tool_version", sa.String(40), nullable=False),
    sa.Column("config_digest", sa.String(64), nullable=False),
    sa.Column("api_calls", sa.Text, nullable=False, default="{}"),
)
usage = sa.Table(
    "usage",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("provider", sa.String(20), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("collector", sa.String(64), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("accelerator", sa.String(64), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("resource_id", sa.String(400), nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("collected_at", TS, nullable=False),
    sa.Index("ix_usage_account_period", "provider", "account_id", "period_start"),
)
coverage = sa.Table(
    "coverage",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("provider", sa.String(20), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("collector", sa.String(64), nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("error_code", sa.String(200), nullable=False),
    sa.Column("error_message", sa.Text, nullable=False),
    sa.Column("recorded_at", TS, nullable=False),
    sa.Index("ix_coverage_run", "run_id"),
)
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
)

observations = sa.Table(
    "observations",
    metadata,
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("region", sa.String(64), primary_key=True),
    sa.Column("collector", sa.String(64), primary_key=True),
    sa.Column("resource_id", sa.String(400), primary_key=True),
    sa.Column("observed_at", TS, primary_key=True),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("accelerator", sa.String(64), nullable=False),
    sa.Column("count", sa.Float, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("ended_at", TS),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("ix_observations_time", "provider", "collector", "observed_at"),
)

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("rule_id", sa.String(100), nullable=False),
    sa.Column("scope_kind", sa.String(20), nullable=False),
    sa.Column("scope_key", sa.String(400), nullable=False),
    sa.Column("window_start", TS, nullable=False),
    sa.Column("window_end", TS, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("lifecycle", sa.String(10), nullable=False),
    sa.Column("first_seen", TS, nullable=False),
    sa.Column("last_seen", TS, nullable=False),
    sa.Column("reported_at", TS),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("ix_findings_status", "status", "lifecycle"),
)

evidence_ledger = sa.Table(
    "evidence_ledger",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("bundle", sa.String(400), nullable=False),
    sa.Column("report_id", sa.String(64), nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("prev_digest", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
)
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("message_id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("recipients", sa.Text, nullable=False),
    sa.Column("message", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("sent_at", TS),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Index("ix_outbox_due", "sent_at", "next_attempt_at"),
)

produced_reports = sa.Table(
    "produced_reports",
    metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("period", sa.String(20), primary_key=True),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("produced_at", TS, nullable=False),
    sa.Column("report_id", sa.String(64), nullable=False),
    sa.Column("bundle", sa.String(400), nullable=False),
)

_V1_TABLES = [runs, usage, coverage, accounts]


def _create(tables: Sequence[sa.Table]) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for t in tables:
            t.create(conn, checkfirst=True)

    return apply


# Added by migration 6: a month of hourly runs writes millions of coverage rows, and every run asks
# when each sampling unit was last read and what the window's latest read of each unit recorded.
_COVERAGE_INDEXES = [
    sa.Index("ix_coverage_reads", coverage.c.collector, coverage.c.recorded_at),
    sa.Index("ix_coverage_period", coverage.c.period_start, coverage.c.period_end),
]


def _create_indexes(indexes: Sequence[sa.Index]) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for index in indexes:
            index.create(conn, checkfirst=True)

    return apply


# Versioned migrations, applied in order inside one transaction each. Append; never edit a shipped one.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "runs, usage, coverage, accounts", _create(_V1_TABLES)),
    (2, "observations (sampled history)", _create([observations])),
    (3, "findings (lifecycle)", _create([findings])),
    (4, "evidence ledger and mail outbox", _create([evidence_ledger, outbox])),
    (5, "produced reports (daemon catch-up)", _create([produced_reports])),
    (6, "coverage indexes (sampling reads, carried coverage)", _create_indexes(_COVERAGE_INDEXES)),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
MIGRATION_LOCK = 0x6377_6D69_6772  # pg_advisory_lock key serialising migrations ("cwmigr")


def _coverage_entry(r: Any) -> CoverageEntry:
    return CoverageEntry(
        provider=r["provider"],
        account_id=r["account_id"],
        region=r["region"],
        collector=r["collector"],
        period_start=_aware(r["period_start"]),
        period_end=_aware(r["period_end"]),
        status=CoverageStatus(r["status"]),
        error_code=r["error_code"],
        error_message=r["error_message"],
    )


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One evidence-ledger entry as stored; `digest` covers every other field (reports/evidence.py)."""

    seq: int
    bundle: str
    report_id: str
    manifest_sha256: str
    prev_digest: str
    created_at: str
    digest: str


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


@dataclass(frozen=True, slots=True)
class ProducedReport:
    """A scheduled report that went out; (kind, period) is produced once (daemon catch-up)."""

    kind: str
    period: str
    period_start: datetime
    period_end: datetime
    produced_at: datetime
    report_id: str
    bundle: str


@dataclass(frozen=True, slots=True)
class RunStats:
    """What operators ask of the runs table: counts by status, API calls, last good run."""

    by_status: dict[str, int]
    api_calls: dict[str, int]
    last_success: datetime | None
    last_run: dict[str, Any] | None


class Store:
    """One store per URL. Use `Store.open(url)`; it migrates to the current schema."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str) -> Store:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = sa.create_engine(url, future=True)
            store = cls(engine, url)
            store.migrate()
        except SQLAlchemyError as exc:
            raise StoreError(_redact(url), str(exc.__cause__ or exc).splitlines()[0]) from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- schema -------------------------------------------------------------------------------
    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """Serialise migrations across processes: a PostgreSQL advisory lock, or for SQLite (which
        autocommits DDL, so two migrating processes would interleave) a lock file beside it."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
                    conn.commit()
            return
        path = self.engine.url.database
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.migrate.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def migrate(self) -> int:
        """Apply pending migrations; returns the schema version now in place. Safe when several
        processes open a new store at once (the daemon and a CLI command)."""
        with self._migration_lock():
            with self.engine.begin() as conn:
                schema_migrations.create(conn, checkfirst=True)
            for version, description, apply in MIGRATIONS:
                if version <= self.schema_version():
                    continue
                with self.engine.begin() as conn:
                    apply(conn)
                    conn.execute(
                        schema_migrations.insert().values(
                            version=version, description=description, applied_at=datetime.now(UTC)
                        )
                    )
        return self.schema_version()

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            v = conn.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar()
        return int(v or 0)

    # -- runs ---------------------------------------------------------------------------------
    def start_run(
        self, window: Window, started_at: datetime, tool_version: str, config_digest: str
    ) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                runs.insert().values(
                    started_at=started_at,
                    window_start=window.start,
                    window_end=window.end,
                    status="running",
                    tool_version=tool_version,
                    config_digest=config_digest,
                    api_calls="{}",
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            return int(pk[0])

    def finish_run(
        self, run_id: int, finished_at: datetime, status: str, api_calls: dict[str, int]
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(
                    finished_at=finished_at,
                    status=status,
                    api_calls=json.dumps(api_calls, sort_keys=True),
                )
            )

    def abandon_running(self, started_before: datetime, now: datetime) -> int:
        """Mark runs still 'running' that started before `started_before` as abandoned."""
        with self.engine.begin() as conn:
            result = conn.execute(
                runs.update()
                .where(runs.c.status == "running", runs.c.started_at < started_before)
                .values(status="abandoned", finished_at=now)
            )
            return int(result.rowcount or 0)

    def run(self, run_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().one()
        out = dict(row)
        out["api_calls"] = json.loads(out["api_calls"])
        return out

    # -- writes -------------------------------------------------------------------------------
    def _upsert(
        self, table: sa.Table, rows: list[dict[str, Any]], key: list[str], update: list[str]
    ) -> None:
        if not rows:
            return
        dialect = self.engine.dialect.name
        stmt: Any
        if dialect == "postgresql":
            stmt = postgresql.insert(table)
        elif dialect == "sqlite":
            stmt = sqlite.insert(table)
        else:  # pragma: no cover - only the two backends above are supported
            raise StoreError(_redact(self.url), f"unsupported database dialect {dialect}")
        stmt = stmt.on_conflict_do_update(
            index_elements=key, set_={c: stmt.excluded[c] for c in update}
        )
        with self.engine.begin() as conn:
            for i in range(0, len(rows), 500):
                conn.execute(stmt, rows[i : i + 500])

    def write_usage(
        self, run_id: int, records: Iterable[UsageRecord], collected_at: datetime
    ) -> int:
        """Upsert records by key: collecting the same period twice replaces, never adds."""
        rows: dict[str, dict[str, Any]] = {}
        for r in records:
            rows[r.key] = {
                "key": r.key,
                "provider": r.provider,
                "account_id": r.account_id,
                "region": r.region,
                "collector": r.collector,
                "metric": str(r.metric),
                "unit": r.unit,
                **r.dimensions.as_dict(),
                "period_start": r.period_start,
                "period_end": r.period_end,
                "quantity": r.quantity,
                "method": str(r.method),
                "run_id": run_id,
                "collected_at": collected_at,
            }
        update = ["unit", "period_end", "quantity", "method", "run_id", "collected_at"]
        self._upsert(usage, list(rows.values()), ["key"], update)
        return len(rows)

    def write_coverage(
        self, run_id: int, entries: Iterable[CoverageEntry], recorded_at: datetime
    ) -> None:
        rows = [
            {
                "run_id": run_id,
                "provider": e.provider,
                "account_id": e.account_id,
                "region": e.region,
                "collector": e.collector,
                "period_start": e.period_start,
                "period_end": e.period_end,
                "status": str(e.status),
                "error_code": e.error_code,
                "error_message": e.error_message,
                "recorded_at": recorded_at,
            }
            for e in entries
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(coverage.insert(), rows)

    def write_observations(self, run_id: int, items: Iterable[Observation]) -> None:
        rows = {
            (o.provider, o.account_id, o.region, o.collector, o.resource_id, o.observed_at): {
                "provider": o.provider,
                "account_id": o.account_id,
                "region": o.region,
                "collector": o.collector,
                "resource_id": o.resource_id,
                "observed_at": o.observed_at,
                "sku": o.sku,
                "accelerator": o.accelerator,
                "count": o.count,
                "state": o.state,
                "started_at": o.started_at,
                "ended_at": o.ended_at,
                "run_id": run_id,
            }
            for o in items
        }
        key = ["provider", "account_id", "region", "collector", "resource_id", "observed_at"]
        update = ["sku", "accelerator", "count", "state", "started_at", "ended_at", "run_id"]
        self._upsert(observations, list(rows.values()), key, update)

    def observations(self, window: Window, before: datetime) -> list[Observation]:
        """Observations that can prove running time inside `window`, made before `before`."""
        end = sa.func.coalesce(observations.c.ended_at, observations.c.observed_at)
        stmt = (
            sa.select(observations)
            .where(end > window.start, observations.c.started_at < window.end)
            .where(observations.c.observed_at < before)
            .order_by(observations.c.observed_at)
        )
        with self.engine.connect() as conn:
            return [
                Observation(
                    provider=r["provider"],
                    account_id=r["account_id"],
                    region=r["region"],
                    collector=r["collector"],
                    resource_id=r["resource_id"],
                    observed_at=_aware(r["observed_at"]),
                    sku=r["sku"],
                    accelerator=r["accelerator"],
                    count=r["count"],
                    state=r["state"],
                    started_at=_aware(r["started_at"]),
                    ended_at=None if r["ended_at"] is None else _aware(r["ended_at"]),
                )
                for r in conn.execute(stmt).mappings()
            ]

    def upsert_accounts(self, items: Iterable[Account]) -> None:
        rows = {
            (a.provider, a.account_id): {
                "provider": a.provider,
                "account_id": a.account_id,
                "name": a.name,
            }
            for a in items
        }
        self._upsert(accounts, list(rows.values()), ["provider", "account_id"], ["name"])

    # -- reads --------------------------------------------------------------------------------
    def coverage_for_run(self, run_id: int) -> list[CoverageEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(coverage).where(coverage.c.run_id == run_id).order_by(coverage.c.id)
            ).mappings()
            return [_coverage_entry(r) for r in rows]

    def read_times(
        self, collectors_: Iterable[str], since: datetime, before: datetime
    ) -> dict[tuple[str, str, str, str], list[datetime]]:
        """Per unit of these collectors, when it was read successfully in [since, before), plus
        its last such read before `since` (the one a gap at the window's start is measured from)."""
        names = list(collectors_)
        if not names:
            return {}
        key = [coverage.c.provider, coverage.c.account_id, coverage.c.region, coverage.c.collector]
        ok = (coverage.c.collector.in_(names), coverage.c.status == str(CoverageStatus.OK))
        inside = (
            sa.select(*key, coverage.c.recorded_at)
            .where(*ok, coverage.c.recorded_at >= since, coverage.c.recorded_at < before)
            .distinct()
        )
        earlier = (
            sa.select(*key, sa.func.max(coverage.c.recorded_at))
            .where(*ok, coverage.c.recorded_at < since)
            .group_by(*key)
        )
        out: dict[tuple[str, str, str, str], list[datetime]] = defaultdict(list)
        with self.engine.connect() as conn:
            for stmt in (earlier, inside):
                for row in conn.execute(stmt):
                    out[(row[0], row[1], row[2], row[3])].append(_aware(row[4]))
        return {k: sorted(v) for k, v in out.items()}

    def window_coverage(
        self, window: Window
    ) -> dict[tuple[str, str, str, str], list[CoverageEntry]]:
        """Per unit, what its most recent read of exactly this window recorded: the read's own
        entry and the sampling gaps found with it (what a run that skips the unit carries over)."""
        key = [coverage.c.provider, coverage.c.account_id, coverage.c.region, coverage.c.collector]
        newest = (
            sa.select(sa.func.max(coverage.c.id).label("id"))
            .where(coverage.c.period_start == window.start, coverage.c.period_end == window.end)
            .group_by(*key)
            .subquery()
        )
        latest = sa.select(*key, coverage.c.run_id).join(newest, coverage.c.id == newest.c.id)
        with self.engine.connect() as conn:
            runs_of = {tuple(r[:4]): r[4] for r in conn.execute(latest)}
            if not runs_of:
                return {}
            rows = conn.execute(
                sa.select(coverage)
                .where(coverage.c.run_id.in_(set(runs_of.values())))
                .order_by(coverage.c.id)
            ).mappings()
            out: dict[tuple[str, str, str, str], list[CoverageEntry]] = defaultdict(list)
            for r in rows:
                unit = (r["provider"], r["account_id"], r["region"], r["collector"])
                if runs_of.get(unit) == r["run_id"]:
                    out[unit].append(_coverage_entry(r))
        return dict(out)

    def api_errors(self) -> dict[tuple[str, str, str], int]:
        """Failed API reads over all runs, by provider, collector and error code (sampling gaps
        are not API errors, and each run would count the same gap again)."""
        stmt = (
            sa.select(
                coverage.c.provider, coverage.c.collector, coverage.c.error_code, sa.func.count()
            )
            .where(
                coverage.c.status == str(CoverageStatus.FAILED),
                coverage.c.error_code != SAMPLING_GAP,
            )
            .group_by(coverage.c.provider, coverage.c.collector, coverage.c.error_code)
        )
        with self.engine.connect() as conn:
            return {(p, c, code or "unknown"): int(n) for p, c, code, n in conn.execute(stmt)}

    def account_names(self) -> dict[tuple[str, str], str]:
        with self.engine.connect() as conn:
            return {(r.provider, r.account_id): r.name for r in conn.execute(sa.select(accounts))}

    def _scope(
        self, stmt: Any, window: Window, account_keys: Iterable[tuple[str, str]] | None
    ) -> Any:
        stmt = stmt.where(usage.c.period_start >= window.start, usage.c.period_end <= window.end)
        if account_keys is not None:
            keys = list(account_keys)
            if not keys:
                return stmt.where(sa.false())
            stmt = stmt.where(sa.tuple_(usage.c.provider, usage.c.account_id).in_(keys))
        return stmt

    def totals(
        self, window: Window, account_keys: Iterable[tuple[str, str]] | None = None
    ) -> list[Total]:
        """Sums of every additive metric inside the window, grouped down to chip/model/sku/method."""
        cols = [
            usage.c.provider,
            usage.c.account_id,
            usage.c.metric,
            usage.c.accelerator,
            usage.c.model,
            usage.c.sku,
            usage.c.method,
        ]
        stmt = sa.select(*cols, sa.func.sum(usage.c.quantity)).where(
            usage.c.metric != str(Metric.PEAK_CONCURRENT_ACCELERATORS)
        )
        stmt = self._scope(stmt, window, account_keys).group_by(*cols).order_by(*cols)
        with self.engine.connect() as conn:
            return [
                Total(r[0], r[1], r[2], r[3], r[4], r[5], r[6], float(r[7]))
                for r in conn.execute(stmt)
            ]

    def peaks(
        self, window: Window, account_keys: Iterable[tuple[str, str]] | None = None
    ) -> list[Peak]:
        """Per account and chip: the largest day of summed per-region peaks (an upper bound across regions)."""
        per_day = self._scope(
            sa.select(
                usage.c.provider,
                usage.c.account_id,
                usage.c.accelerator,
                usage.c.method,
                usage.c.period_start,
                sa.func.sum(usage.c.quantity).label("q"),
            ).where(usage.c.metric == str(Metric.PEAK_CONCURRENT_ACCELERATORS)),
            window,
            account_keys,
        ).group_by(
            usage.c.provider,
            usage.c.account_id,
            usage.c.accelerator,
            usage.c.method,
            usage.c.period_start,
        )
        sub = per_day.subquery()
        stmt = (
            sa.select(
                sub.c.provider,
                sub.c.account_id,
                sub.c.accelerator,
                sub.c.method,
                sa.func.max(sub.c.q),
            )
            .group_by(sub.c.provider, sub.c.account_id, sub.c.accelerator, sub.c.method)
            .order_by(sub.c.provider, sub.c.account_id, sub.c.accelerator)
        )
        with self.engine.connect() as conn:
            return [Peak(r[0], r[1], r[2], r[3], float(r[4])) for r in conn.execute(stmt)]

    def daily_accelerator_hours(
        self, window: Window, account_keys: Iterable[tuple[str, str]] | None = None
    ) -> list[DailyTotal]:
        cols = [usage.c.provider, usage.c.account_id, usage.c.accelerator, usage.c.period_start]
        stmt = (
            self._scope(
                sa.select(*cols, sa.func.sum(usage.c.quantity)).where(
                    usage.c.metric == str(Metric.ACCELERATOR_HOURS)
                ),
                window,
                account_keys,
            )
            .group_by(*cols)
            .order_by(*cols)
        )
        with self.engine.connect() as conn:
            return [
                DailyTotal(r[0], r[1], r[2], _aware(r[3]), float(r[4])) for r in conn.execute(stmt)
            ]

    def daily_totals(
        self,
        window: Window,
        metrics: Iterable[str],
        account_keys: Iterable[tuple[str, str]] | None = None,
    ) -> list[DailyRow]:
        """Per day, account, metric, chip, sku and method: lets a billing figure supersede an
        inventory estimate day by day instead of both being summed."""
        cols = [
            usage.c.provider,
            usage.c.account_id,
            usage.c.metric,
            usage.c.accelerator,
            usage.c.sku,
            usage.c.method,
            usage.c.period_start,
        ]
        stmt = self._scope(
            sa.select(*cols, sa.func.sum(usage.c.quantity)).where(
                usage.c.metric.in_(list(metrics))
            ),
            window,
            account_keys,
        )
        stmt = stmt.group_by(*cols).order_by(*cols)
        with self.engine.connect() as conn:
            return [
                DailyRow(r[0], r[1], r[2], r[3], r[4], r[5], _aware(r[6]), float(r[7]))
                for r in conn.execute(stmt)
            ]

    def final_days(self, provider: str, collector: str, final_after: timedelta) -> frozenset[date]:
        """Days a collector already read successfully at least `final_after` after they ended."""
        stmt = sa.select(
            coverage.c.period_start, coverage.c.period_end, coverage.c.recorded_at
        ).where(
            coverage.c.provider == provider,
            coverage.c.collector == collector,
            coverage.c.status == str(CoverageStatus.OK),
        )
        days: set[date] = set()
        with self.engine.connect() as conn:
            for start, end, recorded in conn.execute(stmt):
                start, end, recorded = _aware(start), _aware(end), _aware(recorded)
                day = start.replace(hour=0, minute=0, second=0, microsecond=0)
                if day < start:
                    day += timedelta(days=1)
                while (
                    day + timedelta(days=1) <= end
                    and day + timedelta(days=1) + final_after <= recorded
                ):
                    days.add(day.date())
                    day += timedelta(days=1)
        return frozenset(days)

    def record_findings(
        self, items: Sequence[Finding], now: datetime, run_id: int
    ) -> dict[str, FindingState]:
        """Persist findings and move their lifecycle: new (open, not yet in a report), ongoing
        (open and already reported), resolved (was open, now OK), none (never open).
        Re-evaluating the same data keeps status, lifecycle and first_seen as they were."""
        ids = [f.id for f in items]
        with self.engine.begin() as conn:
            before = (
                {
                    r["id"]: r
                    for r in conn.execute(
                        sa.select(findings).where(findings.c.id.in_(ids))
                    ).mappings()
                }
                if ids
                else {}
            )
            out: dict[str, FindingState] = {}
            for f in items:
                old = before.get(f.id)
                open_now = f.status is not FindingStatus.OK
                reported = (
                    None
                    if old is None or old["reported_at"] is None
                    else _aware(old["reported_at"])
                )
                if open_now:
                    lifecycle = "ongoing" if reported is not None else "new"
                elif old is not None and old["lifecycle"] in ("new", "ongoing", "resolved"):
                    lifecycle = "resolved"
                else:
                    lifecycle = "none"
                first_seen = now if old is None else _aware(old["first_seen"])
                row = {
                    "rule_id": f.rule.id,
                    "scope_kind": f.scope_kind,
                    "scope_key": f.scope_key,
                    "window_start": f.window.start,
                    "window_end": f.window.end,
                    "status": str(f.status),
                    "value": f.value,
                    "threshold": f.threshold,
                    "severity": f.rule.severity,
                    "lifecycle": lifecycle,
                    "last_seen": now,
                    "detail": f.detail,
                    "run_id": run_id,
                }
                if old is None:
                    conn.execute(
                        findings.insert().values(id=f.id, first_seen=now, reported_at=None, **row)
                    )
                else:
                    conn.execute(findings.update().where(findings.c.id == f.id).values(**row))
                out[f.id] = FindingState(lifecycle, first_seen, now, reported)
        return out

    def mark_reported(self, ids: Iterable[str], now: datetime) -> None:
        """Open findings that went out in a report are 'ongoing' from now on (the report itself
        was rendered with them as 'new'); a separate notice for them would be a duplicate."""
        ids = list(ids)
        if ids:
            with self.engine.begin() as conn:
                conn.execute(
                    findings.update()
                    .where(findings.c.id.in_(ids), findings.c.reported_at.is_(None))
                    .values(reported_at=now, lifecycle="ongoing")
                )

    def list_findings(
        self,
        status: str | None = None,
        lifecycle: str | None = None,
        rule_id: str | None = None,
        scope: str | None = None,
    ) -> list[dict[str, Any]]:
        stmt = sa.select(findings).order_by(
            findings.c.window_start, findings.c.rule_id, findings.c.scope_key
        )
        if status:
            stmt = stmt.where(findings.c.status == status)
        if lifecycle:
            stmt = stmt.where(findings.c.lifecycle == lifecycle)
        if rule_id:
            stmt = stmt.where(findings.c.rule_id == rule_id)
        if scope:
            stmt = stmt.where(findings.c.scope_key.contains(scope, autoescape=True))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def count_usage(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(usage)).scalar() or 0)

    # -- evidence ledger (hash chain; the digests are computed by reports.evidence) ---------------
    def ledger(self) -> list[LedgerRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(evidence_ledger).order_by(evidence_ledger.c.seq))
            return [LedgerRow(**r) for r in rows.mappings()]

    def ledger_tail(self) -> LedgerRow | None:
        stmt = sa.select(evidence_ledger).order_by(evidence_ledger.c.seq.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else LedgerRow(**row)

    def append_ledger(self, row: LedgerRow) -> None:
        """Insert one entry; the primary key on `seq` makes a concurrent append fail, not fork."""
        try:
            with self.engine.begin() as conn:
                conn.execute(evidence_ledger.insert().values(**dataclasses.asdict(row)))
        except SQLAlchemyError as exc:
            raise StoreError(
                _redact(self.url),
                f"ledger entry {row.seq}: {str(exc.__cause__ or exc).splitlines()[0]}",
            ) from exc

    # -- mail outbox ----------------------------------------------------------------------------
    def outbox_add(self, row: OutboxRow) -> bool:
        """Queue a message once: returns False if its message id is already queued or sent."""
        values = dataclasses.asdict(row) | {"recipients": json.dumps(list(row.recipients))}
        with self.engine.begin() as conn:
            seen = conn.execute(
                sa.select(outbox.c.message_id).where(outbox.c.message_id == row.message_id)
            ).first()
            if seen is not None:
                return False
            conn.execute(outbox.insert().values(**values))
        return True

    def outbox(
        self, *, pending_only: bool = False, due_at: datetime | None = None
    ) -> list[OutboxRow]:
        stmt = sa.select(outbox).order_by(outbox.c.created_at, outbox.c.message_id)
        if pending_only or due_at is not None:
            stmt = stmt.where(outbox.c.sent_at.is_(None))
        if due_at is not None:
            stmt = stmt.where(outbox.c.next_attempt_at <= due_at)
        with self.engine.connect() as conn:
            return [_outbox_row(r) for r in conn.execute(stmt).mappings()]

    def outbox_claim(self, row: OutboxRow, until: datetime) -> bool:
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

    def outbox_done(
        self, message_id: str, *, sent_at: datetime | None, next_attempt_at: datetime, error: str
    ) -> None:
        """Record the attempt's outcome: sent (sent_at set) or failed (retry at next_attempt_at)."""
        with self.engine.begin() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.message_id == message_id)
                .values(sent_at=sent_at, next_attempt_at=next_attempt_at, last_error=error)
            )

    # -- daemon: produced reports and operational summaries --------------------------------------
    def record_report(self, report: ProducedReport) -> bool:
        """Remember a produced scheduled report; False if (kind, period) was already recorded."""
        values = dataclasses.asdict(report)
        with self.engine.begin() as conn:
            seen = conn.execute(
                sa.select(produced_reports.c.kind).where(
                    produced_reports.c.kind == report.kind,
                    produced_reports.c.period == report.period,
                )
            ).first()
            if seen is not None:
                return False
            conn.execute(produced_reports.insert().values(**values))
        return True

    def produced(self, kind: str | None = None) -> list[ProducedReport]:
        stmt = sa.select(produced_reports).order_by(produced_reports.c.period_start)
        if kind:
            stmt = stmt.where(produced_reports.c.kind == kind)
        with self.engine.connect() as conn:
            return [
                ProducedReport(
                    **(
                        dict(r)
                        | {
                            "period_start": _aware(r["period_start"]),
                            "period_end": _aware(r["period_end"]),
                            "produced_at": _aware(r["produced_at"]),
                        }
                    )
                )
                for r in conn.execute(stmt).mappings()
            ]

    def run_stats(self, good: Iterable[str]) -> RunStats:
        """Runs by status, API calls summed over all runs, and when the last `good` run finished."""
        by_status: dict[str, int] = {}
        calls: dict[str, int] = {}
        with self.engine.connect() as conn:
            for status, n in conn.execute(
                sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)
            ):
                by_status[status] = int(n)
            for (text,) in conn.execute(sa.select(runs.c.api_calls)):
                for op, n in json.loads(text).items():
                    calls[op] = calls.get(op, 0) + int(n)
            last = conn.execute(
                sa.select(sa.func.max(runs.c.finished_at)).where(runs.c.status.in_(list(good)))
            ).scalar()
            row = (
                conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(1)).mappings().first()
            )
        return RunStats(by_status, calls, None if last is None else _aware(last), _run_dict(row))

    def latest_coverage(self) -> list[tuple[CoverageEntry, datetime]]:
        """Per provider, account, region and collector: its most recent read (a sampling gap is
        found with a read, not a read of its own)."""
        key = [coverage.c.provider, coverage.c.account_id, coverage.c.region, coverage.c.collector]
        newest = (
            sa.select(sa.func.max(coverage.c.id).label("id"))
            .where(coverage.c.error_code != SAMPLING_GAP)
            .group_by(*key)
            .subquery()
        )
        stmt = sa.select(coverage).join(newest, coverage.c.id == newest.c.id).order_by(*key)
        with self.engine.connect() as conn:
            return [
                (
                    _coverage_entry(r),
                    _aware(r["recorded_at"]),
                )
                for r in conn.execute(stmt).mappings()
            ]

    def open_findings_by_status(self) -> dict[str, int]:
        """Counts of findings not OK (BREACH, UNKNOWN) that are not resolved."""
        stmt = (
            sa.select(findings.c.status, sa.func.count())
            .where(findings.c.status != str(FindingStatus.OK))
            .group_by(findings.c.status)
        )
        with self.engine.connect() as conn:
            return {status: int(n) for status, n in conn.execute(stmt)}


def _run_dict(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    out["api_calls"] = json.loads(out["api_calls"])
    for k in ("started_at", "finished_at", "window_start", "window_end"):
        if out[k] is not None:
            out[k] = _aware(out[k])
    return out


def _outbox_row(r: Any) -> OutboxRow:
    return OutboxRow(
        message_id=r["message_id"],
        kind=r["kind"],
        recipients=tuple(json.loads(r["recipients"])),
        message=bytes(r["message"]),
        attempts=int(r["attempts"]),
        created_at=_aware(r["created_at"]),
        next_attempt_at=_aware(r["next_attempt_at"]),
        sent_at=None if r["sent_at"] is None else _aware(r["sent_at"]),
        last_error=r["last_error"],
    )


def _redact(url: str) -> str:
    """Never print a password that someone put in a URL."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "<unparseable store url>"
