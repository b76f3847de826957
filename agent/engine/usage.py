"""Roll store aggregates and coverage up into one view per account (pure).

An account's usage is a table `metric -> key -> quantity`, keyed as the metric table says (chip,
model or instance type); nothing here names a metric except through that table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from computewatch.domain import (
    SAMPLING_GAP,
    Account,
    BilledTotal,
    CoverageEntry,
    CoverageLevel,
    CoverageStatus,
    DailyRow,
    DailyTotal,
    Method,
    Metric,
    Peak,
    Total,
)
from computewatch.domain.aggregates import DailyModelRow
from computewatch.domain.metrics import METRICS, Key, MetricDef, metric_def, token_metrics
from computewatch.engine.estimates import FlopBand, TppHours

Values = dict[Metric, dict[str, float]]


def key_of(d: MetricDef, accelerator: str, model: str, sku: str) -> str:
    """The dimension value a row is keyed by, as the metric's definition says."""
    return {Key.CHIP: accelerator, Key.MODEL: model, Key.SKU: sku}[d.key]


@dataclass
class AccountUsage:
    """What one account (or, combined, one scope) used, how it was measured, how much was read."""

    account: Account
    coverage: CoverageLevel
    gaps: list[CoverageEntry]
    units_read: int
    units_total: int
    values: Values = field(default_factory=dict)
    methods: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Derived once by the engine (None where the usage could not be read at all).
    flop: FlopBand | None = None
    tpp: TppHours | None = None
    # chip -> (billing, inventory estimate) accelerator-hours over the days both sources cover.
    reconciliation: dict[str, tuple[float, float]] = field(default_factory=dict)
    # (metric, chip or model) -> (billing export, live collectors) where both cover the account:
    # accelerator-hours over the days both cover, tokens over the window.
    export_reconciliation: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.account.provider, self.account.account_id)

    @property
    def label(self) -> str:
        return f"{self.account.provider}:{self.account.account_id}"

    @property
    def complete(self) -> bool:
        return self.coverage is CoverageLevel.COMPLETE

    def of(self, metric: Metric) -> dict[str, float]:
        """Quantities of one metric by key (empty: nothing measured)."""
        return self.values.get(metric, {})

    def add(self, metric: Metric, key: str, quantity: float) -> None:
        slot = self.values.setdefault(metric, {})
        slot[key] = slot.get(key, 0.0) + quantity

    @property
    def accelerator_hours(self) -> dict[str, float]:
        return self.of(Metric.ACCELERATOR_HOURS)

    @property
    def peak_concurrent(self) -> dict[str, float]:
        return self.of(Metric.PEAK_CONCURRENT_ACCELERATORS)

    def tokens(self) -> dict[str, dict[str, float]]:
        """model -> token role -> quantity; roles always shown are present (0 when none)."""
        out: dict[str, dict[str, float]] = {}
        defs = list(token_metrics())
        models = sorted({m for d in defs for m in self.of(d.metric)})
        for model in models:
            row: dict[str, float] = {}
            for d in defs:
                qty = self.of(d.metric).get(model)
                if qty is not None or d.always_shown:
                    row[d.role] = qty or 0.0
            out[model] = row
        return out

    def usage_total(self) -> float:
        """Everything that counts as usage for the know-your-customer checks."""
        return sum(sum(self.of(d.metric).values()) for d in METRICS if d.is_usage)


def coverage_level(entries: Sequence[CoverageEntry]) -> CoverageLevel:
    """complete: every unit read; failed: none (or nothing known); partial: in between."""
    failed = sum(1 for e in entries if e.status is CoverageStatus.FAILED)
    if not entries or failed == len(entries):
        return CoverageLevel.FAILED
    return CoverageLevel.PARTIAL if failed else CoverageLevel.COMPLETE


