"""`Window`: a half-open UTC interval, and all calendar arithmetic of the product."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


def require_utc(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be an aware UTC datetime, got {value!r}")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Shorthand for an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


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

    @classmethod
    def month(cls, text: str) -> Window:
        """Parse 'YYYY-MM' into that calendar month."""
        m = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"month must look like 2026-10, got {text!r}")
        year, month = int(m.group(1)), int(m.group(2))
        end = utc(year + 1, 1, 1) if month == 12 else utc(year, month + 1, 1)
        return cls(utc(year, month, 1), end)

    @classmethod
    def quarter(cls, text: str) -> Window:
        """Parse 'YYYY-Qn' into that calendar quarter."""
        m = re.fullmatch(r"(\d{4})-[Qq]([1-4])", text)
        if not m:
            raise ValueError(f"quarter must look like 2026-Q3, got {text!r}")
        year, q = int(m.group(1)), int(m.group(2))
        start = utc(year, 3 * q - 2, 1)
        end = utc(year + 1, 1, 1) if q == 4 else utc(year, 3 * q + 1, 1)
        return cls(start, end)

    @classmethod
    def days(cls, first: date, last: date) -> Window:
        """Whole UTC days from `first` to `last`, both included."""
        return cls(
            utc(first.year, first.month, first.day),
            utc(last.year, last.month, last.day) + timedelta(days=1),
        )

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def clip(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The part of [start, end) inside this window, or None."""
        lo, hi = max(start, self.start), min(end, self.end)
        return (lo, hi) if hi > lo else None

    def day_windows(self) -> list[Window]:
        """The UTC days this window touches, each clipped to the window."""
        out: list[Window] = []
        day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < self.end:
            nxt = day + timedelta(days=1)
            lo, hi = max(day, self.start), min(nxt, self.end)
            out.append(Window(lo, hi))
            day = nxt
        return out

    def calendar_months(self) -> list[Window]:
        """The calendar months this window touches, unclipped."""
        out: list[Window] = []
        cur = Window.month(f"{self.start.year:04d}-{self.start.month:02d}")
        while cur.start < self.end:
            out.append(cur)
            cur = Window.month(f"{cur.end.year:04d}-{cur.end.month:02d}")
        return out

    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"
