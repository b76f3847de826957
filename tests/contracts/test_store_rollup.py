"""The daily roll-up (`usage_daily`) on both backends: after every write, re-write, method change
and export re-delivery it equals the per-resource rows summed by hand, and the migration's
backfill builds the same roll-up from the usage already stored."""

from __future__ import annotations

import random

import sqlalchemy as sa

from computewatch.domain import Method, Metric, utc
from computewatch.store import Store
from computewatch.store.rollup import GROUP, backfill
from computewatch.store.schema import usage, usage_daily
from tests.helpers.store import OCT, observation, rec

METHODS = (Method.LAUNCH_TIME_ESTIMATE, Method.SAMPLED, Method.BILLING)
METRICS = (Metric.ACCELERATOR_HOURS, Metric.INSTANCE_HOURS, Metric.PEAK_CONCURRENT_ACCELERATORS)


def rolled(store: Store) -> dict[tuple[object, ...], float]:
    order = [c.name for c in usage_daily.primary_key.columns]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(*(usage_daily.c[c] for c in order), usage_daily.c.quantity))
        return {tuple(r[:-1]): round(float(r[-1]), 6) for r in rows}


def by_hand(store: Store) -> dict[tuple[object, ...], float]:
    """The per-resource rows grouped as the roll-up groups them, in the roll-up's column order."""
    order = [c.name for c in usage_daily.primary_key.columns]
    cols = [usage.c[c] for c in order]
    stmt = sa.select(*cols, sa.func.sum(usage.c.quantity)).group_by(*cols)
    with store.engine.connect() as conn:
        return {tuple(r[:-1]): round(float(r[-1]), 6) for r in conn.execute(stmt)}


def test_every_write_keeps_the_rollup_equal_to_the_rows_summed_by_hand(store: Store) -> None:
    rng = random.Random(12)
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    for hour in range(40):
        batch = [
            rec(
                rng.randint(1, 6),
                float(rng.randint(0, 50)),
                account=rng.choice(("111111111111", "222222222222", "333333333333")),
                region=rng.choice(("us-east-1", "eu-west-1")),
                rid=rng.choice(("i-1", "i-2", "i-3")),
                chip=rng.choice(("H100", "A100")),
                metric=rng.choice(METRICS),
                method=rng.choice(METHODS),  # a key re-written under another method moves
            )
            for _ in range(rng.randint(1, 12))
        ]
        store.usage.write(run, batch, utc(2026, 11, 2))
        assert rolled(store) == by_hand(store), hour
    assert len(rolled(store)) > 20  # the sequence exercised something


def test_the_window_sums_read_the_rollup_with_the_figures_of_the_rows(store: Store) -> None:
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    rows = [
        rec(d, 8.0 * d, region=r, rid=i) for d in (1, 2) for r in ("a", "b") for i in ("x", "y")
    ]
    store.usage.write(run, rows, utc(2026, 11, 2))
    (total,) = store.usage.totals(OCT)
    assert total.quantity == sum(r.quantity for r in rows) == 96.0
    assert len(rolled(store)) == 2  # four resources x regions a day: one row a day


def test_the_migration_backfills_the_rollup(store: Store) -> None:
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    store.usage.write(
        run, [rec(d, 1.0 + d, rid=f"i-{d % 3}", region=f"r{d % 2}") for d in range(1, 20)], OCT.end
    )
    expected = rolled(store)
    with store.engine.begin() as conn:
        conn.execute(sa.delete(usage_daily))
    assert store.usage.totals(OCT) == []
    with store.engine.begin() as conn:
        backfill(conn)
    assert rolled(store) == expected == by_hand(store)
    assert set(GROUP) == {c.name for c in usage_daily.primary_key.columns}


def test_a_version_14_store_gains_the_rollup_and_keeps_its_peaks(
    store: Store, store_url: str
) -> None:
    """Migration 15 on a store of the previous shape (usage with its window indexes, daily peaks
    keyed by account first with a day index): the roll-up is built from the usage, the peaks are
    carried over into the new key, and the retired indexes are gone."""
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    store.usage.write(run, [rec(d, 2.0 * d, rid=f"i-{d % 2}") for d in range(1, 9)], OCT.end)
    store.usage.write_observations(run, [observation("i-1", utc(2026, 10, 3), utc(2026, 10, 1))])
    totals, peaks = store.usage.totals(OCT), store.peaks.for_window(OCT)
    assert totals and peaks
    with store.engine.begin() as conn:
        kept = conn.execute(
            sa.text("SELECT provider, account_id, day, region, accelerator, peak FROM daily_peaks")
        ).all()
        conn.execute(sa.text("DROP TABLE usage_daily"))
        conn.execute(sa.text("DROP TABLE daily_peaks"))
        conn.execute(
            sa.text(
                "CREATE TABLE daily_peaks (provider VARCHAR(20) NOT NULL, account_id VARCHAR(64) NOT NULL, "
                "day TIMESTAMP WITH TIME ZONE NOT NULL, region VARCHAR(64) NOT NULL, "
                "accelerator VARCHAR(64) NOT NULL, peak FLOAT NOT NULL, "
                "PRIMARY KEY (provider, account_id, day, region, accelerator))"
            )
        )
        conn.execute(sa.text("CREATE INDEX ix_daily_peaks_day ON daily_peaks (day)"))
        conn.execute(
            sa.text("INSERT INTO daily_peaks VALUES (:p, :a, :d, :r, :c, :v)"),
            [dict(zip("padrcv", row, strict=True)) for row in kept],
        )
        for name, cols in (
            ("ix_usage_period", "period_start, metric"),
            ("ix_usage_method_period", "method, period_start"),
        ):
            conn.execute(sa.text(f"CREATE INDEX {name} ON usage ({cols})"))
        conn.execute(sa.text("DROP INDEX ix_usage_estimates"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 15"))
    Store.dispose(store_url)
    with Store.open(store_url) as upgraded:
        assert upgraded.usage.totals(OCT) == totals
        assert upgraded.peaks.for_window(OCT) == peaks
        names = {
            i["name"]
            for t in ("usage", "daily_peaks")
            for i in sa.inspect(upgraded.engine).get_indexes(t)
        }
        assert "ix_usage_estimates" in names
        assert not names & {"ix_usage_period", "ix_usage_method_period", "ix_daily_peaks_day"}
        key = sa.inspect(upgraded.engine).get_pk_constraint("daily_peaks")["constrained_columns"]
        assert key[0] == "day"
