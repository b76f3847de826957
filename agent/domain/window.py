"""`Window`: a half-open UTC interval, and all calendar arithmetic of the product.

Month and quarter steps go through dateutil's `relativedelta`, so month lengths, December to
January and leap years are never worked out by hand anywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from dateutil.relativedelta import relativedelta

DAY = timedelta(days=1)
QUARTER_MONTHS = 3
NOTICE_DAY = 15  # quarterly notices are due on the 15th of the month after the quarter ends

D = TypeVar("D", date, datetime)


def require_utc(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be an aware UTC datetime, got {value!r}")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Shorthand for an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def as_utc(moment: date | datetime) -> datetime:
    """`moment` as an aware UTC datetime; a date is its UTC midnight, a naive datetime an error
    (its zone would be a guess)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"an aware datetime is needed, got {moment!r}")
        return moment.astimezone(UTC)
    return datetime.combine(moment, time(), tzinfo=UTC)


def day_start(moment: date | datetime) -> datetime:
    """Midnight UTC of the day holding `moment`."""
    at = as_utc(moment)
    return datetime.combine(at.date(), time(), tzinfo=UTC)


def month_start(moment: date | datetime) -> datetime:
    """Midnight UTC on the first of the month holding `moment`."""
    return day_start(as_utc(moment).date().replace(day=1))


def shift_months(moment: D, months: int) -> D:
    """`moment` moved by whole calendar months; a day past the new month's end becomes its last
    day (31 January + 1 month is 28 or 29 February)."""
    shifted: D = moment + relativedelta(months=months)
    return shifted


def quarter_number(moment: date | datetime) -> int:
    """1 to 4: the calendar quarter of `moment` (UTC)."""
    return (as_utc(moment).month - 1) // QUARTER_MONTHS + 1


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval [start, end); the clock never enters `evaluate`, windows do."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_utc("start", self.start)
        require_utc("end", self.end)
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} is not after start {self.start}")

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def month(cls, text: str) -> Window:
        """Parse 'YYYY-MM' into that calendar month."""
        m = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"month must look like 2026-10, got {text!r}")
        return cls.month_of(date(int(m.group(1)), int(m.group(2)), 1))

    @classmethod
    def quarter(cls, text: str) -> Window:
        """Parse 'YYYY-Qn' into that calendar quarter."""
        m = re.fullmatch(r"(\d{4})-[Qq]([1-4])", text)
        if not m:
            raise ValueError(f"quarter must look like 2026-Q3, got {text!r}")
        first_month = QUARTER_MONTHS * (int(m.group(2)) - 1) + 1
        return cls.quarter_of(date(int(m.group(1)), first_month, 1))

    @classmethod
    def days(cls, first: date, last: date) -> Window:
        """Whole UTC days from `first` to `last`, both included."""
        return cls(day_start(first), day_start(last) + DAY)

    @classmethod
    def period_of(cls, moment: date | datetime, months: int) -> Window:
        """The calendar period of `months` months (1: month, 3: quarter, 12: year; periods start
        in January) that holds `moment`."""
        if months < 1 or 12 % months:
            raise ValueError(f"a calendar period is 1, 2, 3, 4, 6 or 12 months, not {months}")
        first = month_start(moment)
        start = shift_months(first, -((first.month - 1) % months))
        return cls(start, shift_months(start, months))

    @classmethod
    def day_of(cls, moment: date | datetime) -> Window:
        """The UTC day holding `moment`."""
        start = day_start(moment)
        return cls(start, start + DAY)

    @classmethod
    def month_of(cls, moment: date | datetime) -> Window:
        """The calendar month holding `moment`."""
        return cls.period_of(moment, 1)

    @classmethod
    def quarter_of(cls, moment: date | datetime) -> Window:
        """The calendar quarter holding `moment`."""
        return cls.period_of(moment, QUARTER_MONTHS)

    @classmethod
    def current_month(cls, now: datetime) -> Window:
        """The whole calendar month of `now` (not cut at `now`): the window, hence every finding
        id judged over it, stays the same all month."""
        return cls.month_of(now)

    @classmethod
    def previous_month(cls, now: datetime) -> Window:
        """The last full calendar month before `now`: the default audit period."""
        return cls.month_of(now).shifted(-1)

    # -- questions --------------------------------------------------------------------------
    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def is_full_day(self) -> bool:
        """Exactly one whole UTC day, midnight to midnight."""
        return self.start == day_start(self.start) and self.end == self.start + DAY

    def last_day(self) -> date:
        """The UTC day holding the window's last instant (the end is exclusive)."""
        return (self.end - timedelta(microseconds=1)).date()

    def due_date(self, day: int = NOTICE_DAY) -> date:
        """The `day`th of the month after the window's last day: for a quarter, when its
        notices are due (15 January, April, July, October)."""
        return shift_months(self.last_day().replace(day=1), 1).replace(day=day)

    def month_label(self) -> str:
        """'2026-10': the month the window starts in."""
        return f"{self.start:%Y-%m}"

    def quarter_label(self) -> str:
        """'2026-Q4': the quarter the window starts in."""
        return f"{self.start.year}-Q{quarter_number(self.start)}"

    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    # -- derived windows --------------------------------------------------------------------
    def shifted(self, months: int) -> Window:
        """Both ends moved by `months` calendar months, for windows on month boundaries: a
        calendar month or quarter becomes another one (a month moved by -1 is the month before)."""
        return Window(shift_months(self.start, months), shift_months(self.end, months))

    def clip(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The part of [start, end) inside this window, or None."""
        lo, hi = max(start, self.start), min(end, self.end)
        return (lo, hi) if hi > lo else None

    def intersection(self, other: Window) -> Window | None:
        """The part of `other` inside this window, or None."""
        clipped = self.clip(other.start, other.end)
        return None if clipped is None else Window(*clipped)

    def day_windows(self) -> list[Window]:
        """The UTC days this window touches, each clipped to the window."""
        out: list[Window] = []
        day = Window.day_of(self.start)
        while day.start < self.end:
            part = self.intersection(day)
            assert part is not None  # every day from the start's to the end's overlaps
            out.append(part)
            day = Window(day.end, day.end + DAY)
        return out

    def full_days(self) -> list[date]:
        """The UTC days lying wholly inside this window."""
        return [w.start.date() for w in self.day_windows() if w.is_full_day()]

    def calendar_periods(self, months: int) -> list[Window]:
        """The calendar periods of `months` months this window touches, unclipped."""
        out: list[Window] = []
        cur = Window.period_of(self.start, months)
        while cur.start < self.end:
            out.append(cur)
            cur = cur.shifted(months)
        return out

    def calendar_months(self) -> list[Window]:
        """The calendar months this window touches, unclipped."""
        return self.calendar_periods(1)

    def calendar_quarters(self) -> list[Window]:
        """The calendar quarters this window touches, unclipped."""
        return self.calendar_periods(QUARTER_MONTHS)
