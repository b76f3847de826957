"""The measure billing supersedes, summed in SQL (one row per account × chip × sku × method),
gives exactly what the per-day rows summed in Python give: quantities, methods, the
billing/inventory reconciliation and the daily chart; on both backends."""

from __future__ import annotations

import pytest

from computewatch.domain import Account, Method, Metric, Window, utc
from computewatch.engine.usage import (
    BILLED_METRICS,
    build_account_usage,
    chip_hours_by_day,
    daily_accelerator_hours,
    daily_chip_hours,
    hours_by_day,
)
from computewatch.store import Store
from tests.helpers.store import OCT, rec

B, E = Method.BILLING, Method.LAUNCH_TIME_ESTIMATE
ACCOUNTS = [Account("aws", a, a) for a in ("111111111111", "222222222222", "333333333333")]


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
    store.usage.write(run, records, utc(2026, 11, 2))


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
        assert new[0].reconciliation  # the overlap is there to compare
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
    by_chip = chip_hours_by_day(store.usage.daily_hours(OCT, None))
    assert by_chip.keys() == daily_chip_hours(daily).keys()
    for key, days in daily_chip_hours(daily).items():
        assert by_chip[key] == pytest.approx(days, rel=1e-12)
    h100, a100 = by_chip[("aws", "111111111111", "H100")], by_chip[("aws", "111111111111", "A100")]
    assert h100[utc(2026, 10, 1)] == pytest.approx(11.0) and a100[utc(2026, 10, 1)] == 3.5
    assert h100[utc(2026, 10, 6)] == 12.25 and a100[utc(2026, 10, 6)] == 2.0  # billing
    assert utc(2026, 10, 7) not in a100  # that account-day is billed, and billed no A100
    per_account = hours_by_day(store.usage.daily_hours(OCT, None))
    for (provider, account, _), days in by_chip.items():
        for day, hours in days.items():
            assert hours <= per_account[(provider, account)][day] + 1e-9
