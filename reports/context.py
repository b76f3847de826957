"""The typed context every report format renders from; templates never see SDK objects or rows."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from computewatch.config.customers import Customer, Registry
from computewatch.domain import (
    CoverageEntry,
    CoverageStatus,
    Finding,
    FindingState,
    FindingStatus,
    Window,
)
from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog
from computewatch.domain.countries import country_groups
from computewatch.engine.estimates import MethodNote, implied_cluster_flops, tpp_hours
from computewatch.engine.scopes import scope_usage, scopes_for
from computewatch.engine.usage import AccountUsage
from computewatch.reports.charts import BarChart, LineChart, bar_chart, line_chart

SCHEMA_ID = "computewatch.audit/1"
STATUS_ORDER = {FindingStatus.BREACH: 0, FindingStatus.UNKNOWN: 1, FindingStatus.OK: 2}


@dataclass(frozen=True, slots=True)
class GapView:
    provider: str
    account_id: str
    region: str
    collector: str
    error_code: str
    error_message: str


@dataclass(frozen=True, slots=True)
class ChipHours:
    chip: str
    hours: float
    eccn_3a090: str
    unknown: bool


@dataclass(frozen=True, slots=True)
class TokenView:
    model: str
    input: float
    output: float
    invocations: float


@dataclass(frozen=True, slots=True)
class FlopView:
    low: float
    central: float
    high: float
    excluded: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Billing (authoritative) against the inventory estimate, over the days both cover."""

    chip: str
    billing: float
    inventory: float

    @property
    def variance_pct(self) -> float | None:
        return None if self.billing == 0 else 100.0 * (self.inventory - self.billing) / self.billing


@dataclass(frozen=True, slots=True)
class CustomerView:
    """Who stands behind an account (know-your-customer registry)."""

    id: str
    legal_name: str
    country: str
    country_groups: tuple[str, ...]
    address: str
    beneficial_owners: tuple[str, ...]
    intermediary: str | None  # legal name of the reseller the accounts are held through


@dataclass(frozen=True, slots=True)
class AccountView:
    provider: str
    account_id: str
    name: str
    customer: CustomerView | None
    coverage_status: str
    units_read: int
    units_total: int
    gaps: tuple[GapView, ...]
    accelerator_hours: tuple[ChipHours, ...]
    peak_concurrent: tuple[tuple[str, int], ...]
    flop: FlopView | None
    tokens: tuple[TokenView, ...]
    training_hours: tuple[ChipHours, ...]
    customization_jobs: tuple[tuple[str, int], ...]
    reconciliation: tuple[Reconciliation, ...]
    methods: tuple[tuple[str, str], ...]
    tpp_hours: float | None = None
    tpp_left_out: tuple[str, ...] = ()
    fine_tuning_hours: tuple[tuple[str, float], ...] = ()  # by model ("" = not attributable)


@dataclass(frozen=True, slots=True)
class CustomerRollup:
    """One customer's usage across all its accounts and clouds."""

    customer: CustomerView
    accounts: tuple[str, ...]  # "aws:123456789012", "azure:<subscription>"
    coverage_status: str
    accelerator_hours: tuple[ChipHours, ...]
    flop: FlopView | None
    tokens: tuple[TokenView, ...]
    implied_cluster_flops: float = 0.0  # peak concurrent accelerators x their peak FLOP/s


@dataclass(frozen=True, slots=True)
class FindingView:
    id: str
    rule_id: str
    title: str
    status: str
    severity: str
    scope_kind: str
    scope_key: str
    metric: str
    comparison: str
    value: float | None
    threshold: float
    window_start: datetime
    window_end: datetime
    legal_basis: str
    citation: str
    legal_status: str
    detail: str
    evidence: tuple[str, ...]
    scope_label: str = ""
    lifecycle: str = "new"
    first_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class CoverageSummary:
    status: str
    accounts_total: int
    accounts_complete: int
    accounts_partial: int
    accounts_failed: int
    gaps: tuple[GapView, ...]


@dataclass(frozen=True, slots=True)
class ChartsView:
    chip_mix: BarChart
    tokens_by_model: BarChart
    daily_top: LineChart


@dataclass(frozen=True, slots=True)
class AuditContext:
    report_id: str
    schema: str
    title: str
    generated_at: datetime
    reporting_entity: str
    period_start: datetime
    period_end: datetime
    coverage: CoverageSummary
    accounts: tuple[AccountView, ...]
    customers: tuple[CustomerRollup, ...]
    findings: tuple[FindingView, ...]
    headline_hours: tuple[ChipHours, ...]
    methodology: tuple[MethodNote, ...]
    run_id: int
    tool_version: str
    config_digest: str
    api_calls: tuple[tuple[str, int], ...]
    charts: ChartsView
    country_groups_source: str = ""

    @property
    def breaches(self) -> int:
        return sum(1 for f in self.findings if f.status == FindingStatus.BREACH)

    @property
    def unknowns(self) -> int:
        return sum(1 for f in self.findings if f.status == FindingStatus.UNKNOWN)


