"""Daily simultaneous peaks kept by the interval fold (both backends): after every hourly batch
of observations, a window's peak from the stored days equals sweeping all its stored intervals
at once; a restart gap, a chip change, a stop and relaunch and two regions included. Migration
14 backfills the same figures for intervals stored before it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from computewatch.domain import Observation, Window, utc
from computewatch.domain.concurrency import simultaneous_peaks
from computewatch.store import Store
from computewatch.store.peaks import backfill
from computewatch.store.schema import daily_peaks
from tests.helpers.store import observation

NOV = Window.month("2026-11")
T0 = utc(2026, 11, 1)
H = timedelta(hours=1)


def fleet_at(hour: int) -> list[Observation]:
    """Four instances in two accounts and two regions, launched, stopped and relaunched."""
    now = T0 + hour * H
    out = []
    for k, (account, region) in enumerate(
        [
            ("111111111111", "us-east-1"),
            ("111111111111", "eu-west-1"),
            ("222222222222", "us-east-1"),
        ]
        * 2
    ):
        period, running, offset = 20 + 7 * k, 9 + 5 * k, 3 * k
        launched = T0 + H * (offset + ((hour - offset) // period) * period)
        if hour < offset:
            continue
        stopped = launched + running * H
        o = observation(f"i-{k}", now, launched, None if now < stopped else stopped)
        o = replace(o, account_id=account, region=region, state="running")
        if k == 3 and hour >= 40:  # the same instance, now read as another chip
            o = replace(o, sku="p4d.24xlarge", accelerator="A100")
        out.append(o)
    return out


def swept(store: Store, window: Window) -> dict[tuple[str, str], object]:
    history = store.intervals.history(window, before=utc(2100, 1, 1))
    return simultaneous_peaks([o for per in history.values() for o in per], window)


def test_hour_by_hour_peaks_equal_sweeping_the_month(store: Store) -> None:
    run = store.runs.start(NOV, T0, "t", "0" * 64)
    for hour in [*range(0, 30), *range(41, 75)]:  # 11 hours down in between
        store.usage.write_observations(run, fleet_at(hour))
        for window in (NOV, Window(T0, T0 + timedelta(days=2)), Window.month("2026-10")):
            assert store.peaks.for_window(window) == swept(store, window), (hour, window)
    assert store.peaks.for_window(NOV)  # something was measured


def test_migration_backfills_the_daily_peaks(store: Store) -> None:
    run = store.runs.start(NOV, T0, "t", "0" * 64)
    for hour in range(0, 50, 3):
        store.usage.write_observations(run, fleet_at(hour))
    expected = store.peaks.for_window(NOV)
    with store.engine.begin() as conn:
        conn.execute(sa.delete(daily_peaks))
    assert store.peaks.for_window(NOV) == {}
    with store.engine.begin() as conn:
        backfill(conn)
    assert store.peaks.for_window(NOV) == expected == swept(store, NOV)
