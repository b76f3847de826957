"""The JSON audit report: the context written through the contract models (`reports.contract`)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from computewatch.domain.metrics import METRICS
from computewatch.reports.context import (
    AuditContext,
    CustomerView,
    GapView,
    UsageView,
)
from computewatch.reports.contract import (
    Account,
    AccountBand,
    AccountCoverage,
    AuditReport,
    Band,
    BillingExports,
    Coverage,
    Customer,
    CustomerRollup,
    Downtime,
    ExportDeliveryDoc,
    ExportFile,
    ExportOverlap,
    ExportVarianceDoc,
    Finding,
    Gap,
    Period,
    Reconciliation,
    Run,
    Scope,
    SimultaneousPeak,
    Tokens,
    TrainingRun,
)
from computewatch.reports.exports_view import ExportsView
from computewatch.reports.finding_view import FindingView

SCHEMA_FILE = "schemas/audit-1.schema.json"


@cache
def committed_schema() -> dict[str, Any]:
    text = resources.files("computewatch.reports").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_contract(doc: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if `doc` breaks the committed contract."""
    jsonschema.Draft202012Validator(committed_schema()).validate(doc)


def _round(x: float) -> float:
    return round(x, 6)


def _gap(g: GapView) -> Gap:
    return Gap(
        provider=g.provider,
        account_id=g.account_id,
        region=g.region,
        collector=g.collector,
        error=g.error_code,
        message=g.error_message,
    )


def _customer(c: CustomerView) -> Customer:
    return Customer(
        id=c.id,
        legal_name=c.legal_name,
        country=c.country,
        country_groups=list(c.country_groups),
        address=c.address,
        beneficial_owners=list(c.beneficial_owners),
        intermediary=c.intermediary,
        ultimate_parent=c.ultimate_parent,
    )


def _metric_fields(u: UsageView) -> dict[str, Any]:
    """Every JSON metric field of the table, empty where nothing was measured."""
    out: dict[str, Any] = {}
    for d in METRICS:
        if not d.json_field:
            continue
        m = u.metric(str(d.metric))
        values = () if m is None else m.values
        if d.json_optional and not values:
            continue  # added after the contract's release: absent where nothing was recorded
        out[d.json_field] = {
            k: (int(m.shown(v)) if m is not None and d.integer else _round(v)) for k, v in values
        }
    return out


def _tokens(u: UsageView) -> dict[str, Any]:
    return {t.model: Tokens(**dict(t.values)) for t in u.tokens}


def _finding(f: FindingView) -> Finding:
    return Finding(
        id=f.id,
        rule=f.rule_id,
        title=f.title,
        status=f.status,  # type: ignore[arg-type]
        severity=f.severity,  # type: ignore[arg-type]
        scope=Scope(kind=f.scope_kind, key=f.scope_key),  # type: ignore[arg-type]
        metric=f.metric,
        comparison=f.comparison,  # type: ignore[arg-type]
        value=f.value,
        threshold=f.threshold,
        window=Period(start=f.window_start.isoformat(), end=f.window_end.isoformat()),
        legal_basis=f.legal_basis,
        citation=f.citation,
        legal_status=f.legal_status,  # type: ignore[arg-type]
        framing=f.framing,
        detail=f.detail,
        evidence=[*f.evidence, *(f"account {m}" for m in f.members)],
        lifecycle=f.lifecycle,  # type: ignore[arg-type]
        first_seen=None if f.first_seen is None else f.first_seen.isoformat(),
        scope_label=f.scope_label,
    )


def billing_exports(view: ExportsView) -> BillingExports | None:
    """The *Billing exports* section as data; None (left out) where no export was read."""
    if not view.shown:
        return None
    return BillingExports(
        deliveries=[
            ExportDeliveryDoc(
                export=d.export,
                billing_period=d.billing_period,
                delivery_id=d.delivery_id,
                format=d.format,
                schema_version=d.schema_version,
                manifest=d.manifest,
                files=[ExportFile(name=n, etag=e, size=z) for n, e, z in d.files],
                queries=dict(d.queries),
            )
            for d in view.deliveries
        ],
        reconciliation=[
            ExportVarianceDoc(
                account=v.account,
                name=v.name,
                metric=v.metric_id,
                key=v.key,
                export=_round(v.export),
                live=_round(v.live),
                variance_pct=None if v.variance_pct is None else round(v.variance_pct, 4),
            )
            for v in view.variances
        ],
        overlaps=[
            ExportOverlap(
                billing_period=o.billing_period,
                account=f"{o.provider}:{o.account_id}",
                name=o.name,
                counted=o.counted,
                not_counted=list(o.not_counted),
            )
            for o in view.overlaps
        ],
    )


