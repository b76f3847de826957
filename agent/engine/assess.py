"""Usage in, one Assessment out: totals, estimates, coverage level, scopes and findings, computed
once per audit. Reports and exit codes read it; nothing downstream recomputes (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from computewatch.config.customers import Customer, Registry
from computewatch.domain import (
    Account,
    BilledTotal,
    CoverageEntry,
    CoverageLevel,
    CoverageStatus,
    DailyRow,
    DailyTotal,
    Finding,
    FindingState,
    FindingStatus,
    Observation,
    Peak,
    Rule,
    Total,
    Window,
)
from computewatch.domain.aggregates import DailyModelRow
from computewatch.domain.catalog import Catalog
from computewatch.domain.concurrency import SimultaneousPeak
from computewatch.domain.concurrency import simultaneous_peaks as peaks_from_intervals
from computewatch.domain.deliveries import ExportDelivery
from computewatch.engine.downtime import Downtime, sampling_downtime
from computewatch.engine.estimates import (
    MethodNote,
    implied_cluster_flops,
    methodology,
    tpp_hours,
    training_flop,
)
from computewatch.engine.evaluate import evaluate_window, rule_windows
from computewatch.engine.export_kyc import export_claim_findings
from computewatch.engine.kyc import kyc_findings
from computewatch.engine.scopes import scope_usage, scopes_for
from computewatch.engine.stored_coverage import NOT_IN_STORE
from computewatch.engine.training_runs import TrainingRun, daily_series, detect_training_runs
from computewatch.engine.usage import (
    AccountUsage,
    ChipDays,
    build_account_usage,
    chip_hours_by_day,
    daily_accelerator_hours,
    daily_chip_hours,
    hours_by_day,
)

STATUS_ORDER = {FindingStatus.BREACH: 0, FindingStatus.UNKNOWN: 1, FindingStatus.OK: 2}
Band = tuple[float, float, float]


@dataclass(frozen=True)
class Aggregates:
    """What the store holds for one window: sums, daily rows of the metrics billing supersedes,
    and daily peaks."""

    totals: Sequence[Total] = ()
    daily: Sequence[DailyRow] = ()
    peaks: Sequence[Peak] = ()
    # Summed in the store instead of `daily` (one row per account and chip, not per day), and
    # the accelerator-hours per account, chip and day (the chart, training runs).
    billed: Sequence[BilledTotal] = ()
    daily_hours: Sequence[DailyTotal] = ()
    # Token metrics per day and model: an export replaces them only on the days it delivers.
    daily_tokens: Sequence[DailyModelRow] = ()

    @property
    def summed(self) -> bool:
        """The store summed the billed metrics (`billed`, `daily_hours`), not per-day rows."""
        return bool(self.billed or self.daily_hours) and not self.daily


@dataclass(frozen=True)
class CoverageSummary:
    """The audit's coverage, decided here once: the report's first page and the exit code."""

    level: CoverageLevel
    accounts_total: int
    accounts_complete: int
    accounts_partial: int
    accounts_failed: int
    gaps: tuple[CoverageEntry, ...]
    # The sampling gaps as stretches of daemon downtime: which hours, which accounts.
    downtime: tuple[Downtime, ...] = ()


@dataclass(frozen=True)
class CustomerUsage:
    """One registered customer's usage across all its accounts and clouds."""

    customer: Customer
    members: tuple[AccountUsage, ...]
    usage: AccountUsage
    implied_cluster_flops: float


@dataclass(frozen=True)
class Assessment:
    window: Window
    generated_at: datetime
    accounts: tuple[AccountUsage, ...]
    customers: tuple[CustomerUsage, ...]
    coverage: CoverageSummary
    findings: tuple[Finding, ...]  # BREACH first, then UNKNOWN, then OK
    chip_totals: Mapping[str, float]
    daily_hours: Mapping[tuple[str, str], Mapping[datetime, float]]
    methodology: tuple[MethodNote, ...]
    registry: Registry
    states: Mapping[str, FindingState] = field(default_factory=dict)
    # Billing-export deliveries the figures rest on (provenance printed in the report).
    deliveries: tuple[ExportDelivery, ...] = ()
    training_runs: tuple[TrainingRun, ...] = ()  # engine.training_runs, from every window read
    # Accelerator-hours per (provider, account, chip) and day: the XLSX "Daily hours" sheet.
    daily_chip_hours: Mapping[tuple[str, str, str], Mapping[datetime, float]] = field(
        default_factory=dict
    )
    # engine.concurrency: per account, the true simultaneous peak and the per-region peaks
    simultaneous_peaks: Mapping[tuple[str, str], SimultaneousPeak] = field(default_factory=dict)

    @property
    def breaches(self) -> int:
        return sum(1 for f in self.findings if f.status is FindingStatus.BREACH)

    @property
    def unknowns(self) -> int:
        return sum(1 for f in self.findings if f.status is FindingStatus.UNKNOWN)

    def with_exports(self, deliveries: Sequence[ExportDelivery]) -> Assessment:
        """The same assessment with the export deliveries used and the findings the exports'
        customer and reseller names give (engine.export_kyc), in finding order."""
        extra = export_claim_findings(deliveries, self.registry, self.window)
        ordered = sorted(
            (*self.findings, *extra),
            key=lambda f: (STATUS_ORDER[f.status], f.rule.id, f.scope_key, f.window.start),
        )
        return dataclasses.replace(self, deliveries=tuple(deliveries), findings=tuple(ordered))

    def with_states(self, states: Mapping[str, FindingState]) -> Assessment:
        """The same assessment with each finding's lifecycle (engine.lifecycle) attached."""
        return dataclasses.replace(self, states=dict(states))


