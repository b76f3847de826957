"""store.reports: a scheduled report is recorded once per (kind, period)."""

from __future__ import annotations

from computewatch.domain import Window, utc
from computewatch.store import Store
from tests.helpers.store import NOV, OCT, produced

AT = utc(2026, 12, 1, 6)


def test_a_report_is_recorded_once_and_listed_by_period(store: Store) -> None:
    nov, oct_ = produced("monthly", NOV, "2026-11", AT), produced("monthly", OCT, "2026-10", AT)
    q4 = produced("quarterly", Window(OCT.start, utc(2027, 1, 1)), "2026-Q4", AT)
    assert store.reports.record(nov)
    assert store.reports.record(oct_)
    assert store.reports.record(q4)
    again = produced("monthly", NOV, "2026-11", utc(2026, 12, 2))
    assert not store.reports.record(again)
    assert store.reports.produced("monthly") == [oct_, nov]
    assert store.reports.produced("quarterly") == [q4]
    assert [r.period for r in store.reports.produced()] == ["2026-10", "2026-Q4", "2026-11"]
    assert store.reports.produced()[0].produced_at.tzinfo is not None
