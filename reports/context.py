"""The typed context every report format renders from, built from the engine's Assessment.

It formats and orders; it never recomputes a total, an estimate or a coverage level. Metric
sections are driven by the metric table, so a new metric appears in every format by itself.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime

from computewatch.config.customers import Customer, Registry
from computewatch.domain import CoverageEntry, RunInfo
from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog
from computewatch.domain.countries import country_groups
from computewatch.domain.legal import LEGEND
from computewatch.domain.metrics import METRICS, Group, Key, MetricDef, token_metrics
from computewatch.engine.assess import Assessment
from computewatch.engine.downtime import Downtime
from computewatch.engine.estimates import MethodNote
from computewatch.engine.training_runs import TrainingRun
from computewatch.engine.usage import AccountUsage
from computewatch.reports.charts import ChartsView, build_charts
from computewatch.reports.exports_view import ExportsView, exports_view
from computewatch.reports.finding_view import FindingView, finding_view
from computewatch.reports.peaks_view import PeakView, peak_views

SCHEMA_ID = "computewatch.audit/1"


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
class MetricValues:
    """One metric of one account or customer: its definition and quantities by key."""

    d: MetricDef
    values: tuple[tuple[str, float], ...]

    @property
    def metric(self) -> str:
        return str(self.d.metric)

    def shown(self, value: float) -> float:
        """Whole accelerators and jobs are shown as whole numbers (a fraction rounds up)."""
        return math.ceil(value - 1e-9) if self.d.integer else value


@dataclass(frozen=True, slots=True)
class TokenView:
    model: str
    values: tuple[tuple[str, float], ...]  # (token role, quantity), in metric-table order

    def get(self, role: str) -> float | None:
        return next((q for r, q in self.values if r == role), None)

    @property
    def input(self) -> float:
        return self.get("input") or 0.0

    @property
    def output(self) -> float:
        return self.get("output") or 0.0

    @property
    def invocations(self) -> float:
        return self.get("invocations") or 0.0

    @property
    def tokens(self) -> float:
        """Every token processed (the roles that count as tokens)."""
        roles = {d.role for d in token_metrics() if d.counts_as_tokens}
        return sum(q for r, q in self.values if r in roles)


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
    ultimate_parent: str | None = None  # "Name (CC)": the headquarters test looks through it
    contact: str = ""
    payment_source: str = ""


@dataclass(frozen=True, slots=True)
class UsageView:
    """What the reports show of one account's or one customer's usage."""

    coverage_status: str
    metrics: tuple[MetricValues, ...]  # every metric with quantities, in table order
    accelerator_hours: tuple[ChipHours, ...]
    tokens: tuple[TokenView, ...]
    flop: FlopView | None

    def metric(self, name: str) -> MetricValues | None:
        return next((m for m in self.metrics if m.metric == name), None)

    @property
    def training_signals(self) -> tuple[MetricValues, ...]:
        return tuple(m for m in self.metrics if m.d.group is Group.TRAINING)

    @property
    def peak_concurrent(self) -> tuple[tuple[str, int], ...]:
        m = self.metric("peak_concurrent_accelerators")
        return () if m is None else tuple((c, int(m.shown(v))) for c, v in sorted(m.values))


@dataclass(frozen=True, slots=True)
class AccountView(UsageView):
    provider: str
    account_id: str
    name: str
    customer: CustomerView | None
    units_read: int
    units_total: int
    gaps: tuple[GapView, ...]
    reconciliation: tuple[Reconciliation, ...]
    methods: tuple[tuple[str, str], ...]
    tpp_hours: float | None
    tpp_left_out: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CustomerRollup(UsageView):
    """One customer's usage across all its accounts and clouds."""

    customer: CustomerView
    accounts: tuple[str, ...]  # "aws:123456789012", "azure:<subscription>"
    implied_cluster_flops: float


@dataclass(frozen=True, slots=True)
class CoverageView:
    status: str
    accounts_total: int
    accounts_complete: int
    accounts_partial: int
    accounts_failed: int
    gaps: tuple[GapView, ...]
    downtime: tuple[Downtime, ...] = ()  # which hours the daemon missed, which accounts


@dataclass(frozen=True, slots=True)
class AuditContext:
    report_id: str
    schema: str
    title: str
    generated_at: datetime
    reporting_entity: str
    period_start: datetime
    period_end: datetime
    coverage: CoverageView
    accounts: tuple[AccountView, ...]
    customers: tuple[CustomerRollup, ...]
    findings: tuple[FindingView, ...]
    headline_hours: tuple[ChipHours, ...]
    token_columns: tuple[tuple[str, str], ...]  # (role, heading) of every tokens table
    methodology: tuple[MethodNote, ...]
    run_id: int
    tool_version: str
    config_digest: str
    api_calls: tuple[tuple[str, int], ...]
    charts: ChartsView
    breaches: int
    unknowns: int
    country_groups_source: str = ""
    # (provider, account id, day, accelerator-hours): billing superseding inventory day by day
    daily_hours: tuple[tuple[str, str, datetime, float], ...] = ()
    # (provider, account id, chip, day, accelerator-hours): the XLSX "Daily hours" sheet
    daily_chip_hours: tuple[tuple[str, str, str, datetime, float], ...] = ()
    exports: ExportsView = field(default_factory=ExportsView)
    legal_status_legend: tuple[tuple[str, str], ...] = tuple(LEGEND.items())
    training_runs: tuple[TrainingRun, ...] = ()
    simultaneous_peaks: tuple[PeakView, ...] = ()


