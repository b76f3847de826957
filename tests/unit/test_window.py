"""Calendar arithmetic, all of it in `computewatch.domain.window`: month and quarter boundaries,
December to January, leap years, whole days, labels and due dates."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computewatch.domain import Window, utc
from computewatch.domain.window import (
    as_utc,
    day_start,
    month_start,
    quarter_number,
    shift_months,
)

moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)


# -- helpers ------------------------------------------------------------------------------------
def test_as_utc_converts_dates_and_other_zones_and_refuses_naive() -> None:
    assert as_utc(date(2026, 3, 1)) == utc(2026, 3, 1)
    east = datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(east) == utc(2025, 12, 31, 23, 30)
    with pytest.raises(ValueError, match="aware"):
        as_utc(datetime(2026, 1, 1))


def test_day_and_month_start() -> None:
    assert day_start(utc(2026, 10, 7, 23, 59)) == utc(2026, 10, 7)
    assert day_start(date(2028, 2, 29)) == utc(2028, 2, 29)
    assert month_start(utc(2026, 12, 31, 23, 59)) == utc(2026, 12, 1)
    # A moment east of UTC on the 1st is still the previous month in UTC.
    assert month_start(datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))) == utc(
        2026, 12, 1
    )


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (utc(2026, 12, 1), 1, utc(2027, 1, 1)),  # December -> January
        (utc(2027, 1, 1), -1, utc(2026, 12, 1)),
        (utc(2026, 1, 31), 1, utc(2026, 2, 28)),  # clamped to the month's end
        (utc(2028, 1, 31), 1, utc(2028, 2, 29)),  # leap year
        (utc(2026, 11, 15, 6), -26, utc(2024, 9, 15, 6)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_shift_months(moment: datetime | date, months: int, expected: datetime | date) -> None:
    assert shift_months(moment, months) == expected


@pytest.mark.parametrize(
    ("month", "quarter"), [(1, 1), (3, 1), (4, 2), (6, 2), (7, 3), (9, 3), (10, 4), (12, 4)]
)
def test_quarter_number(month: int, quarter: int) -> None:
    assert quarter_number(date(2026, month, 28)) == quarter


# -- construction -------------------------------------------------------------------------------
def test_month_parses_and_ends_at_the_next_month() -> None:
    assert Window.month("2026-12") == Window(utc(2026, 12, 1), utc(2027, 1, 1))
    assert Window.month("2028-02").hours == 29 * 24  # leap year
    assert Window.month("2026-02").hours == 28 * 24
    for bad in ("2026-13", "2026-00", "2026-1", "26-10", "2026/10"):
        with pytest.raises(ValueError, match="2026-10"):
            Window.month(bad)


def test_quarter_parses() -> None:
    assert Window.quarter("2026-Q4") == Window(utc(2026, 10, 1), utc(2027, 1, 1))
    assert Window.quarter("2026-q1") == Window(utc(2026, 1, 1), utc(2026, 4, 1))
    for bad in ("2026-Q5", "2026-Q0", "2026Q1"):
        with pytest.raises(ValueError, match="2026-Q3"):
            Window.quarter(bad)


def test_days_includes_both_ends() -> None:
    w = Window.days(date(2028, 2, 28), date(2028, 3, 1))
    assert w == Window(utc(2028, 2, 28), utc(2028, 3, 2)) and w.hours == 3 * 24


def test_of_moment() -> None:
    at = utc(2026, 12, 31, 23, 59)
    assert Window.day_of(at) == Window(utc(2026, 12, 31), utc(2027, 1, 1))
    assert Window.month_of(at) == Window.month("2026-12")
    assert Window.quarter_of(at) == Window.quarter("2026-Q4")
    assert Window.quarter_of(date(2026, 4, 1)) == Window.quarter("2026-Q2")
    assert Window.period_of(at, 12) == Window(utc(2026, 1, 1), utc(2027, 1, 1))
    assert Window.period_of(at, 6) == Window(utc(2026, 7, 1), utc(2027, 1, 1))
    with pytest.raises(ValueError, match="1, 2, 3, 4, 6 or 12"):
        Window.period_of(at, 5)


def test_current_and_previous_month() -> None:
    assert Window.current_month(utc(2026, 11, 1, 0, 5)) == Window.current_month(
        utc(2026, 11, 30, 23)
    )
    assert Window.current_month(utc(2026, 12, 9)) == Window(utc(2026, 12, 1), utc(2027, 1, 1))
    assert Window.previous_month(utc(2027, 1, 1)) == Window.month("2026-12")
    assert Window.previous_month(utc(2026, 12, 31, 23, 59)) == Window.month("2026-11")
    assert Window.previous_month(utc(2028, 3, 1, 12)) == Window.month("2028-02")


@given(moments)
def test_month_and_quarter_hold_the_moment(moment: datetime) -> None:
    month, quarter = Window.month_of(moment), Window.quarter_of(moment)
    assert month.contains(moment) and quarter.contains(moment)
    assert month.start.day == 1 and month.start.time().hour == 0
    assert quarter.start.month in (1, 4, 7, 10)
    assert quarter.calendar_months()[0] == Window.month_of(quarter.start)
    assert len(quarter.calendar_months()) == 3
    assert Window.previous_month(moment).end == month.start


# -- questions ----------------------------------------------------------------------------------
def test_full_day_checks() -> None:
    assert Window.day_of(utc(2026, 10, 3, 12)).is_full_day()
    assert not Window(utc(2026, 10, 3, 1), utc(2026, 10, 4)).is_full_day()
    assert not Window(utc(2026, 10, 3), utc(2026, 10, 5)).is_full_day()
    w = Window(utc(2026, 10, 3, 6), utc(2026, 10, 6, 6))
    assert w.full_days() == [date(2026, 10, 4), date(2026, 10, 5)]
    assert Window(utc(2026, 10, 3, 6), utc(2026, 10, 3, 7)).full_days() == []


def test_last_day_and_due_dates() -> None:
    assert Window.month("2026-12").last_day() == date(2026, 12, 31)
    assert Window.month("2028-02").last_day() == date(2028, 2, 29)
    expected = {1: date(2026, 4, 15), 2: date(2026, 7, 15), 3: date(2026, 10, 15)}
    for q, due in expected.items():
        assert Window.quarter(f"2026-Q{q}").due_date() == due
    assert Window.quarter("2026-Q4").due_date() == date(2027, 1, 15)  # December -> January
    assert Window.month("2026-12").due_date(1) == date(2027, 1, 1)
    # A period cut mid-month is due after the month of its last day.
    assert Window(utc(2026, 12, 1), utc(2026, 12, 10)).due_date() == date(2027, 1, 15)


def test_labels() -> None:
    assert Window.month("2026-10").month_label() == "2026-10"
    assert Window.quarter("2026-Q4").quarter_label() == "2026-Q4"
    assert Window.month("2027-01").quarter_label() == "2027-Q1"
    assert Window.month("2026-10").label() == "2026-10-01T00:00:00+00:00/2026-11-01T00:00:00+00:00"


# -- derived windows ----------------------------------------------------------------------------
def test_shifted_months_and_quarters() -> None:
    assert Window.month("2026-12").shifted(1) == Window.month("2027-01")
    assert Window.month("2026-03").shifted(-1) == Window.month("2026-02")
    assert Window.quarter("2026-Q4").shifted(3) == Window.quarter("2027-Q1")
    assert Window.quarter("2026-Q1").shifted(-3) == Window.quarter("2025-Q4")


def test_intersection_and_clip() -> None:
    oct_ = Window.month("2026-10")
    assert oct_.intersection(Window.month("2026-11")) is None
    part = Window(utc(2026, 9, 30), utc(2026, 10, 2))
    assert oct_.intersection(part) == Window(utc(2026, 10, 1), utc(2026, 10, 2))
    assert oct_.clip(utc(2026, 10, 31), utc(2027, 1, 1)) == (utc(2026, 10, 31), utc(2026, 11, 1))


def test_day_windows_clip_the_ends() -> None:
    w = Window(utc(2026, 12, 31, 18), utc(2027, 1, 2, 6))
    assert w.day_windows() == [
        Window(utc(2026, 12, 31, 18), utc(2027, 1, 1)),
        Window(utc(2027, 1, 1), utc(2027, 1, 2)),
        Window(utc(2027, 1, 2), utc(2027, 1, 2, 6)),
    ]
    assert len(Window.month("2028-02").day_windows()) == 29


def test_calendar_months_and_quarters_touched() -> None:
    w = Window(utc(2026, 11, 15), utc(2027, 2, 1))
    assert [m.month_label() for m in w.calendar_months()] == ["2026-11", "2026-12", "2027-01"]
    assert [q.quarter_label() for q in w.calendar_quarters()] == ["2026-Q4", "2027-Q1"]
    assert Window.month("2026-10").calendar_quarters() == [Window.quarter("2026-Q4")]


@given(moments, st.integers(min_value=1, max_value=400))
def test_day_windows_tile_the_window(start: datetime, hours: int) -> None:
    w = Window(start, start + timedelta(hours=hours))
    days = w.day_windows()
    assert days[0].start == w.start and days[-1].end == w.end
    assert all(a.end == b.start for a, b in itertools.pairwise(days))
    assert all(d.start.date() == d.last_day() for d in days)
