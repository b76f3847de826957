"""One contract suite for the store, run on SQLite and on PostgreSQL."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from computewatch.domain import (
    Account,
    CoverageEntry,
    CoverageStatus,
    Dimensions,
    Method,
    Metric,
    UsageRecord,
    Window,
    utc,
)
from computewatch.domain.errors import StoreError
from computewatch.store import Store
from computewatch.store.db import SCHEMA_VERSION

OCT = Window.month("2026-10")


def rec(
    day: int,
    qty: float,
    *,
    account: str = "111111111111",
    region: str = "us-east-1",
    chip: str = "H100",
    rid: str = "i-1",
    metric: Metric = Metric.ACCELERATOR_HOURS,
) -> UsageRecord:
    start = utc(2026, 10, day)
    return UsageRecord(
        "aws",
        account,
        region,
        "aws.ec2",
        metric,
        "accelerator-hours",
        Dimensions(
            sku="p5.48xlarge",
            accelerator=chip,
            resource_id=rid if metric != Metric.PEAK_CONCURRENT_ACCELERATORS else "",
        ),
        start,
        start + timedelta(days=1),
        qty,
        Method.LAUNCH_TIME_ESTIMATE,
    )


@pytest.fixture
def store(store_url: str):  # type: ignore[no-untyped-def]
    s = Store.open(store_url)
    yield s
    s.close()


def test_migrations_are_versioned_and_idempotent(store: Store, store_url: str) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    again = Store.open(store_url)
    assert again.migrate() == SCHEMA_VERSION
    with again.engine.connect() as conn:
        n = conn.execute(sa.text("SELECT COUNT(*) FROM schema_migrations")).scalar()
    assert n == SCHEMA_VERSION
    again.close()


def test_a_store_from_an_older_version_is_upgraded(store: Store, store_url: str) -> None:
    """A version-5 store (before the coverage indexes) gains them on the next open."""
    with store.engine.begin() as conn:
        for name in ("ix_coverage_reads", "ix_coverage_period"):
            conn.execute(sa.text(f"DROP INDEX {name}"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 6"))
    assert store.schema_version() == 5
    upgraded = Store.open(store_url)
    try:
        names = {i["name"] for i in sa.inspect(upgraded.engine).get_indexes("coverage")}
        assert {"ix_coverage_reads", "ix_coverage_period"} <= names
        assert upgraded.schema_version() == SCHEMA_VERSION == 6
    finally:
        upgraded.close()


def test_writing_the_same_period_twice_replaces(store: Store) -> None:
    run = store.start_run(OCT, utc(2026, 11, 2), "t", "0" * 64)
    batch = [rec(d, 24.0 * 8) for d in range(1, 11)] + [rec(5, 8.0, rid="i-2", chip="A100")]
    store.write_usage(run, batch, utc(2026, 11, 2))
    first = store.totals(OCT)
    store.write_usage(run, batch, utc(2026, 11, 3))
    assert store.totals(OCT) == first
    assert store.count_usage() == 11
    # A re-collection with a corrected figure replaces the old one instead of adding to it.
    store.write_usage(run, [rec(1, 100.0)], utc(2026, 11, 4))
    h100 = [t for t in store.totals(OCT) if t.accelerator == "H100"]
    assert h100[0].quantity == pytest.approx(9 * 192 + 100)


def test_totals_respect_window_and_accounts(store: Store) -> None:
    run = store.start_run(OCT, utc(2026, 11, 2), "t", "0" * 64)
    store.write_usage(
        run, [rec(1, 10.0), rec(2, 20.0), rec(2, 5.0, account="222222222222")], utc(2026, 11, 2)
    )
    day1 = Window(utc(2026, 10, 1), utc(2026, 10, 2))
    assert [t.quantity for t in store.totals(day1)] == [10.0]
    only = store.totals(OCT, [("aws", "222222222222")])
    assert [(t.account_id, t.quantity) for t in only] == [("222222222222", 5.0)]
    assert store.totals(OCT, []) == []


def test_peaks_sum_regions_per_day_then_take_the_largest_day(store: Store) -> None:
    run = store.start_run(OCT, utc(2026, 11, 2), "t", "0" * 64)
    peak = Metric.PEAK_CONCURRENT_ACCELERATORS
    store.write_usage(
        run,
        [
            rec(1, 8, metric=peak),
            rec(1, 16, region="us-west-2", metric=peak),
            rec(2, 20, metric=peak),
            rec(2, 100, metric=Metric.ACCELERATOR_HOURS),
        ],
        utc(2026, 11, 2),
    )
    (p,) = store.peaks(OCT)
    assert (p.accelerator, p.quantity) == ("H100", 24)
    assert all(t.metric != str(peak) for t in store.totals(OCT))


def test_coverage_and_runs_round_trip(store: Store) -> None:
    run = store.start_run(OCT, utc(2026, 11, 2), "0.1", "a" * 64)
    entries = [
        CoverageEntry(
            "aws", "111111111111", "us-east-1", "aws.ec2", OCT.start, OCT.end, CoverageStatus.OK
        ),
        CoverageEntry(
            "aws",
            "111111111111",
            "us-west-2",
            "aws.ec2",
            OCT.start,
            OCT.end,
            CoverageStatus.FAILED,
            "AccessDenied",
            "not authorized",
        ),
    ]
    store.write_coverage(run, entries, utc(2026, 11, 2))
    assert store.coverage_for_run(run) == entries
    store.finish_run(run, utc(2026, 11, 2, 1), "partial", {"ec2:DescribeInstances": 2})
    row = store.run(run)
    assert row["status"] == "partial" and row["api_calls"] == {"ec2:DescribeInstances": 2}


def test_account_names_upsert(store: Store) -> None:
    store.upsert_accounts([Account("aws", "1", "old"), Account("aws", "2", "two")])
    store.upsert_accounts([Account("aws", "1", "new")])
    assert store.account_names() == {("aws", "1"): "new", ("aws", "2"): "two"}


def test_unreachable_store_is_a_clear_error() -> None:
    with pytest.raises(StoreError) as exc:
        Store.open("postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(exc.value)
    assert "127.0.0.1" in str(exc.value)


def test_concurrent_first_open_migrates_once(store_url: str) -> None:
    """The daemon and a CLI command may open a brand-new store at the same moment."""
    import subprocess
    import sys
    import time

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
    s = Store.open(store_url)
    with s.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT COUNT(*) FROM schema_migrations")).scalar()
    assert count == SCHEMA_VERSION
    s.close()


def test_interrupted_runs_are_marked_abandoned(store: Store) -> None:
    old = store.start_run(OCT, utc(2026, 11, 1), "t", "0" * 64)
    recent = store.start_run(OCT, utc(2026, 11, 2, 11), "t", "0" * 64)
    done = store.start_run(OCT, utc(2026, 11, 1), "t", "0" * 64)
    store.finish_run(done, utc(2026, 11, 1, 1), "complete", {})
    assert store.abandon_running(utc(2026, 11, 2), utc(2026, 11, 2, 12)) == 1
    assert [store.run(r)["status"] for r in (old, recent, done)] == [
        "abandoned",
        "running",
        "complete",
    ]