def _gap(e: CoverageEntry) -> GapView:
    return GapView(e.provider, e.account_id, e.region, e.collector, e.error_code, e.error_message)


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
        ultimate_parent=(
            None
            if c.ultimate_parent is None
            else f"{c.ultimate_parent.name} ({c.ultimate_parent.country})"
        ),
        contact=c.contact,
        payment_source=c.payment_source,
    )


def _usage_fields(u: AccountUsage, catalog: Catalog) -> dict[str, object]:
    metrics = []
    for d in METRICS:
        values = u.of(d.metric)
        if not values:
            continue
        order = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]) if d.key is Key.CHIP else kv)
        metrics.append(MetricValues(d, tuple(order)))
    tokens = tuple(
        TokenView(model, tuple(roles.items())) for model, roles in sorted(u.tokens().items())
    )
    flop = None
    if u.flop is not None:
        excluded = tuple(sorted(u.flop.excluded_hours.items()))
        flop = FlopView(u.flop.low, u.flop.central, u.flop.high, excluded)
    return {
        "coverage_status": str(u.coverage),
        "metrics": tuple(metrics),
        "accelerator_hours": _chip_hours(u.accelerator_hours, catalog),
        "tokens": tokens,
        "flop": flop,
    }


def _account_view(u: AccountUsage, catalog: Catalog, registry: Registry) -> AccountView:
    customer = registry.customer_of(u.account.provider, u.account.account_id)
    return AccountView(
        **_usage_fields(u, catalog),  # type: ignore[arg-type]
        provider=u.account.provider,
        account_id=u.account.account_id,
        name=u.account.name,
        customer=None if customer is None else _customer_view(customer, registry),
        units_read=u.units_read,
        units_total=u.units_total,
        gaps=tuple(_gap(g) for g in sorted(u.gaps, key=lambda e: (e.region, e.collector))),
        reconciliation=tuple(
            Reconciliation(c, b, i) for c, (b, i) in sorted(u.reconciliation.items())
        ),
        methods=tuple((metric, ", ".join(sorted(ms))) for metric, ms in sorted(u.methods.items())),
        tpp_hours=None if u.tpp is None else u.tpp.value,
        tpp_left_out=() if u.tpp is None else u.tpp.left_out,
    )


def report_id_for(report_key: str) -> str:
    """The id a scheduled report ("monthly:2026-10") always gets, on every retry."""
    return "CW-" + hashlib.sha256(report_key.encode()).hexdigest()[:12].upper()


def build_audit_context(
    assessment: Assessment,
    run: RunInfo,
    *,
    reporting_entity: str,
    catalog: Catalog,
    report_key: str | None = None,
) -> AuditContext:
    a = assessment
    registry = a.registry
    accounts = tuple(_account_view(u, catalog, registry) for u in a.accounts)
    labels = {f"{v.provider}:{v.account_id}": v.name or v.account_id for v in accounts}
    labels.update({f"customer:{c.id}": c.legal_name for c in registry.customers.values()})
    labels.update({f"intermediary:{c.id}": c.legal_name for c in registry.customers.values()})
    customers = tuple(
        CustomerRollup(
            **_usage_fields(c.usage, catalog),  # type: ignore[arg-type]
            customer=_customer_view(c.customer, registry),
            accounts=tuple(m.label for m in c.members),
            implied_cluster_flops=c.implied_cluster_flops,
        )
        for c in a.customers
    )
    window = a.window
    key = (
        report_key
        or f"{run.run_id}|{window.label()}|{a.generated_at.isoformat()}|{run.config_digest}"
    )
    present = {role for v in (*accounts, *customers) for t in v.tokens for role, _ in t.values}
    groups = country_groups()
    return AuditContext(
        report_id=report_id_for(key),
        schema=SCHEMA_ID,
        title="Compute usage audit",
        generated_at=a.generated_at,
        reporting_entity=reporting_entity,
        period_start=window.start,
        period_end=window.end,
        coverage=CoverageView(
            str(a.coverage.level),
            a.coverage.accounts_total,
            a.coverage.accounts_complete,
            a.coverage.accounts_partial,
            a.coverage.accounts_failed,
            tuple(_gap(e) for e in a.coverage.gaps),
            a.coverage.downtime,
        ),
        accounts=accounts,
        customers=customers,
        findings=tuple(finding_view(f, a.states.get(f.id), labels) for f in a.findings),
        headline_hours=_chip_hours(dict(a.chip_totals), catalog),
        token_columns=tuple(
            (d.role, d.title) for d in token_metrics() if d.always_shown or d.role in present
        ),
        methodology=a.methodology,
        run_id=run.run_id,
        tool_version=run.tool_version,
        config_digest=run.config_digest,
        api_calls=run.api_calls,
        charts=build_charts(a),
        breaches=a.breaches,
        unknowns=a.unknowns,
        country_groups_source=f"{groups.source}, as of {groups.as_of} ({groups.status})",
        daily_hours=tuple(
            (p, acct, day, h)
            for (p, acct), per_day in sorted(a.daily_hours.items())
            for day, h in sorted(per_day.items())
        ),
        daily_chip_hours=tuple(
            (p, acct, chip, day, h)
            for (p, acct, chip), per_day in sorted(a.daily_chip_hours.items())
            for day, h in sorted(per_day.items())
        ),
        exports=exports_view(a),
        training_runs=a.training_runs,
        simultaneous_peaks=peak_views(a, catalog),
    )