def merge_hours(u: AccountUsage, rows: Iterable[DailyRow]) -> None:
    """Per day, billing is authoritative: where it exists, that day's inventory estimates are set
    aside (kept only to print the variance), never added to it."""
    by_day: dict[tuple[str, datetime], list[DailyRow]] = defaultdict(list)
    for r in rows:
        by_day[(r.metric, r.day)].append(r)
    for (metric, _), day_rows in sorted(by_day.items()):
        d = metric_def(metric)
        top = max(billing_rank(r.method) for r in day_rows)
        for r in day_rows:
            if billing_rank(r.method) == top:
                u.methods[metric].add(r.method)
                u.add(d.metric, key_of(d, r.accelerator, "", r.sku), r.quantity)
        if d.key is Key.CHIP and top == EXPORT_RANK:
            reconcile_export(u, metric, day_rows)
        billed = [r for r in day_rows if r.method == Method.BILLING]
        others = [r for r in day_rows if billing_rank(r.method) == 0]
        if d.key is Key.CHIP and billed and others:
            for chip in sorted({r.accelerator for r in day_rows}):
                b = sum(r.quantity for r in billed if r.accelerator == chip)
                i = sum(r.quantity for r in others if r.accelerator == chip)
                pb, pi = u.reconciliation.get(chip, (0.0, 0.0))
                u.reconciliation[chip] = (pb + b, pi + i)


# Per day, the best billing source replaces the others (never added to them): a billing export
# (the payer's complete record) over Cost Explorer over the inventory estimates.
BILLING_RANKS: dict[str, int] = {str(Method.BILLING_EXPORT): 2, str(Method.BILLING): 1}
EXPORT_RANK = BILLING_RANKS[str(Method.BILLING_EXPORT)]


ALL_MODELS = "all models"
# What a billing export measures per model: only these live figures give way to it (invocations
# and customization jobs are not in an export and stay as the live collectors read them), on
# every delivered day (tokens) or on the account's days the export bills the metric (training).
EXPORT_TOKEN_METRICS = frozenset(
    str(d.metric) for d in METRICS if d.export_replaces == "delivered_day"
)
EXPORT_BILLED_DAY_METRICS = frozenset(
    str(d.metric) for d in METRICS if d.export_replaces == "billed_day"
)
EXPORT_MODEL_METRICS = EXPORT_TOKEN_METRICS | EXPORT_BILLED_DAY_METRICS


def billing_rank(method: str) -> int:
    return BILLING_RANKS.get(str(method), 0)


def reconcile_export(u: AccountUsage, metric: str, day_rows: Sequence[DailyRow]) -> None:
    """Export against the best live source of the same day, per chip (only where live exists)."""
    live = [r for r in day_rows if billing_rank(r.method) < EXPORT_RANK]
    if not live:
        return
    best = max(billing_rank(r.method) for r in live)
    for chip in sorted({r.accelerator for r in day_rows}):
        e = sum(
            r.quantity
            for r in day_rows
            if r.method == Method.BILLING_EXPORT and r.accelerator == chip
        )
        v = sum(
            r.quantity for r in live if billing_rank(r.method) == best and r.accelerator == chip
        )
        pe, pv = u.export_reconciliation.get((metric, chip), (0.0, 0.0))
        u.export_reconciliation[(metric, chip)] = (pe + e, pv + v)


def merge_billed(u: AccountUsage, rows: Iterable[BilledTotal]) -> None:
    """`merge_hours` over rows the store already summed per chip, sku and method (SQL did the
    day-by-day choice of the best source): the same quantities, methods and reconciliations."""
    for r in sorted(rows, key=lambda r: (r.metric, r.accelerator, r.sku, r.method)):
        d = metric_def(r.metric)
        rank = billing_rank(r.method)
        if r.days:
            u.methods[r.metric].add(r.method)
            u.add(d.metric, key_of(d, r.accelerator, "", r.sku), r.quantity)
        if d.key is not Key.CHIP:
            continue
        if r.overlap_days:
            pb, pi = u.reconciliation.get(r.accelerator, (0.0, 0.0))
            u.reconciliation[r.accelerator] = (
                pb + (r.overlap if rank == 1 else 0.0),
                pi + (r.overlap if rank == 0 else 0.0),
            )
        if r.export_days:
            pe, pv = u.export_reconciliation.get((r.metric, r.accelerator), (0.0, 0.0))
            u.export_reconciliation[(r.metric, r.accelerator)] = (pe + r.export, pv + r.live)