def _chip_hours(values: dict[str, float], catalog: Catalog) -> tuple[ChipHours, ...]:
    out = []
    for chip, hours in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])):
        info = catalog.chip(chip)
        out.append(
            ChipHours(chip, hours, info.eccn_3a090 if info else "unknown", chip == UNKNOWN_CHIP)
        )
    return tuple(out)


def _customer_view(c: Customer, registry: Registry) -> CustomerView:
    middle = registry.intermediary_of(c)
    return CustomerView(
        id=c.id,
        legal_name=c.legal_name,
        country=c.country,
        country_groups=tuple(sorted(registry.groups(c))),
        address=c.address,
        beneficial_owners=tuple(f"{o.name} ({o.country})" for o in c.beneficial_owners),
        intermediary=None if middle is None else middle.legal_name,
    )


def _flop_view(u: AccountUsage) -> FlopView | None:
    if u.flop is None:
        return None
    return FlopView(
        u.flop.low, u.flop.central, u.flop.high, tuple(sorted(u.flop.excluded_hours.items()))
    )


def _tokens(u: AccountUsage) -> tuple[TokenView, ...]:
    return tuple(
        TokenView(m, t["input"], t["output"], t["invocations"]) for m, t in sorted(u.tokens.items())
    )


def _rollups(
    usages: Sequence[AccountUsage], registry: Registry, catalog: Catalog
) -> tuple[CustomerRollup, ...]:
    out = []
    for scope in scopes_for("customer", usages, registry):
        combined = scope_usage(scope).usage
        out.append(
            CustomerRollup(
                customer=_customer_view(registry.customers[scope.key], registry),
                accounts=tuple(
                    f"{u.account.provider}:{u.account.account_id}" for u in scope.members
                ),
                coverage_status=combined.coverage_status,
                accelerator_hours=_chip_hours(combined.accelerator_hours, catalog),
                flop=_flop_view(combined),
                tokens=_tokens(combined),
                implied_cluster_flops=implied_cluster_flops(combined.peak_concurrent, catalog),
            )
        )
    return tuple(out)


def _account_view(u: AccountUsage, catalog: Catalog, registry: Registry) -> AccountView:
    gaps = tuple(
        GapView(g.provider, g.account_id, g.region, g.collector, g.error_code, g.error_message)
        for g in sorted(u.gaps, key=lambda e: (e.region, e.collector))
    )
    customer = registry.customer_of(u.account.provider, u.account.account_id)
    tpp, tpp_left_out = tpp_hours(u.accelerator_hours, catalog)
    return AccountView(
        provider=u.account.provider,
        account_id=u.account.account_id,
        name=u.account.name,
        customer=None if customer is None else _customer_view(customer, registry),
        coverage_status=u.coverage_status,
        units_read=u.units_read,
        units_total=u.units_total,
        gaps=gaps,
        accelerator_hours=_chip_hours(u.accelerator_hours, catalog),
        peak_concurrent=tuple(
            (c, math.ceil(v - 1e-9)) for c, v in sorted(u.peak_concurrent.items())
        ),
        flop=_flop_view(u),
        tokens=_tokens(u),
        training_hours=_chip_hours(u.training_hours, catalog),
        customization_jobs=tuple((m, round(n)) for m, n in sorted(u.customization_jobs.items())),
        reconciliation=tuple(
            Reconciliation(c, b, i) for c, (b, i) in sorted(u.reconciliation.items())
        ),
        methods=tuple((metric, ", ".join(sorted(ms))) for metric, ms in sorted(u.methods.items())),
        tpp_hours=None if u.coverage_status == "failed" else tpp,
        fine_tuning_hours=tuple(sorted(u.fine_tuning_hours.items())),
        tpp_left_out=tpp_left_out,
    )


def _finding_view(f: Finding, state: FindingState | None, labels: dict[str, str]) -> FindingView:
    return FindingView(
        id=f.id,
        rule_id=f.rule.id,
        title=f.rule.title,
        status=str(f.status),
        severity=f.rule.severity,
        scope_kind=f.scope_kind,
        scope_key=f.scope_key,
        metric=f.rule.metric,
        comparison=f.rule.comparison,
        value=f.value,
        threshold=f.threshold,
        window_start=f.window.start,
        window_end=f.window.end,
        legal_basis=f.rule.legal_basis,
        citation=f.rule.citation,
        legal_status=str(f.rule.legal_status),
        detail=f.detail,
        evidence=f.evidence,
        scope_label=labels.get(f.scope_key, f.scope_key),
        lifecycle="new" if state is None else state.lifecycle,
        first_seen=None if state is None else state.first_seen,
    )


