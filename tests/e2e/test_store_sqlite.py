"""A SQLite store for a daemon: readers (`status`, a /metrics scrape, a second audit) and the
hourly job's writes must not fail each other with 'database is locked'."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from computewatch.store import Store


def test_a_reader_is_not_blocked_by_a_writer_holding_the_database(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with Store.open(f"sqlite:///{db}") as store:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        writer = sqlite3.connect(db, timeout=0.1, isolation_level=None)
        writer.execute("BEGIN EXCLUSIVE")  # as a large commit or a page-cache spill holds it
        writer.execute("DELETE FROM runs")
        try:
            with store.engine.connect() as reader:  # a rollback journal would make this wait
                assert reader.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 0
        finally:
            writer.execute("ROLLBACK")
            writer.close()
