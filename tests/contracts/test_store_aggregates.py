"""The measure billing supersedes, summed in SQL (one row per account × chip × sku × method),
gives exactly what the per-day rows summed in Python give: quantities, methods, both
reconciliations (billing/inventory, export/best live source) with a billing export outranking
Cost Explorer outranking inventory day by day, the daily chart and the training runs; on both
backends."""

from __future__ import annotations

import random

import pytest

from computewatch.config.customers import Registry
from computewatch.domain import Account, Method, Metric, Window, utc
from computewatch.domain.catalog import Catalog
from computewatch.engine.training_runs import daily_series, detect_training_runs
from computewatch.engine.usage import (
    BILLED_METRICS,
    BILLING_RANKS,
    build_account_usage,
    chip_hours_by_day,
    daily_accelerator_hours,
    daily_chip_hours,
    hours_by_day,
)
from computewatch.store import Store
from computewatch.store.aggregates import RANKS
from tests.helpers.store import OCT, rec

B, E, X = Method.BILLING, Method.LAUNCH_TIME_ESTIMATE, Method.BILLING_EXPORT
ACCOUNTS = [
    Account("aws", a, a)
    for a in ("111111111111", "222222222222", "333333333333", "444444444444", "555555555555")
]


def seeded(store: Store) -> None:
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    records = []
    for day in range(1, 29):
        # Account 1: inventory every day, billing on days 5-20 (for H100 only on even days).
        records.append(rec(day, 10.0 + day, rid="i-1"))
        records.append(rec(day, 3.5, rid="i-2", chip="A100", sku="p4d.24xlarge"))
        if 5 <= day <= 20:
            records.append(rec(day, 12.25, rid="", method=B, region="global"))
            if day % 2 == 0:
                records.append(rec(day, 2.0, rid="", chip="A100", sku="p4d.24xlarge", method=B))
        # Account 2: billing only; account 3: inventory only, two regions.
        records.append(rec(day, 7.0 + day / 3, rid="", method=B, account="222222222222"))
        for region in ("us-east-1", "eu-west-1"):
            records.append(rec(day, 1.0 / 3, rid="i-9", account="333333333333", region=region))
        records.append(rec(day, 9.0, metric=Metric.INSTANCE_HOURS, rid="i-1", method=E))
        # Exports: account 1 on days 15-25 over billing and inventory (A100 from day 21, an L4
        # only the export knows on day 16); account 3 on days 1-3 over inventory; account 4
        # export only, a training-sized fleet on days 3-9 (inventory every day 1-12); account 5
        # export on days 2-6 over billing.
        if 15 <= day <= 25:
            records.append(rec(day, 12.0 + day / 7, rid="", method=X, region="global"))
            if day > 20:
                records.append(rec(day, 1.75, rid="", chip="A100", sku="p4d.24xlarge", method=X))
            if day == 16:
                records.append(rec(day, 4.0, rid="", chip="L4", sku="g6.xlarge", method=X))
        if day <= 3:
            records.append(rec(day, 0.5, rid="", account="333333333333", method=X))
        if 3 <= day <= 9:
            records.append(rec(day, 200.0 + day, rid="", account="444444444444", method=X))
        if day <= 12:
            records.append(rec(day, 190.0, rid="i-4", account="444444444444"))
        if 2 <= day <= 6:
            records.append(rec(day, 3.0, rid="", account="555555555555", method=X))
        if day <= 8:
            records.append(rec(day, 2.5, rid="", account="555555555555", method=B))
    # Written in shuffled batches, as hourly runs and late billing deliver them: each write
    # chooses its days' billing source again (store.rollup), whatever arrived before.
    random.Random(7).shuffle(records)
    for i in range(0, len(records), 23):
        store.usage.write(run, records[i : i + 23], utc(2026, 11, 2))


def test_the_store_ranks_billing_sources_as_the_engine_does() -> None:
    assert RANKS == BILLING_RANKS