def account_usage(
    accounts: Sequence[Account],
    agg: Aggregates,
    coverage: Sequence[CoverageEntry],
    catalog: Catalog,
    band: Band,
    hour_sources: frozenset[str] | None = None,
) -> list[AccountUsage]:
    """Per account: quantities, coverage level and the derived estimates (FLOP band, TPP-hours);
    the estimates stay None (unknown) where `estimates_known` says so."""
    usages = build_account_usage(
        accounts, agg.totals, agg.daily, agg.peaks, coverage, agg.billed, agg.daily_tokens
    )
    for u in usages:
        if estimates_known(u, hour_sources):
            u.flop = training_flop(u.accelerator_hours, catalog, *band)
            u.tpp = tpp_hours(u.accelerator_hours, catalog)
    return usages


def estimates_known(u: AccountUsage, hour_sources: frozenset[str] | None) -> bool:
    """Estimates rest on accelerator-hours: where a collector that reads them (`hour_sources`;
    None: any collector) failed for the account, they are unknown, not a smaller number. A
    stretch before the audited period that no stored read covers (NotInStore) leaves them a
    lower bound over what is stored, as the window's partial coverage says."""
    if u.coverage is CoverageLevel.FAILED:
        return False
    return not any(
        (hour_sources is None or g.collector in hour_sources) and g.error_code != NOT_IN_STORE
        for g in u.gaps
    )


def extra_windows(rules: Sequence[Rule], audit: Window) -> list[Window]:
    """Windows other than the audited period that some rule is judged over."""
    out: list[Window] = []
    for rule in rules:
        for w in rule_windows(rule, audit):
            if w != audit and w not in out:
                out.append(w)
    return out


def summarize_coverage(
    usages: Sequence[AccountUsage], coverage: Sequence[CoverageEntry]
) -> CoverageSummary:
    gaps = tuple(
        sorted(
            (e for e in coverage if e.status is CoverageStatus.FAILED),
            key=lambda e: (e.provider, e.account_id, e.region, e.collector, e.period_start),
        )
    )
    counts = {lv: sum(1 for u in usages if u.coverage is lv) for lv in CoverageLevel}
    if not usages:
        level = CoverageLevel.FAILED if gaps else CoverageLevel.COMPLETE
    elif counts[CoverageLevel.COMPLETE] == len(usages) and not gaps:
        level = CoverageLevel.COMPLETE
    elif counts[CoverageLevel.FAILED] == len(usages):
        level = CoverageLevel.FAILED
    else:
        level = CoverageLevel.PARTIAL
    return CoverageSummary(
        level,
        len(usages),
        counts[CoverageLevel.COMPLETE],
        counts[CoverageLevel.PARTIAL],
        counts[CoverageLevel.FAILED],
        gaps,
        tuple(sampling_downtime(gaps)),
    )


def judge_rules(
    rules: Sequence[Rule],
    audit: Window,
    usage_by_window: Mapping[Window, Sequence[AccountUsage]],
    catalog: Catalog,
    registry: Registry,
    restricted: Sequence[str],
    stored: frozenset[Window] = frozenset(),
) -> list[Finding]:
    """Every rule over each of its windows, plus the built-in know-your-customer checks.
    `stored`: windows before the audited period whose usages carry the stored history's
    coverage (engine.stored_coverage), judged on it instead of as partial."""
    findings: list[Finding] = []
    for rule in rules:
        for w in rule_windows(rule, audit):
            usages = list(usage_by_window[w])
            if w.start < audit.start and w not in stored:
                # Reaches before what this run read: totals there are only what the store holds.
                usages = [
                    dataclasses.replace(u, coverage=CoverageLevel.PARTIAL) if u.complete else u
                    for u in usages
                ]
            findings.extend(evaluate_window([rule], usages, w, catalog, registry))
    if registry.customers:
        # Without any registry there is nobody to compare against; the report says so instead.
        findings.extend(kyc_findings(usage_by_window[audit], registry, restricted, audit))
    return findings


