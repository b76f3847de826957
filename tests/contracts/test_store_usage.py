"""store.usage: records, observations and accounts; sums pushed into SQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from computewatch.domain import Account, DailyRow, Method, Metric, Peak, Total, Window, utc
from computewatch.store import Store
from tests.helpers.store import OCT, observation, rec

PEAK = Metric.PEAK_CONCURRENT_ACCELERATORS


def run_id(store: Store) -> int:
    return store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)


def test_writing_the_same_period_twice_replaces(store: Store) -> None:
    run = run_id(store)
    batch = [rec(d, 24.0 * 8) for d in range(1, 11)] + [rec(5, 8.0, rid="i-2", chip="A100")]
    assert store.usage.write(run, batch, utc(2026, 11, 2)) == 11
    first = store.usage.totals(OCT)
    assert store.usage.write(run, batch, utc(2026, 11, 3)) == 11
    assert store.usage.totals(OCT) == first
    assert store.usage.count() == 11
    # A re-collection with a corrected figure replaces the old one instead of adding to it.
    store.usage.write(run, [rec(1, 100.0)], utc(2026, 11, 4))
    h100 = [t for t in store.usage.totals(OCT) if t.accelerator == "H100"]
    assert h100[0].quantity == pytest.approx(9 * 192 + 100)
    assert store.usage.count() == 11


def test_a_repeated_key_in_one_batch_counts_once_last_wins(store: Store) -> None:
    assert store.usage.write(run_id(store), [rec(1, 5.0), rec(1, 7.0)], utc(2026, 11, 2)) == 1
    assert [t.quantity for t in store.usage.totals(OCT)] == [7.0]


def test_batches_larger_than_one_round_trip(store: Store) -> None:
    batch = [rec(1 + i % 30, 1.0, rid=f"i-{i}") for i in range(1234)]
    assert store.usage.write(run_id(store), batch, utc(2026, 11, 2)) == 1234
    assert store.usage.count() == 1234
    assert sum(t.quantity for t in store.usage.totals(OCT)) == pytest.approx(1234)


def test_totals_respect_window_and_accounts(store: Store) -> None:
    run = run_id(store)
    store.usage.write(
        run, [rec(1, 10.0), rec(2, 20.0), rec(2, 5.0, account="222222222222")], utc(2026, 11, 2)
    )
    day1 = Window(utc(2026, 10, 1), utc(2026, 10, 2))
    assert [t.quantity for t in store.usage.totals(day1)] == [10.0]
    only = store.usage.totals(OCT, [("aws", "222222222222")])
    assert [(t.account_id, t.quantity) for t in only] == [("222222222222", 5.0)]
    assert store.usage.totals(OCT, []) == []
    assert store.usage.totals(Window.month("2026-09")) == []


def test_totals_group_down_to_chip_sku_and_method(store: Store) -> None:
    run = run_id(store)
    store.usage.write(
        run,
        [
            rec(1, 10.0),
            rec(2, 20.0, rid="i-2"),
            rec(3, 4.0, method=Method.BILLING),
            rec(3, 1.0, chip="A100", sku="p4d.24xlarge", rid="i-3"),
        ],
        utc(2026, 11, 2),
    )
    totals = store.usage.totals(OCT)
    assert all(isinstance(t, Total) for t in totals)
    got = {(t.accelerator, t.sku, t.method): t.quantity for t in totals}
    assert got == {
        ("A100", "p4d.24xlarge", "launch-time-estimate"): 1.0,
        ("H100", "p5.48xlarge", "billing"): 4.0,
        ("H100", "p5.48xlarge", "launch-time-estimate"): 30.0,
    }


def test_peaks_sum_regions_per_day_then_take_the_largest_day(store: Store) -> None:
    store.usage.write(
        run_id(store),
        [
            rec(1, 8, metric=PEAK),
            rec(1, 16, region="us-west-2", metric=PEAK),
            rec(2, 20, metric=PEAK),
            rec(2, 100, metric=Metric.ACCELERATOR_HOURS),
        ],
        utc(2026, 11, 2),
    )
    assert store.usage.peaks(OCT) == [
        Peak("aws", "111111111111", "H100", "launch-time-estimate", 24.0)
    ]
    assert all(t.metric != str(PEAK) for t in store.usage.totals(OCT))
    assert store.usage.peaks(OCT, [("aws", "222222222222")]) == []


def test_daily_totals_per_day_metric_and_method(store: Store) -> None:
    store.usage.write(
        run_id(store),
        [
            rec(1, 10.0),
            rec(1, 5.0, rid="i-2"),
            rec(1, 7.0, rid="i-9", method=Method.BILLING),
            rec(2, 3.0),
            rec(2, 9.0, metric=PEAK),
            rec(3, 1.0, account="222222222222"),
        ],
        utc(2026, 11, 2),
    )
    hours = [str(Metric.ACCELERATOR_HOURS)]
    rows = store.usage.daily_totals(OCT, hours, [("aws", "111111111111")])
    day1, day2 = utc(2026, 10, 1), utc(2026, 10, 2)
    assert rows == [
        DailyRow("aws", "111111111111", "accelerator_hours", "H100", "p5.48xlarge", "billing", day1, 7.0),
        DailyRow(
            "aws", "111111111111", "accelerator_hours", "H100", "p5.48xlarge",
            "launch-time-estimate", day1, 15.0,
        ),
        DailyRow(
            "aws", "111111111111", "accelerator_hours", "H100", "p5.48xlarge",
            "launch-time-estimate", day2, 3.0,
        ),
    ]  # fmt: skip
    assert rows[0].day.tzinfo is not None
    assert len(store.usage.daily_totals(OCT, hours)) == 4
    assert [r.quantity for r in store.usage.daily_totals(OCT, [str(PEAK)])] == [9.0]


def test_observations_upsert_and_the_window_they_prove(store: Store) -> None:
    run = run_id(store)
    t = utc(2026, 10, 10)
    store.usage.write_observations(
        run,
        [
            observation("i-1", t, t - timedelta(days=1)),  # running at the window's start
            observation("i-2", t + timedelta(hours=1), t, t + timedelta(minutes=30)),
            observation("i-3", utc(2026, 9, 10), utc(2026, 9, 1), utc(2026, 9, 2)),  # September
            observation("i-4", utc(2026, 10, 16), utc(2026, 10, 10, 12)),  # observed too late
        ],
    )
    # Observing the same resource at the same moment again replaces the observation.
    store.usage.write_observations(run, [observation("i-1", t, t - timedelta(days=2))])
    window = Window(utc(2026, 10, 9), utc(2026, 10, 11))
    got = store.usage.observations(window, before=utc(2026, 10, 15))
    assert [(o.resource_id, o.started_at, o.ended_at) for o in got] == [
        ("i-1", t - timedelta(days=2), None),
        ("i-2", t, t + timedelta(minutes=30)),
    ]
    assert got[0].observed_at == t and got[0].count == 8
    assert store.usage.observations(window, before=t) == []


def test_account_names_upsert(store: Store) -> None:
    store.usage.save_accounts([Account("aws", "1", "old"), Account("aws", "2", "two")])
    store.usage.save_accounts([Account("aws", "1", "new"), Account("aws", "1", "newest")])
    assert store.usage.account_names() == {("aws", "1"): "newest", ("aws", "2"): "two"}
    store.usage.save_accounts([])
    assert len(store.usage.account_names()) == 2