@pytest.mark.parametrize("keys", [None, [("aws", "111111111111"), ("aws", "333333333333")]])
def test_billed_sums_in_sql_equal_the_day_by_day_merge(
    store: Store, keys: list[tuple[str, str]] | None
) -> None:
    seeded(store)
    for window in (OCT, Window(utc(2026, 10, 10), utc(2026, 10, 25))):
        daily = store.usage.daily_totals(window, BILLED_METRICS, keys)
        billed = store.usage.billed(window, BILLED_METRICS, keys)
        assert len(billed) < len(daily) / 5  # rows per account and chip, not per day
        old = build_account_usage(ACCOUNTS, [], daily, [], [])
        new = build_account_usage(ACCOUNTS, [], [], [], [], billed)
        for o, n in zip(old, new, strict=True):
            assert n.values.keys() == o.values.keys()
            for metric, by_key in o.values.items():
                assert n.values[metric] == pytest.approx(by_key, rel=1e-12)
            assert dict(n.methods) == dict(o.methods)
            assert n.reconciliation.keys() == o.reconciliation.keys()
            for chip, pair in o.reconciliation.items():
                assert n.reconciliation[chip] == pytest.approx(pair, rel=1e-12)
            assert n.export_reconciliation.keys() == o.export_reconciliation.keys()
            for k, pair in o.export_reconciliation.items():
                assert n.export_reconciliation[k] == pytest.approx(pair, rel=1e-12)
        assert new[0].reconciliation  # the overlap is there to compare
        assert new[0].export_reconciliation or window != OCT
        by_day = hours_by_day(store.usage.daily_hours(window, keys))
        want = daily_accelerator_hours(daily)
        assert by_day.keys() == want.keys()
        for account, days in want.items():
            assert by_day[account] == pytest.approx(days, rel=1e-12)


def test_daily_hours_per_chip_in_sql_equal_the_day_by_day_merge(store: Store) -> None:
    """The XLSX "Daily hours" sheet: per account, chip and day; billing supersedes inventory on
    an account's day, exactly as for the totals (issue 14 item 16)."""
    seeded(store)
    daily = store.usage.daily_totals(OCT, BILLED_METRICS, None)
    by_chip = chip_hours_by_day(store.usage.daily_hours(OCT))
    assert by_chip.keys() == daily_chip_hours(daily).keys()
    for key, days in daily_chip_hours(daily).items():
        assert by_chip[key] == pytest.approx(days, rel=1e-12)
    h100, a100 = by_chip[("aws", "111111111111", "H100")], by_chip[("aws", "111111111111", "A100")]
    assert h100[utc(2026, 10, 1)] == pytest.approx(11.0) and a100[utc(2026, 10, 1)] == 3.5
    assert h100[utc(2026, 10, 6)] == 12.25 and a100[utc(2026, 10, 6)] == 2.0  # billing
    assert utc(2026, 10, 7) not in a100  # that account-day is billed, and billed no A100
    per_account = hours_by_day(store.usage.daily_hours(OCT))
    for (provider, account, _), days in by_chip.items():
        for day, hours in days.items():
            assert hours <= per_account[(provider, account)][day] + 1e-9


def test_training_runs_from_the_stores_series_equal_those_from_per_day_rows(
    store: Store, catalog: Catalog
) -> None:
    seeded(store)
    windows = [OCT, Window(utc(2026, 10, 5), utc(2026, 10, 12))]  # overlapping windows
    series = daily_series(store.usage.daily_hours(w) for w in windows)
    per_day = [r for w in windows for r in store.usage.daily_totals(w, BILLED_METRICS)]
    assert len(series) < len(per_day)
    args = (Registry([]), catalog, (0.1, 0.4, 0.6), utc(2026, 11, 2))
    old = detect_training_runs(per_day, *args)
    new = detect_training_runs(series, *args)
    assert [r.owner for r in new] == ["aws:444444444444"]  # the export's days 3-9 count
    assert (new[0].start, new[0].end) == (utc(2026, 10, 3), utc(2026, 10, 10))
    assert len(new) == len(old)
    for n, o in zip(new, old, strict=True):
        assert (n.owner, n.start, n.end, n.accounts, n.chips) == (
            o.owner,
            o.start,
            o.end,
            o.accounts,
            o.chips,
        )
        assert n.accelerator_hours == pytest.approx(o.accelerator_hours, rel=1e-12)
        assert n.peak_concurrent == pytest.approx(o.peak_concurrent, rel=1e-12)
