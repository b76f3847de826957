"""Roll store aggregates and coverage up into one view per account (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from agent.catalog import Catalog
from agent.estimates import FlopBand, training_flop
from agent.models import Account, CoverageEntry, CoverageStatus, Metric
from agent.store import Peak, Total

TOKEN_METRICS = {
    str(Metric.MODEL_INPUT_TOKENS): "input",
    str(Metric.MODEL_OUTPUT_TOKENS): "output",
    str(Metric.MODEL_INVOCATIONS): "invocations",
}


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
    methods: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    flop: FlopBand | None = None

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


def build_account_usage(
    accounts: Iterable[Account],
    totals: Iterable[Total],
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
        out[(account.provider, account.account_id)] = AccountUsage(
            account=account,
            coverage_status=coverage_status(entries),
            gaps=[e for e in entries if e.status is CoverageStatus.FAILED],
            units_read=sum(1 for e in entries if e.status is CoverageStatus.OK),
            units_total=len(entries),
        )
    for t in totals:
        u = out.get((t.provider, t.account_id))
        if u is None:
            continue
        u.methods[t.metric].add(t.method)
        if t.metric == Metric.ACCELERATOR_HOURS:
            u.accelerator_hours[t.accelerator] = (
                u.accelerator_hours.get(t.accelerator, 0.0) + t.quantity
            )
        elif t.metric == Metric.INSTANCE_HOURS:
            u.instance_hours[t.sku] = u.instance_hours.get(t.sku, 0.0) + t.quantity
        elif t.metric in TOKEN_METRICS:
            slot = u.tokens.setdefault(t.model, {"input": 0.0, "output": 0.0, "invocations": 0.0})
            slot[TOKEN_METRICS[t.metric]] += t.quantity
    for p in peaks:
        u = out.get((p.provider, p.account_id))
        if u is not None:
            u.peak_concurrent[p.accelerator] = (
                u.peak_concurrent.get(p.accelerator, 0.0) + p.quantity
            )
            u.methods[str(Metric.PEAK_CONCURRENT_ACCELERATORS)].add(p.method)
    for u in out.values():
        if u.coverage_status != "failed":
            u.flop = training_flop(u.accelerator_hours, catalog, *utilization)
    return list(out.values())