def hours_by_day(rows: Iterable[DailyTotal]) -> dict[tuple[str, str], dict[datetime, float]]:
    """`daily_accelerator_hours` from the store's per-account, per-chip, per-day sums."""
    out: dict[tuple[str, str], dict[datetime, float]] = defaultdict(dict)
    for r in rows:
        days = out[(r.provider, r.account_id)]
        days[r.day] = days.get(r.day, 0.0) + r.quantity
    return dict(out)


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
        top = max(billing_rank(r.method) for r in day_rows)
        best = [r for r in day_rows if billing_rank(r.method) == top]
        out[(provider, account)][day] = sum(r.quantity for r in best)
    return dict(out)


ChipDays = dict[tuple[str, str, str], dict[datetime, float]]  # (provider, account, chip) -> day


def chip_hours_by_day(rows: Iterable[DailyTotal]) -> ChipDays:
    """Accelerator-hours per account, chip and day, from the store's sums."""
    out: ChipDays = defaultdict(dict)
    for r in rows:
        days = out[(r.provider, r.account_id, r.accelerator)]
        days[r.day] = days.get(r.day, 0.0) + r.quantity
    return dict(out)


def daily_chip_hours(rows: Iterable[DailyRow]) -> ChipDays:
    """Accelerator-hours per account, chip and day from daily rows: on each account's day the
    best-ranked method (billing over inventory) counts, as in `daily_accelerator_hours`."""
    grouped: dict[tuple[str, str, datetime], list[DailyRow]] = defaultdict(list)
    for r in rows:
        if r.metric == Metric.ACCELERATOR_HOURS:
            grouped[(r.provider, r.account_id, r.day)].append(r)
    out: ChipDays = defaultdict(dict)
    for (provider, account, day), day_rows in grouped.items():
        top = max(billing_rank(r.method) for r in day_rows)
        for r in day_rows:
            if billing_rank(r.method) == top:
                days = out[(provider, account, r.accelerator)]
                days[day] = days.get(day, 0.0) + r.quantity
    return dict(out)


BILLED_METRICS = tuple(str(d.metric) for d in METRICS if d.billing_supersedes)


