"""Inventory sampling gaps and collectors on their own schedule.

Pure functions table-driven; then a month of runs against the emulated AWS on both store
backends: EC2 read alone, a downtime that becomes a coverage gap, Cost Explorer read alone on its
own schedule, and final billing closing the gap.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from computewatch.collectors.sampling import close_billed_gaps, sampling_gaps
from computewatch.demo.emulated_aws import EmulatedAws, InstanceSpec, MemberSpec, aws_environment
from computewatch.domain import (
    NOT_COLLECTED,
    SAMPLING_GAP,
    CoverageEntry,
    CoverageStatus,
    Window,
    utc,
)
from computewatch.pipeline.audit import AuditOutcome, AuditRequest, run_audit
from computewatch.pipeline.loading import load_config
from computewatch.store import Store
from tests.helpers.aws import SeededOrg, seed, write_config

NOV = Window.month("2026-11")
H = timedelta(hours=1)
T = utc(2026, 11, 10, 12)


@pytest.mark.parametrize(
    ("reads", "now", "expected"),
    [
        ([], T, []),  # never read before: the first read claims nothing
        ([T - 2 * H, T - H], T, []),  # hourly
        ([T - 9 * H, T - 8 * H], T, [(T - 8 * H, T)]),  # down since the last read
        ([T - 9 * H, T - 4 * H, T - 2 * H], T, [(T - 9 * H, T - 4 * H)]),  # down, then back
        ([T + H], T, []),  # reads after `now` (another process) are not this run's past
        # A gap across the month's start is clipped to the window.
        ([utc(2026, 10, 31, 20)], utc(2026, 11, 1, 3), [(NOV.start, utc(2026, 11, 1, 3))]),
    ],
)
def test_sampling_gaps(
    reads: list[datetime], now: datetime, expected: list[tuple[datetime, datetime]]
) -> None:
    assert sampling_gaps(reads, now, NOV, timedelta(minutes=150)) == expected


def _gap(start: datetime, end: datetime, provider: str = "aws") -> CoverageEntry:
    return CoverageEntry(
        provider, "1", "us-east-1", "aws.ec2", start, end, CoverageStatus.FAILED, SAMPLING_GAP, "x"
    )


def test_final_billing_closes_only_gaps_it_fully_covers() -> None:
    billing = {"aws": {"aws.costexplorer": frozenset({date(2026, 11, 3), date(2026, 11, 4)})}}
    covered = _gap(utc(2026, 11, 3, 22), utc(2026, 11, 4, 6))
    half = _gap(utc(2026, 11, 4, 22), utc(2026, 11, 5, 6))  # the 5th is not final yet
    azure = _gap(utc(2026, 11, 3, 22), utc(2026, 11, 4, 6), provider="azure")
    denied = CoverageEntry(
        "aws", "1", "us-east-1", "aws.ec2", NOV.start, NOV.end, CoverageStatus.FAILED, "Denied"
    )
    out = close_billed_gaps([covered, half, azure, denied], billing)
    assert [e.status for e in out] == [
        CoverageStatus.SKIPPED,
        CoverageStatus.FAILED,
        CoverageStatus.FAILED,
        CoverageStatus.FAILED,
    ]
    assert out[0].error_message.endswith("closed by final billing (aws.costexplorer)")


# -- a month of runs against the emulated AWS ---------------------------------------------------
H100 = MemberSpec("trainer", (InstanceSpec("p5.48xlarge", "us-east-1", utc(2026, 10, 28)),))
HOURLY = {"aws.ec2", "aws.bedrock", "aws.sagemaker"}  # the daemon's collect job, minus billing
BILLING = {"aws.costexplorer"}  # on a schedule of its own


def run(
    aws: EmulatedAws, org: SeededOrg, config: Path, now: datetime, only: set[str]
) -> tuple[AuditOutcome, list[CoverageEntry]]:
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        outcome = run_audit(
            load_config(config),
            AuditRequest(NOV, now, config.parent / "out", [], collectors=only, bundle=False),
        )
    with Store.open(load_config(config).app.store.resolved_url()) as store:
        return outcome, store.coverage.for_run(outcome.run_id)


def codes(entries: list[CoverageEntry] | tuple[object, ...]) -> set[str]:
    return {getattr(e, "error_code") for e in entries} - {""}  # noqa: B009 - GapView or entry


def test_downtime_is_a_gap_until_final_billing_covers_it(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = seed(aws, [H100])
    config = write_config(
        tmp_path, sqlite_url, {"collection": {"max_sample_gap_minutes": 4 * 24 * 60}}
    )

    # Nov 1: EC2 alone. Cost Explorer (own schedule) has not read November: a gap, not a zero.
    first, stored = run(aws, org, config, utc(2026, 11, 1, 0, 30), HOURLY)
    assert not [k for k in first.api_calls if k.startswith("ce:")]
    assert codes(stored) == set()  # nothing stored for the unit this run did not read
    assert codes(first.context.coverage.gaps) == {NOT_COLLECTED}

    # Nov 5: down for more than the allowed gap. What ran in between is unknown, per region.
    down, stored = run(aws, org, config, utc(2026, 11, 5, 6), HOURLY)
    gaps = [e for e in stored if e.error_code == SAMPLING_GAP]
    assert sorted(e.region for e in gaps) == ["us-east-1", "us-west-2"]
    assert {(e.period_start, e.period_end) for e in gaps} == {
        (utc(2026, 11, 1, 0, 30), utc(2026, 11, 5, 6))
    }
    assert all(e.status is CoverageStatus.FAILED for e in gaps)
    trainer = next(a for a in down.context.accounts if a.name == "trainer")
    assert trainer.coverage_status == "partial"
    assert (trainer.units_read, trainer.units_total) == (6, 6)  # a gap is not a unit of its own

    # Nov 8: Cost Explorer alone. EC2's last read, gaps included, is carried, not forgotten; the
    # 5th is not final in billing yet (three days after it ends), so the gap stays open.
    billing, stored = run(aws, org, config, utc(2026, 11, 8, 12), BILLING)
    assert "ce:GetCostAndUsage" in billing.api_calls
    assert not [k for k in billing.api_calls if k.startswith("ec2:")]
    assert {e.collector for e in stored} == BILLING
    assert codes(billing.context.coverage.gaps) == {SAMPLING_GAP}

    # Nov 9: everything; this run's billing read makes Nov 1-5 final and closes the gap (and
    # says why). Reads three days and 19 hours apart are within the allowed four days.
    healed, stored = run(aws, org, config, utc(2026, 11, 9, 1), HOURLY | BILLING)
    closed = [e for e in stored if e.error_code == SAMPLING_GAP]
    assert len(closed) == 2 and all(e.status is CoverageStatus.SKIPPED for e in closed)
    assert "closed by final billing (aws.costexplorer)" in closed[0].error_message
    assert healed.context.coverage.status == "complete"
    assert healed.context.coverage.gaps == ()
