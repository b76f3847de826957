"""Opening the store: one engine per URL per process, migrations once, versioned and safe when
several processes or threads open a new store at once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from computewatch.domain.errors import StoreError
from computewatch.store import Store
from computewatch.store.migrations import MIGRATIONS, SCHEMA_VERSION, applied_versions


def migrations_recorded(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM schema_migrations")).scalar() or 0)


def test_migrations_are_versioned_and_idempotent(store: Store) -> None:
    versions = [v for v, _, _ in MIGRATIONS]
    # Ascending and unique; blocks of numbers are assigned to parallel work, so gaps may exist.
    assert versions == sorted(set(versions)) and versions[:6] == list(range(1, 7))
    assert store.schema_version() == SCHEMA_VERSION
    assert store.migrate() == SCHEMA_VERSION
    assert store.migrate() == SCHEMA_VERSION
    assert migrations_recorded(store) == len(MIGRATIONS)


def test_a_store_from_an_older_version_is_upgraded(store: Store, store_url: str) -> None:
    """A version-5 store (before the coverage indexes and run stages) gains them when a process
    opens it."""
    with store.engine.begin() as conn:
        for name in ("ix_coverage_reads", "ix_coverage_period"):
            conn.execute(sa.text(f"DROP INDEX {name}"))
        conn.execute(sa.text("DROP TABLE run_stages"))  # migration 7
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version IN (6, 7)"))
    assert not {6, 7} & applied_versions(store.engine)
    # This process migrated the URL already: another open does not check again...
    assert 6 not in applied_versions(Store.open(store_url).engine)
    # ...a new process (here: the engine forgotten) does.
    Store.dispose(store_url)
    with Store.open(store_url) as upgraded:
        names = {i["name"] for i in sa.inspect(upgraded.engine).get_indexes("coverage")}
        assert {"ix_coverage_reads", "ix_coverage_period"} <= names
        assert upgraded.schema_version() == SCHEMA_VERSION
        assert applied_versions(upgraded.engine) == {v for v, _, _ in MIGRATIONS}
        assert "run_stages" in sa.inspect(upgraded.engine).get_table_names()


def test_one_engine_per_url_reused_and_not_disposed_by_close(
    store_url: str, sqlite_url: str
) -> None:
    with Store.open(store_url) as first:
        engine = first.engine
    # Closing the store left the shared engine usable; the next open reuses it.
    with Store.open(store_url) as second:
        assert second.engine is engine
        assert second.usage.count() == 0
    other = sqlite_url.replace("store.db", "other.db")
    assert Store.open(other).engine is not engine
    Store.dispose(store_url)
    with Store.open(store_url) as fresh:
        assert fresh.engine is not engine and fresh.schema_version() == SCHEMA_VERSION
    Store.dispose_all()
    assert Store.open(store_url).engine is not fresh.engine


def test_threads_opening_a_new_store_share_one_engine_and_migrate_once(store_url: str) -> None:
    engines: list[sa.Engine] = []
    errors: list[StoreError] = []
    start = threading.Barrier(8)

    def open_store() -> None:
        start.wait()
        try:
            with Store.open(store_url) as s:
                engines.append(s.engine)
        except StoreError as exc:  # asserted below: a thread must not fail to open it
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(engines) == 8 and len({id(e) for e in engines}) == 1
    assert migrations_recorded(Store.open(store_url)) == len(MIGRATIONS)


def test_concurrent_first_open_migrates_once(store_url: str) -> None:
    """The daemon and a CLI command may open a brand-new store at the same moment."""
    # Every process imports first, then all open the store at the same instant.
    code = (
        "import sys, time; from computewatch.store import Store; "
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); "
        "print(Store.open(sys.argv[1]).schema_version())"
    )
    start = str(time.time() + 4)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, store_url, start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
    assert {out.strip() for out, _ in results} == {str(SCHEMA_VERSION)}
    assert migrations_recorded(Store.open(store_url)) == len(MIGRATIONS)


def test_unreachable_store_is_a_clear_error() -> None:
    url = "postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none"
    with pytest.raises(StoreError) as exc:
        Store.open(url)
    assert "s3cret" not in str(exc.value)
    assert "127.0.0.1" in str(exc.value)
    with pytest.raises(StoreError):  # a failed open leaves nothing half-made behind
        Store.open(url)


def test_an_unknown_driver_is_a_store_error() -> None:
    with pytest.raises(StoreError) as exc:
        Store.open("nosuchdb://user:hunter2@host/db")
    assert "hunter2" not in str(exc.value) and "nosuchdb://user:***@host/db" in str(exc.value)