def build_account_usage(
    accounts: Iterable[Account],
    totals: Iterable[Total],
    daily_hours: Iterable[DailyRow],
    peaks: Iterable[Peak],
    coverage: Iterable[CoverageEntry],
    billed: Iterable[BilledTotal] = (),
    daily_tokens: Iterable[DailyModelRow] = (),
) -> list[AccountUsage]:
    """One AccountUsage per account: coverage from the entries, quantities from the aggregates
    (for metrics where billing supersedes inventory: daily rows, or the store's `billed` sums;
    sums for the rest)."""
    by_key: dict[tuple[str, str], list[CoverageEntry]] = defaultdict(list)
    for entry in coverage:
        by_key[(entry.provider, entry.account_id)].append(entry)
    out: dict[tuple[str, str], AccountUsage] = {}
    for account in accounts:
        entries = by_key.get((account.provider, account.account_id), [])
        reads = [e for e in entries if e.error_code != SAMPLING_GAP]  # a gap is no unit of its own
        out[(account.provider, account.account_id)] = AccountUsage(
            account=account,
            coverage=coverage_level(entries),
            gaps=[e for e in entries if e.status is CoverageStatus.FAILED],
            units_read=sum(1 for e in reads if e.status is CoverageStatus.OK),
            units_total=len(reads),
        )
    daily_hours = list(daily_hours)
    grouped: dict[tuple[str, str], list[DailyRow]] = defaultdict(list)
    for row in daily_hours:
        grouped[(row.provider, row.account_id)].append(row)
    for key, rows in grouped.items():
        if key in out:
            merge_hours(out[key], rows)
    totals = list(totals)
    exported = {(t.provider, t.account_id) for t in totals if t.method == Method.BILLING_EXPORT}
    by_account: dict[tuple[str, str], list[BilledTotal]] = defaultdict(list)
    for b in billed:
        by_account[(b.provider, b.account_id)].append(b)
    for key, billed_rows in by_account.items():
        if key in out:
            merge_billed(out[key], billed_rows)
    by_day = merge_tokens_by_day(out, exported, daily_hours, list(daily_tokens))
    # Without day rows, a billed-day metric the export bills for an account replaces the live one.
    export_billed = {
        (t.provider, t.account_id, t.metric)
        for t in totals
        if t.method == Method.BILLING_EXPORT and t.metric in EXPORT_BILLED_DAY_METRICS
    }
    for t in totals:
        u = out.get((t.provider, t.account_id))
        if u is None or t.metric in BILLED_METRICS:
            continue
        if u.key in by_day and t.metric in EXPORT_MODEL_METRICS:
            continue  # taken day by day above
        d = metric_def(t.metric)
        if d.combine is not d.combine.SUM:
            continue  # peaks come from their own aggregate
        dim = key_of(d, t.accelerator, t.model, t.sku)
        if (u.key in exported and t.metric in EXPORT_TOKEN_METRICS) or (
            *u.key,
            t.metric,
        ) in export_billed:
            # The export is the account's billing record: live token figures are set aside,
            # kept to print the variance.
            is_export = t.method == Method.BILLING_EXPORT
            for k in (dim, ALL_MODELS):  # totals too: unmapped billed names stay apart
                e, v = u.export_reconciliation.get((t.metric, k), (0.0, 0.0))
                u.export_reconciliation[(t.metric, k)] = (
                    e + (t.quantity if is_export else 0.0),
                    v + (0.0 if is_export else t.quantity),
                )
            if not is_export:
                continue
        u.methods[t.metric].add(t.method)
        u.add(d.metric, dim, t.quantity)
    for p in peaks:
        u = out.get((p.provider, p.account_id))
        if u is not None:
            u.add(Metric.PEAK_CONCURRENT_ACCELERATORS, p.accelerator, p.quantity)
            u.methods[str(Metric.PEAK_CONCURRENT_ACCELERATORS)].add(p.method)
    return list(out.values())


def merge_tokens_by_day(
    out: dict[tuple[str, str], AccountUsage],
    exported: set[tuple[str, str]],
    daily_hours: Sequence[DailyRow],
    daily_tokens: Sequence[DailyModelRow],
) -> set[tuple[str, str]]:
    """Tokens of exported accounts, day by day: on a day the export delivers (any export row, any
    account) its figures replace the live metrics, which are kept for the variance; on a day it
    does not deliver yet (a month still open) the live figures stand and are not compared.
    Returns the accounts handled here."""
    delivered = {r.day for r in daily_hours if r.method == Method.BILLING_EXPORT}
    delivered |= {r.day for r in daily_tokens if r.method == Method.BILLING_EXPORT}
    billed_days = {
        (r.provider, r.account_id, r.metric, r.day)
        for r in daily_tokens
        if r.method == Method.BILLING_EXPORT and r.metric in EXPORT_BILLED_DAY_METRICS
    }
    handled: set[tuple[str, str]] = set()
    for r in daily_tokens:
        key = (r.provider, r.account_id)
        u = out.get(key)
        if u is None or key not in exported or r.metric not in EXPORT_MODEL_METRICS:
            continue
        handled.add(key)
        d = metric_def(r.metric)
        is_export = r.method == Method.BILLING_EXPORT
        replaced = (
            (*key, r.metric, r.day) in billed_days
            if r.metric in EXPORT_BILLED_DAY_METRICS
            else r.day in delivered
        )
        if replaced:
            for k in (r.model, ALL_MODELS):
                e, v = u.export_reconciliation.get((r.metric, k), (0.0, 0.0))
                u.export_reconciliation[(r.metric, k)] = (
                    e + (r.quantity if is_export else 0.0),
                    v + (0.0 if is_export else r.quantity),
                )
            if not is_export:
                continue
        u.methods[r.metric].add(r.method)
        u.add(d.metric, r.model, r.quantity)
    return handled
