"""Builders for the store contract suite: records, coverage entries, findings and queue rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from computewatch.domain import (
    CoverageEntry,
    CoverageStatus,
    Dimensions,
    Finding,
    FindingStatus,
    LegalStatus,
    Method,
    Metric,
    Observation,
    Rule,
    UsageRecord,
    Window,
    utc,
)
from computewatch.store import LedgerRow, OutboxRow, ProducedReport

OCT = Window.month("2026-10")
NOV = Window.month("2026-11")

RULE = Rule(
    id="r",
    title="t",
    legal_basis="b",
    citation="",
    legal_status=LegalStatus.INTERNAL_POLICY,
    metric="accelerator_hours",
    scope="account",
    window="calendar_month",
    comparison=">",
    threshold=100,
    severity="high",
)


def rec(
    day: int,
    qty: float,
    *,
    account: str = "111111111111",
    region: str = "us-east-1",
    chip: str = "H100",
    rid: str = "i-1",
    metric: Metric = Metric.ACCELERATOR_HOURS,
    method: Method = Method.LAUNCH_TIME_ESTIMATE,
    sku: str = "p5.48xlarge",
) -> UsageRecord:
    """A one-day record of October 2026."""
    start = utc(2026, 10, day)
    return UsageRecord(
        "aws",
        account,
        region,
        "aws.ec2",
        metric,
        "accelerator-hours",
        Dimensions(
            sku=sku,
            accelerator=chip,
            resource_id=rid if metric != Metric.PEAK_CONCURRENT_ACCELERATORS else "",
        ),
        start,
        start + timedelta(days=1),
        qty,
        method,
    )


def entry(
    status: CoverageStatus = CoverageStatus.OK,
    *,
    account: str = "111111111111",
    region: str = "us-east-1",
    collector: str = "aws.ec2",
    window: Window = OCT,
    code: str = "",
) -> CoverageEntry:
    return CoverageEntry(
        "aws",
        account,
        region,
        collector,
        window.start,
        window.end,
        status,
        code or ("AccessDenied" if status is CoverageStatus.FAILED else ""),
        "no" if status is CoverageStatus.FAILED else "",
    )


def observation(
    rid: str, observed_at: datetime, started_at: datetime, ended_at: datetime | None = None
) -> Observation:
    return Observation(
        "aws",
        "111111111111",
        "us-east-1",
        "aws.ec2",
        rid,
        observed_at,
        "p5.48xlarge",
        "H100",
        8,
        "running",
        started_at,
        ended_at,
    )


def finding(
    status: FindingStatus,
    scope_key: str = "aws:111111111111",
    *,
    value: float | None = 120.0,
    rule: Rule = RULE,
    window: Window = OCT,
) -> Finding:
    return Finding(rule, status, "account", scope_key, window, value, rule.threshold, "detail")


def ledger_row(seq: int, prev: str = "0" * 64) -> LedgerRow:
    return LedgerRow(
        seq=seq,
        bundle=f"b{seq}",
        report_id=f"report-{seq}",
        manifest_sha256=f"{seq:064d}",
        prev_digest=prev,
        created_at="2026-11-01T00:00:00+00:00",
        digest=f"{seq:063d}d",
    )


def outbox_row(message_id: str, created_at: datetime, kind: str = "monthly") -> OutboxRow:
    return OutboxRow(
        message_id=message_id,
        kind=kind,
        recipients=("officer@example.com", "audit@example.org"),
        message=b"Subject: hi\r\n\r\nbody\r\n",
        attempts=0,
        created_at=created_at,
        next_attempt_at=created_at,
        sent_at=None,
        last_error="",
    )


def produced(kind: str, window: Window, period: str, at: datetime) -> ProducedReport:
    return ProducedReport(
        kind, period, window.start, window.end, at, f"id-{period}", f"/b/{period}"
    )
