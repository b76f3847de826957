"""The store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL, one engine per URL per process.

`Store.open(url)` reuses the process's engine for the URL (created, and the schema migrated, on
the first open), so a /metrics scrape or a daemon job costs a pooled connection, not an engine and
a migration check. Repositories by concern hang off the store: `store.usage`, `store.coverage`,
`store.runs`, `store.findings`, `store.ledger`, `store.outbox`, `store.reports`,
`store.intervals`, `store.peaks`, `store.retention`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from computewatch.domain.errors import StoreError, StoreUnavailable
from computewatch.store import migrations, writable
from computewatch.store.coverage import CoverageRepo
from computewatch.store.exports import ExportRepo
from computewatch.store.findings import FindingRepo
from computewatch.store.intervals import IntervalRepo
from computewatch.store.ledger import LedgerRepo
from computewatch.store.outbox import OutboxRepo
from computewatch.store.peaks import PeakRepo
from computewatch.store.reports import ReportRepo
from computewatch.store.retention import RetentionRepo
from computewatch.store.runs import RunRepo
from computewatch.store.sql import reason, redact
from computewatch.store.urls import check_scheme, open_error
from computewatch.store.usage import UsageRepo

log = logging.getLogger(__name__)


class _Engines:
    """The process's engines by URL, and which URLs were migrated. A forked child starts afresh:
    pooled connections must not be shared across processes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.by_url: dict[str, Engine] = {}
        self.migrated: set[str] = set()

    def get(self, url: str) -> Engine:
        """The engine for `url`, migrated once; call with `lock` held."""
        if self.pid != os.getpid():
            for engine in self.by_url.values():
                engine.dispose(close=False)  # the parent's connections stay the parent's
            self.pid, self.by_url, self.migrated = os.getpid(), {}, set()
        if url not in self.by_url:
            if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.by_url[url] = _create_engine(url)
        engine = self.by_url[url]
        if url not in self.migrated:
            migrations.migrate(engine)
            self.migrated.add(url)
            # Once per process and store: runs whose process died (SIGKILL) stop being "running".
            try:
                RunRepo(engine, url).abandon_dead(datetime.now(UTC))
            except SQLAlchemyError as exc:
                if not writable.is_refusal(exc):
                    raise
                log.info("read-only store role: runs of dead processes are left as they are")
        return engine

    def dispose(self, url: str | None) -> None:
        """Close the pooled connections of one URL's engine (or all) and forget it."""
        with self.lock:
            urls = list(self.by_url) if url is None else [url]
            for u in urls:
                engine = self.by_url.pop(u, None)
                self.migrated.discard(u)
                if engine is not None:
                    engine.dispose()


SQLITE_BUSY_SECONDS = 60  # how long a connection waits for another's write before it fails


def _create_engine(url: str) -> Engine:
    """An engine; a SQLite file is put in WAL mode (readers such as `status` or a /metrics
    scrape no longer block the hourly job's commit, nor it them, and a large write goes to the
    log once instead of through a rollback journal) and waits up to a minute for a writer."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return sa.create_engine(url)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

    @sa.event.listens_for(engine, "connect")
    def _wal(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL").fetchall()
        except sqlite3.OperationalError as exc:  # a read-only file keeps its journal mode
            log.debug("SQLite journal mode unchanged: %s", exc)

    return engine


_ENGINES = _Engines()


class Store:
    """Use `with Store.open(url) as store:`; closing a store leaves the shared engine open."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.usage = UsageRepo(engine, url)
        self.coverage = CoverageRepo(engine, url)
        self.runs = RunRepo(engine, url)
        self.findings = FindingRepo(engine, url)
        self.ledger = LedgerRepo(engine, url)
        self.outbox = OutboxRepo(engine, url)
        self.reports = ReportRepo(engine, url)
        self.exports = ExportRepo(engine, url)
        self.intervals = IntervalRepo(engine, url)
        self.peaks = PeakRepo(engine, url)
        self.retention = RetentionRepo(engine, url)

    @classmethod
    def open(cls, url: str) -> Store:
        """The store at `url`, on the process's engine for it; the first open in a process
        migrates the schema. StoreError (the URL without its password) if that fails."""
        check_scheme(url)
        with _ENGINES.lock:
            try:
                engine = _ENGINES.get(url)
            except SQLAlchemyError as exc:
                failed = _ENGINES.by_url.pop(url, None)
                if failed is not None:
                    failed.dispose()
                raise open_error(url, exc) from exc
            except OSError as exc:  # the SQLite file's directory cannot be created
                raise StoreUnavailable(
                    redact(url), f"cannot create {exc.filename}: {exc.strerror or exc}"
                ) from exc
        return cls(engine, url)

    def check_writable(self) -> None:
        """StoreUnavailable (exit 2) unless the role may write every table; writes nothing."""
        writable.check_writable(self.engine, self.url)

    @staticmethod
    def dispose(url: str) -> None:
        """Close the pooled connections of `url` (before dropping its database, say); the next
        open creates a new engine and checks the schema again."""
        _ENGINES.dispose(url)

    @staticmethod
    def dispose_all() -> None:
        """Close every engine of the process (daemon shutdown, between tests)."""
        _ENGINES.dispose(None)

    def close(self) -> None:
        """Nothing to release: connections go back to the shared pool after each statement."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def migrate(self) -> int:
        """Apply pending migrations now (open does so once per process); the schema version."""
        try:
            return migrations.migrate(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(redact(self.url), reason(exc)) from exc

    def schema_version(self) -> int:
        return migrations.schema_version(self.engine)