def _charts(
    usages: Sequence[AccountUsage],
    registry: Registry,
    chip_totals: dict[str, float],
    window: Window,
    daily: Mapping[tuple[str, str], Mapping[datetime, float]],
) -> ChartsView:
    tokens: dict[str, float] = {}
    for u in usages:
        for model, t in u.tokens.items():
            tokens[model] = tokens.get(model, 0.0) + t["input"] + t["output"]
    names = {u.key: u.account.name or u.account.account_id for u in usages}
    per_label: dict[str, dict[datetime, float]] = {}
    for (provider, account), per_day in daily.items():
        if (provider, account) not in names:
            continue
        customer = registry.customer_of(provider, account)
        label = customer.legal_name if customer else names[(provider, account)]
        slot = per_label.setdefault(label, {})
        for day, h in per_day.items():
            slot[day] = slot.get(day, 0.0) + h
    days = [
        d.start.replace(hour=0, minute=0, second=0, microsecond=0) for d in window.day_windows()
    ]
    return ChartsView(
        chip_mix=bar_chart("Accelerator-hours by chip", "h", chip_totals),
        tokens_by_model=bar_chart("Tokens by model (input + output)", "tokens", tokens),
        daily_top=line_chart(
            "Accelerator-hours per day, top customers", "accelerator-hours", days, per_label
        ),
    )


def report_id_for(report_key: str) -> str:
    """The id a scheduled report ("monthly:2026-10") always gets, on every retry."""
    return "CW-" + hashlib.sha256(report_key.encode()).hexdigest()[:12].upper()


def build_audit_context(
    *,
    usages: Sequence[AccountUsage],
    coverage: Sequence[CoverageEntry],
    findings: Sequence[Finding],
    window: Window,
    generated_at: datetime,
    reporting_entity: str,
    catalog: Catalog,
    methodology: Sequence[MethodNote],
    run_id: int,
    tool_version: str,
    config_digest: str,
    api_calls: dict[str, int],
    registry: Registry | None = None,
    finding_states: Mapping[str, FindingState] | None = None,
    daily_hours: Mapping[tuple[str, str], Mapping[datetime, float]] | None = None,
    report_key: str | None = None,
) -> AuditContext:
    registry = registry or Registry([])
    states = finding_states or {}
    accounts = tuple(
        _account_view(u, catalog, registry) for u in sorted(usages, key=lambda u: u.key)
    )
    labels = {f"{a.provider}:{a.account_id}": a.name or a.account_id for a in accounts}
    labels.update({f"customer:{c.id}": c.legal_name for c in registry.customers.values()})
    labels.update({f"intermediary:{c.id}": c.legal_name for c in registry.customers.values()})
    gaps = tuple(
        GapView(e.provider, e.account_id, e.region, e.collector, e.error_code, e.error_message)
        for e in sorted(coverage, key=lambda e: (e.provider, e.account_id, e.region, e.collector))
        if e.status is CoverageStatus.FAILED
    )
    counts = {
        s: sum(1 for a in accounts if a.coverage_status == s)
        for s in ("complete", "partial", "failed")
    }
    if not accounts:
        overall = "failed" if gaps else "complete"
    elif counts["complete"] == len(accounts) and not gaps:
        overall = "complete"
    elif counts["failed"] == len(accounts):
        overall = "failed"
    else:
        overall = "partial"
    totals: dict[str, float] = {}
    for u in usages:
        for chip, h in u.accelerator_hours.items():
            totals[chip] = totals.get(chip, 0.0) + h
    ordered = sorted(
        findings, key=lambda f: (STATUS_ORDER[f.status], f.rule.id, f.scope_key, f.window.start)
    )
    report_id = (
        report_id_for(report_key)
        if report_key
        else (
            "CW-"
            + hashlib.sha256(
                # A report key ("monthly:2026-10") makes the id the same on a retry of that report.
                (
                    report_key
                    or f"{run_id}|{window.label()}|{generated_at.isoformat()}|{config_digest}"
                ).encode()
            )
            .hexdigest()[:12]
            .upper()
        )
    )
    return AuditContext(
        report_id=report_id,
        schema=SCHEMA_ID,
        title="Compute usage audit",
        generated_at=generated_at,
        reporting_entity=reporting_entity,
        period_start=window.start,
        period_end=window.end,
        coverage=CoverageSummary(
            overall, len(accounts), counts["complete"], counts["partial"], counts["failed"], gaps
        ),
        accounts=accounts,
        customers=_rollups(usages, registry, catalog),
        findings=tuple(_finding_view(f, states.get(f.id), labels) for f in ordered),
        headline_hours=_chip_hours(totals, catalog),
        methodology=tuple(methodology),
        run_id=run_id,
        tool_version=tool_version,
        config_digest=config_digest,
        api_calls=tuple(sorted(api_calls.items())),
        charts=_charts(usages, registry, totals, window, daily_hours or {}),
        country_groups_source=(
            f"{country_groups().source}, as of {country_groups().as_of} ({country_groups().status})"
        ),
    )
