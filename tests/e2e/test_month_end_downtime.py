"""A daemon down across the month's end: the month's report finds a sampling gap only for the
hours actually missed, per unit, and names them once as downtime with the accounts it touches;
reads on the next month's first hours close the gap at the window's end, not later."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from computewatch.domain import SAMPLING_GAP, CoverageEntry, Window
from computewatch.engine.downtime import Downtime, sampling_downtime
from computewatch.pipeline.audit import AuditRequest, run_audit
from computewatch.pipeline.jobs import collect_job
from computewatch.pipeline.loading import load_config
from tests.helpers.fleet import Fleet, SimClock, fleet_config, install
from tests.helpers.paths import REPO

OCT, NOV = Window.month("2026-10"), Window.month("2026-11")
H, M5 = timedelta(hours=1), timedelta(minutes=5)


def gaps(entries: tuple[CoverageEntry, ...]) -> set[tuple[str, str, object, object]]:
    return {
        (e.account_id, e.region, e.period_start, e.period_end)
        for e in entries
        if e.error_code == SAMPLING_GAP
    }


@pytest.mark.parametrize(
    ("down", "missed"),
    [
        # Down from 21:00 on the 31st to 03:00 on the 1st: Oct misses 20:05-24:00, Nov 00:00-03:05.
        (range(-3, 3), (OCT.end - 4 * H + M5, OCT.end)),
        # Down only after midnight (last read 23:05): October has no gap at all.
        (range(0, 4), None),
    ],
)
def test_gap_limited_to_the_hours_missed(
    down: range, missed: tuple[object, object] | None, tmp_path: Path, sqlite_url: str
) -> None:
    clock = SimClock(OCT.end)
    fleet = Fleet(accounts=3, per_region=2, clock=clock)
    undo = install(fleet)
    try:
        config = load_config(
            fleet_config(tmp_path, sqlite_url, REPO / "config" / "rules" / "example.yaml")
        )
        for h in range(-8, 6):
            if h in down:
                continue
            clock.now = OCT.end + h * H + M5
            nov = collect_job(config, clock)
        clock.now = OCT.end + 6 * H  # the monthly report at 06:00 on the 1st
        request = AuditRequest(
            window=OCT,
            now=clock.now,
            out_dir=tmp_path / "r",
            formats=["json", "md", "html"],
            bundle=False,
        )
        result = run_audit(config, request)
        report = result.assessment.coverage
    finally:
        undo()
    units = {(a, r) for a in fleet.account_ids() for r in fleet.regions}
    doc = json.loads(result.paths["json"].read_text("utf-8"))
    md, html = (result.paths[f].read_text("utf-8") for f in ("md", "html"))
    if missed is None:
        assert gaps(report.gaps) == set() and report.downtime == ()
        assert doc["coverage"]["downtime"] == [] and "Daemon downtime" not in md + html
        return
    start, end = missed
    assert gaps(report.gaps) == {(a, r, start, end) for a, r in units}
    everyone = tuple(f"aws:{a}" for a in fleet.account_ids())
    assert report.downtime == (Downtime(start, end, everyone, len(units)),)  # type: ignore[arg-type]
    assert "(3.9 h) in 3 account(s), 6 unit(s)" in report.downtime[0].describe()
    # The report says which hours were missed and which accounts they touch.
    assert doc["coverage"]["downtime"] == [
        {
            "start": start.isoformat(),  # type: ignore[attr-defined]
            "end": end.isoformat(),  # type: ignore[attr-defined]
            "hours": pytest.approx(3 + 55 / 60, abs=1e-4),
            "accounts": list(everyone),
            "units": 6,
        }
    ]
    row = "| 2026-10-31 20:05 | 2026-11-01 00:00 | 3.9 | 6 | all 3 accounts |"
    assert "Daemon downtime" in md and row in md
    assert "Daemon downtime" in html and "2026-10-31 20:05" in html and "all 3 accounts" in html
    # The hourly run after the restart: November's gap ends at that read.
    assert {(s, e) for *_, s, e in gaps(nov.assessment.coverage.gaps)} == {
        (NOV.start, NOV.start + 3 * H + M5)
    }


def test_downtime_merges_overlapping_gaps_and_ignores_closed_ones() -> None:
    from computewatch.domain import CoverageStatus, utc

    def gap(account: str, start: int, end: int, status: CoverageStatus) -> CoverageEntry:
        return CoverageEntry(
            "aws", account, "us-east-1", "aws.ec2",
            utc(2026, 10, 31, start), utc(2026, 10, 31, end), status, SAMPLING_GAP, "x",
        )  # fmt: skip

    got = sampling_downtime(
        [
            gap("1", 2, 5, CoverageStatus.FAILED),
            gap("2", 4, 7, CoverageStatus.FAILED),
            gap("3", 9, 10, CoverageStatus.FAILED),
            gap("4", 1, 12, CoverageStatus.SKIPPED),  # closed by final billing
        ]
    )
    assert [(d.start.hour, d.end.hour, d.accounts) for d in got] == [
        (2, 7, ("aws:1", "aws:2")),
        (9, 10, ("aws:3",)),
    ]


def test_each_window_counts_only_its_own_missed_hours() -> None:
    from computewatch.collectors.sampling import sampling_gaps
    from computewatch.domain import utc

    last_oct, first_nov, tolerance = utc(2026, 10, 31, 23, 5), utc(2026, 11, 1, 4, 5), 150
    allowed = timedelta(minutes=tolerance)
    assert sampling_gaps([last_oct], first_nov, OCT, allowed) == []
    assert sampling_gaps([last_oct], first_nov, NOV, allowed) == [(NOV.start, first_nov)]
    # A gap inside the month is unchanged.
    inside = [utc(2026, 10, 10, 1)]
    assert sampling_gaps(inside, utc(2026, 10, 10, 9), OCT, allowed) == [
        (utc(2026, 10, 10, 1), utc(2026, 10, 10, 9))
    ]
