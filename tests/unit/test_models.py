from datetime import UTC, date, datetime, timedelta

import pytest

from computewatch.domain import (
    CoverageEntry,
    CoverageStatus,
    Dimensions,
    Method,
    Metric,
    UsageRecord,
    Window,
    utc,
)


def record(**over: object) -> UsageRecord:
    base: dict[str, object] = {
        "provider": "aws",
        "account_id": "111111111111",
        "region": "us-east-1",
        "collector": "aws.ec2",
        "metric": Metric.ACCELERATOR_HOURS,
        "unit": "accelerator-hours",
        "dimensions": Dimensions(sku="p5.48xlarge", accelerator="H100", resource_id="i-1"),
        "period_start": utc(2026, 10, 1),
        "period_end": utc(2026, 10, 2),
        "quantity": 192.0,
        "method": Method.LAUNCH_TIME_ESTIMATE,
    }
    base.update(over)
    return UsageRecord(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-10", utc(2026, 10, 1), utc(2026, 11, 1)),
        ("2026-12", utc(2026, 12, 1), utc(2027, 1, 1)),
        ("2024-02", utc(2024, 2, 1), utc(2024, 3, 1)),
    ],
)
def test_month_windows(text: str, start: datetime, end: datetime) -> None:
    w = Window.month(text)
    assert (w.start, w.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("2026-Q1", utc(2026, 1, 1), utc(2026, 4, 1)), ("2026-q4", utc(2026, 10, 1), utc(2027, 1, 1))],
)
def test_quarter_windows(text: str, start: datetime, end: datetime) -> None:
    w = Window.quarter(text)
    assert (w.start, w.end) == (start, end)


@pytest.mark.parametrize("bad", ["2026-13", "26-10", "2026/10", "", "2026-00"])
def test_bad_month_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="month"):
        Window.month(bad)


def test_days_window_includes_last_day() -> None:
    w = Window.days(date(2026, 10, 5), date(2026, 10, 7))
    assert w.hours == 72


def test_window_requires_aware_utc() -> None:
    with pytest.raises(ValueError, match="aware UTC"):
        Window(datetime(2026, 1, 1), utc(2026, 2, 1))
    with pytest.raises(ValueError, match="not after"):
        Window(utc(2026, 2, 1), utc(2026, 1, 1))


def test_day_windows_clip_partial_days() -> None:
    w = Window(utc(2026, 10, 1, 12), utc(2026, 10, 3, 6))
    days = w.day_windows()
    assert [(d.start, d.end) for d in days] == [
        (utc(2026, 10, 1, 12), utc(2026, 10, 2)),
        (utc(2026, 10, 2), utc(2026, 10, 3)),
        (utc(2026, 10, 3), utc(2026, 10, 3, 6)),
    ]


def test_calendar_months_spanned() -> None:
    w = Window(utc(2026, 11, 20), utc(2027, 1, 5))
    assert [m.start.month for m in w.calendar_months()] == [11, 12, 1]


def test_record_key_ignores_quantity_but_not_identity() -> None:
    a, b = record(quantity=1.0), record(quantity=2.0)
    assert a.key == b.key
    assert record(region="us-west-2").key != a.key
    assert record(period_start=utc(2026, 10, 1, 1)).key != a.key
    assert (
        record(dimensions=Dimensions(sku="p5.48xlarge", accelerator="H100", resource_id="i-2")).key
        != a.key
    )


def test_record_validation() -> None:
    with pytest.raises(ValueError, match="negative"):
        record(quantity=-1.0)
    with pytest.raises(ValueError, match="after"):
        record(period_end=utc(2026, 10, 1))
    with pytest.raises(ValueError, match="account_id"):
        record(account_id="")
    with pytest.raises(ValueError, match="aware"):
        record(period_start=datetime(2026, 10, 1))


def test_failed_coverage_needs_error_code() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="error code"):
        CoverageEntry(
            "aws", "1", "us-east-1", "aws.ec2", now, now + timedelta(hours=1), CoverageStatus.FAILED
        )