def build_report(ctx: AuditContext) -> AuditReport:
    accounts = [
        Account(
            provider=a.provider,
            account_id=a.account_id,
            name=a.name,
            customer=None if a.customer is None else _customer(a.customer),
            coverage=AccountCoverage(
                status=a.coverage_status,  # type: ignore[arg-type]
                units_read=a.units_read,
                units_total=a.units_total,
                gaps=[_gap(g) for g in a.gaps],
            ),
            **_metric_fields(a),
            estimated_training_flop=None
            if a.flop is None
            else AccountBand(
                low=a.flop.low,
                central=a.flop.central,
                high=a.flop.high,
                excluded_accelerator_hours={c: _round(h) for c, h in a.flop.excluded},
            ),
            tokens=_tokens(a),
            billing_reconciliation={
                r.chip: Reconciliation(billing=_round(r.billing), inventory=_round(r.inventory))
                for r in a.reconciliation
            },
            tpp_hours=None if a.tpp_hours is None else _round(a.tpp_hours),
            methods=dict(a.methods),
        )
        for a in ctx.accounts
    ]
    customers = [
        CustomerRollup(
            customer=_customer(c.customer),
            accounts=list(c.accounts),
            coverage=c.coverage_status,
            **_metric_fields(c),
            estimated_training_flop=None
            if c.flop is None
            else Band(low=c.flop.low, central=c.flop.central, high=c.flop.high),
            tokens=_tokens(c),
        )
        for c in ctx.customers
    ]
    cov = ctx.coverage
    return AuditReport(
        schema=ctx.schema,  # type: ignore[arg-type]
        report_id=ctx.report_id,
        generated_at=ctx.generated_at.isoformat(),
        reporting_entity=ctx.reporting_entity,
        period=Period(start=ctx.period_start.isoformat(), end=ctx.period_end.isoformat()),
        coverage=Coverage(
            status=cov.status,  # type: ignore[arg-type]
            accounts_total=cov.accounts_total,
            accounts_complete=cov.accounts_complete,
            accounts_partial=cov.accounts_partial,
            accounts_failed=cov.accounts_failed,
            gaps=[_gap(g) for g in cov.gaps],
            downtime=[
                Downtime(
                    start=d.start.isoformat(),
                    end=d.end.isoformat(),
                    hours=round(d.hours, 4),
                    accounts=list(d.accounts),
                    units=d.units,
                )
                for d in cov.downtime
            ],
        ),
        accounts=accounts,
        customers=customers,
        findings=[_finding(f) for f in ctx.findings],
        run=Run(
            id=ctx.run_id,
            tool_version=ctx.tool_version,
            config_digest=ctx.config_digest,
            api_calls=dict(ctx.api_calls),
        ),
        legal_status_legend=dict(ctx.legal_status_legend),
        training_runs=[
            TrainingRun(
                owner=r.owner,
                label=r.label,
                start=r.start.isoformat(),
                end=r.end.isoformat(),
                ongoing=r.ongoing,
                accounts=list(r.accounts),
                chips=list(r.chips),
                peak_concurrent_accelerators=r.peak_concurrent,
                accelerator_hours=r.accelerator_hours,
                compute_capacity=AccountBand(
                    low=r.flop.low,
                    central=r.flop.central,
                    high=r.flop.high,
                    excluded_accelerator_hours=dict(r.flop.excluded_hours),
                ),
                thresholds_crossed=list(r.crossed),
            )
            for r in ctx.training_runs
        ],
        simultaneous_peaks=[
            SimultaneousPeak(
                account=p.account,
                total=p.total,
                by_chip=dict(p.by_chip),
                by_region={r: dict(chips) for r, chips in p.by_region},
                cluster_ops_by_region=dict(p.cluster_ops_by_region),
            )
            for p in ctx.simultaneous_peaks
        ],
        country_groups_source=ctx.country_groups_source,
        billing_exports=billing_exports(ctx.exports),
    )


def to_contract(ctx: AuditContext) -> dict[str, Any]:
    """The report as a JSON-ready document (validated by the models while it is built)."""
    doc: dict[str, Any] = build_report(ctx).model_dump(mode="json", by_alias=True)
    return doc
