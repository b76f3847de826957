"""store.coverage: what each run read of each unit, and what failed (never a zero)."""

from __future__ import annotations

from datetime import date, timedelta

from computewatch.domain import SAMPLING_GAP, CoverageStatus, Window, utc
from computewatch.store import Store
from tests.helpers.store import NOV, OCT, entry

OK, FAILED = CoverageStatus.OK, CoverageStatus.FAILED


def run_id(store: Store) -> int:
    return store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)


def test_coverage_round_trips_per_run_in_order(store: Store) -> None:
    first, second = run_id(store), run_id(store)
    entries = [entry(), entry(FAILED, region="us-west-2"), entry(region="eu-west-1")]
    store.coverage.write(first, entries, utc(2026, 11, 2))
    store.coverage.write(second, [entry(FAILED)], utc(2026, 11, 3))
    store.coverage.write(second, [], utc(2026, 11, 3))
    assert store.coverage.for_run(first) == entries
    assert store.coverage.for_run(second) == [entry(FAILED)]
    assert store.coverage.for_run(first)[0].period_start.tzinfo is not None
    assert store.coverage.for_run(999) == []


def test_read_times_inside_and_the_last_before(store: Store) -> None:
    run = run_id(store)
    t = utc(2026, 11, 10)
    for hours in (-5, -3, 1, 2, 4):  # -5, -3 before `since`; 4 at `before` (excluded)
        store.coverage.write(run, [entry(window=NOV)], t + timedelta(hours=hours))
    store.coverage.write(run, [entry(FAILED, window=NOV)], t + timedelta(hours=3))  # not a read
    store.coverage.write(run, [entry(collector="azure.vm", window=NOV)], t)
    store.coverage.write(run, [entry(collector="other", window=NOV)], t)
    got = store.coverage.read_times(["aws.ec2", "azure.vm"], t, t + timedelta(hours=4))
    unit = ("aws", "111111111111", "us-east-1", "aws.ec2")
    assert got == {
        unit: [t - timedelta(hours=3), t + timedelta(hours=1), t + timedelta(hours=2)],
        ("aws", "111111111111", "us-east-1", "azure.vm"): [t],
    }
    assert store.coverage.read_times([], t, t + timedelta(hours=4)) == {}


def test_for_window_carries_the_latest_read_of_exactly_that_window(store: Store) -> None:
    old, new, other = run_id(store), run_id(store), run_id(store)
    gap = entry(FAILED, code=SAMPLING_GAP)
    store.coverage.write(old, [entry(FAILED), entry(region="eu-west-1")], utc(2026, 11, 1))
    store.coverage.write(new, [entry(), gap], utc(2026, 11, 2))
    store.coverage.write(other, [entry(FAILED, window=NOV)], utc(2026, 11, 3))  # other window
    got = store.coverage.for_window(OCT)
    assert got == {
        ("aws", "111111111111", "us-east-1", "aws.ec2"): [entry(), gap],
        ("aws", "111111111111", "eu-west-1", "aws.ec2"): [entry(region="eu-west-1")],
    }
    assert store.coverage.for_window(Window.month("2026-09")) == {}


def test_final_days_read_long_enough_after_they_ended(store: Store) -> None:
    run = run_id(store)
    week = Window(utc(2026, 10, 1, 12), utc(2026, 10, 5))  # starts mid-day: Oct 1 is partial
    store.coverage.write(run, [entry(window=week)], utc(2026, 10, 6, 1))
    store.coverage.write(run, [entry(FAILED, window=OCT)], utc(2026, 12, 1))  # failed: no day
    store.coverage.write(run, [entry(collector="other", window=OCT)], utc(2026, 12, 1))
    days = store.coverage.final_days("aws", "aws.ec2", timedelta(days=1))
    assert days == {date(2026, 10, 2), date(2026, 10, 3), date(2026, 10, 4)}
    assert store.coverage.final_days("aws", "aws.ec2", timedelta(days=2)) == {
        date(2026, 10, 2),
        date(2026, 10, 3),
    }
    assert store.coverage.final_days("azure", "aws.ec2", timedelta(0)) == frozenset()


def test_latest_read_per_unit_and_api_errors(store: Store) -> None:
    good, bad = run_id(store), run_id(store)
    t = utc(2026, 11, 20, 10)
    store.coverage.write(
        good,
        [
            entry(FAILED, code=SAMPLING_GAP),  # found with the read that follows
            entry(),
            entry(FAILED, account="222222222222"),
            entry(FAILED, account="222222222222", collector="aws.bedrock", code="Throttling"),
        ],
        t,
    )
    store.coverage.write(bad, [entry(FAILED, account="222222222222")], t + timedelta(hours=1))
    latest = store.coverage.latest()
    got = {(e.account_id, e.collector): (e.status, at) for e, at in latest}
    assert got == {
        ("111111111111", "aws.ec2"): (OK, t),
        ("222222222222", "aws.ec2"): (FAILED, t + timedelta(hours=1)),
        ("222222222222", "aws.bedrock"): (FAILED, t),
    }
    assert store.coverage.api_errors() == {
        ("aws", "aws.ec2", "AccessDenied"): 2,
        ("aws", "aws.bedrock", "Throttling"): 1,
    }
