"""Roll store aggregates and coverage up into one view per account (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from computewatch.domain import (
    SAMPLING_GAP,
    Account,
    CoverageEntry,
    CoverageStatus,
    DailyRow,
    Method,
    Metric,
    Peak,
    Total,
)
from computewatch.domain.catalog import Catalog
from computewatch.engine.estimates import FlopBand, training_flop

TOKEN_METRICS = {
    str(Metric.MODEL_INPUT_TOKENS): "input",
    str(Metric.MODEL_OUTPUT_TOKENS): "output",
    str(Metric.MODEL_INVOCATIONS): "invocations",
}
HOURS_METRICS = (str(Metric.ACCELERATOR_HOURS), str(Metric.INSTANCE_HOURS))


@dataclass
class AccountUsage:
    account: Account
    coverage_status: str  # complete | partial | failed
    gaps: list[CoverageEntry]
    units_read: int
    units_total: int
    accelerator_hours: dict[str, float] = field(default_factory=dict)
    instance_hours: dict[str, float] = field(default_factory=dict)
    peak_concurrent: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, dict[str, float]] = field(default_factory=dict)
    training_hours: dict[str, float] = field(default_factory=dict)  # training jobs, by chip
    customization_jobs: dict[str, float] = field(default_factory=dict)  # fine-tuning, by base model
    fine_tuning_hours: dict[str, float] = field(default_factory=dict)  # by model ("" unknown)
    methods: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    flop: FlopBand | None = None
    # chip -> (billing, inventory estimate) accelerator-hours over the days both sources cover.
    reconciliation: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.account.provider, self.account.account_id)

    @property
    def complete(self) -> bool:
        return self.coverage_status == "complete"


def coverage_status(entries: Sequence[CoverageEntry]) -> str:
    failed = sum(1 for e in entries if e.status is CoverageStatus.FAILED)
    if not entries or failed == len(entries):
        return "failed"
    return "partial" if failed else "complete"


def _add(target: dict[str, float], key: str, qty: float) -> None:
    target[key] = target.get(key, 0.0) + qty


def merge_hours(u: AccountUsage, rows: Iterable[DailyRow]) -> None:
    """Per day, billing is authoritative: where it exists, that day's inventory estimates are set
    aside (kept only to print the variance), never added to it."""
    by_day: dict[tuple[str, datetime], list[DailyRow]] = defaultdict(list)
    for r in rows:
        by_day[(r.metric, r.day)].append(r)
    for (metric, _), day_rows in sorted(by_day.items()):
        billed = [r for r in day_rows if r.method == Method.BILLING]
        others = [r for r in day_rows if r.method != Method.BILLING]
        for r in billed or others:
            u.methods[metric].add(r.method)
            if metric == Metric.ACCELERATOR_HOURS:
                _add(u.accelerator_hours, r.accelerator, r.quantity)
            else:
                _add(u.instance_hours, r.sku, r.quantity)
        if metric == Metric.ACCELERATOR_HOURS and billed and others:
            for chip in sorted({r.accelerator for r in day_rows}):
                b = sum(r.quantity for r in billed if r.accelerator == chip)
                i = sum(r.quantity for r in others if r.accelerator == chip)
                pb, pi = u.reconciliation.get(chip, (0.0, 0.0))
                u.reconciliation[chip] = (pb + b, pi + i)


def daily_accelerator_hours(
    rows: Iterable[DailyRow],
) -> dict[tuple[str, str], dict[datetime, float]]:
    """Accelerator-hours per account and day, billing superseding inventory day by day."""
    grouped: dict[tuple[str, str, datetime], list[DailyRow]] = defaultdict(list)
    for r in rows:
        if r.metric == Metric.ACCELERATOR_HOURS:
            grouped[(r.provider, r.account_id, r.day)].append(r)
    out: dict[tuple[str, str], dict[datetime, float]] = defaultdict(dict)
    for (provider, account, day), day_rows in grouped.items():
        billed = [r for r in day_rows if r.method == Method.BILLING]
        out[(provider, account)][day] = sum(r.quantity for r in (billed or day_rows))
    return dict(out)


def _add_total(u: AccountUsage, t: Total) -> None:
    u.methods[t.metric].add(t.method)
    if t.metric == Metric.TRAINING_JOB_ACCELERATOR_HOURS:
        _add(u.training_hours, t.accelerator, t.quantity)
    elif t.metric == Metric.MODEL_CUSTOMIZATION_JOBS:
        _add(u.customization_jobs, t.model, t.quantity)
    elif t.metric == Metric.FINE_TUNING_HOURS:
        _add(u.fine_tuning_hours, t.model, t.quantity)
    elif t.metric in TOKEN_METRICS:
        slot = u.tokens.setdefault(t.model, {"input": 0.0, "output": 0.0, "invocations": 0.0})
        slot[TOKEN_METRICS[t.metric]] += t.quantity


def build_account_usage(
    accounts: Iterable[Account],
    totals: Iterable[Total],
    daily_hours: Iterable[DailyRow],
    peaks: Iterable[Peak],
    coverage: Iterable[CoverageEntry],
    catalog: Catalog,
    utilization: tuple[float, float, float],
) -> list[AccountUsage]:
    by_key: dict[tuple[str, str], list[CoverageEntry]] = defaultdict(list)
    for entry in coverage:
        by_key[(entry.provider, entry.account_id)].append(entry)
    out: dict[tuple[str, str], AccountUsage] = {}
    for account in accounts:
        entries = by_key.get((account.provider, account.account_id), [])
        reads = [e for e in entries if e.error_code != SAMPLING_GAP]  # a gap is no unit of its own
        out[(account.provider, account.account_id)] = AccountUsage(
            account=account,
            coverage_status=coverage_status(entries),
            gaps=[e for e in entries if e.status is CoverageStatus.FAILED],
            units_read=sum(1 for e in reads if e.status is CoverageStatus.OK),
            units_total=len(reads),
        )
    grouped: dict[tuple[str, str], list[DailyRow]] = defaultdict(list)
    for row in daily_hours:
        grouped[(row.provider, row.account_id)].append(row)
    for key, rows in grouped.items():
        if key in out:
            merge_hours(out[key], rows)
    for t in totals:
        u = out.get((t.provider, t.account_id))
        if u is not None and t.metric not in HOURS_METRICS:
            _add_total(u, t)
    for p in peaks:
        u = out.get((p.provider, p.account_id))
        if u is not None:
            _add(u.peak_concurrent, p.accelerator, p.quantity)
            u.methods[str(Metric.PEAK_CONCURRENT_ACCELERATORS)].add(p.method)
    for u in out.values():
        if u.coverage_status != "failed":
            u.flop = training_flop(u.accelerator_hours, catalog, *utilization)
    return list(out.values())
