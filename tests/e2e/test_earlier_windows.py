"""Issue 13 item 5, through the pipeline: a Q4-to-date rule audited in November is OK when the
store holds October's reads of every unit, and UNKNOWN (one NotInStore gap per unit, October
named) when it does not."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from computewatch.domain import FindingStatus, Window
from computewatch.pipeline.audit import AuditRequest, run_audit
from computewatch.pipeline.jobs import collect_job
from computewatch.pipeline.loading import load_config
from tests.helpers.fleet import Fleet, SimClock, fleet_config, install

OCT, NOV = Window.month("2026-10"), Window.month("2026-11")
Q4_TO_DATE = Window(OCT.start, NOV.end)
RULE = {
    "id": "internal-hours-quarter",
    "title": "More than a billion accelerator-hours in a calendar quarter on one account",
    "legal_basis": "Internal policy",
    "citation": "",
    "status": "internal-policy",
    "metric": "accelerator_hours",
    "scope": "account",
    "window": "quarter",
    "comparison": ">",
    "threshold": 1e9,
    "severity": "low",
}


@pytest.mark.parametrize("october_read", [True, False])
def test_q4_to_date_judged_on_the_stored_october(
    october_read: bool, tmp_path: Path, sqlite_url: str
) -> None:
    """The daemon's collect job every third day (reads up to four days apart leave no gap),
    from October 1st or only from November 1st; then the monthly audit of November."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"profile": "t", "rules": [RULE]}), encoding="utf-8")
    path = fleet_config(tmp_path, sqlite_url, rules)
    doc = yaml.safe_load(path.read_text("utf-8"))
    doc["collection"] = {"max_sample_gap_minutes": 4 * 24 * 60}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    first = (OCT if october_read else NOV).start + timedelta(hours=1)
    clock = SimClock(first)
    fleet = Fleet(accounts=2, per_region=1, clock=clock)
    undo = install(fleet)
    try:
        config = load_config(path)
        while clock.now < NOV.end:
            collect_job(config, clock)
            clock.now += timedelta(days=3)
        clock.now = NOV.end + timedelta(hours=6)
        request = AuditRequest(
            window=NOV, now=clock.now, out_dir=tmp_path / "r", formats=[], bundle=False
        )
        assessment = run_audit(config, request).assessment
    finally:
        undo()
    assert assessment.coverage.gaps == ()  # November itself was read throughout
    quarter = [f for f in assessment.findings if f.window == Q4_TO_DATE]
    assert len(quarter) == 2  # one per account
    unread = [line for f in quarter for line in f.evidence if "NotInStore" in line]
    if october_read:
        assert {f.status for f in quarter} == {FindingStatus.OK}
        assert unread == []
    else:
        assert {f.status for f in quarter} == {FindingStatus.UNKNOWN}
        assert len(unread) == 4  # 2 accounts x 2 regions, each with its stretch
        assert all(line.endswith("2026-10-01 00:00 to 2026-11-01 00:00 UTC") for line in unread)