def assess(
    *,
    window: Window,
    now: datetime,
    accounts: Sequence[Account],
    coverage: Sequence[CoverageEntry],
    aggregates: Mapping[Window, Aggregates],
    rules: Sequence[Rule],
    registry: Registry,
    restricted: Sequence[str],
    catalog: Catalog,
    band: Band,
    hour_sources: frozenset[str] | None = None,
    observations: Sequence[Observation] = (),
    coverage_by_window: Mapping[Window, Sequence[CoverageEntry]] | None = None,
    simultaneous: Mapping[tuple[str, str], SimultaneousPeak] | None = None,
) -> Assessment:
    """The assessment of `window`; `aggregates` holds the audited window and every window of
    `extra_windows(rules, window)`. `hour_sources`: the collectors that read accelerator-hours;
    `observations`: the stored intervals (true simultaneous peak; or `simultaneous`, the peaks
    already swept per account); `coverage_by_window`: the
    coverage of windows before the audited period (engine.stored_coverage.window_coverage)."""
    stored = dict(coverage_by_window or {})
    usage_by_window = {
        w: account_usage(accounts, agg, stored.get(w, coverage), catalog, band, hour_sources)
        for w, agg in aggregates.items()
    }
    findings = judge_rules(
        rules, window, usage_by_window, catalog, registry, restricted, frozenset(stored)
    )
    return compose(
        window=window,
        now=now,
        usages=usage_by_window[window],
        coverage=coverage,
        findings=findings,
        registry=registry,
        catalog=catalog,
        band=band,
        daily_hours=(
            hours_by_day(aggregates[window].daily_hours)
            if aggregates[window].daily_hours
            else daily_accelerator_hours(aggregates[window].daily)
        ),
        daily_chip_hours=(
            chip_hours_by_day(aggregates[window].daily_hours)
            if aggregates[window].daily_hours
            else daily_chip_hours(aggregates[window].daily)
        ),
        training_runs=tuple(
            detect_training_runs(
                daily_series(agg.daily_hours for agg in aggregates.values())
                if any(agg.summed for agg in aggregates.values())
                else [r for agg in aggregates.values() for r in agg.daily],
                registry,
                catalog,
                band,
                now,
            )
        ),
        simultaneous_peaks=(
            dict(simultaneous)
            if simultaneous is not None
            else peaks_from_intervals(observations, window)
        ),
    )


def compose(
    *,
    window: Window,
    now: datetime,
    usages: Sequence[AccountUsage],
    coverage: Sequence[CoverageEntry],
    findings: Sequence[Finding],
    registry: Registry,
    catalog: Catalog,
    band: Band,
    daily_hours: Mapping[tuple[str, str], Mapping[datetime, float]] | None = None,
    daily_chip_hours: ChipDays | None = None,
    training_runs: Sequence[TrainingRun] = (),
    simultaneous_peaks: Mapping[tuple[str, str], SimultaneousPeak] | None = None,
) -> Assessment:
    """The Assessment of usage already rolled up per account and findings already judged."""
    ordered_usages = sorted(usages, key=lambda u: u.key)
    ordered = sorted(
        findings, key=lambda f: (STATUS_ORDER[f.status], f.rule.id, f.scope_key, f.window.start)
    )
    customers = []
    for scope in scopes_for("customer", ordered_usages, registry):
        combined = scope_usage(scope).usage
        customers.append(
            CustomerUsage(
                registry.customers[scope.key],
                scope.members,
                combined,
                implied_cluster_flops(combined.peak_concurrent, catalog),
            )
        )
    chip_totals: dict[str, float] = {}
    for u in ordered_usages:
        for chip, hours in u.accelerator_hours.items():
            chip_totals[chip] = chip_totals.get(chip, 0.0) + hours
    return Assessment(
        window=window,
        generated_at=now,
        accounts=tuple(ordered_usages),
        customers=tuple(customers),
        coverage=summarize_coverage(ordered_usages, coverage),
        findings=tuple(ordered),
        chip_totals=chip_totals,
        daily_hours=daily_hours or {},
        methodology=tuple(methodology(catalog, *band)),
        registry=registry,
        training_runs=tuple(training_runs),
        simultaneous_peaks=simultaneous_peaks or {},
        daily_chip_hours=daily_chip_hours or {},
    )
