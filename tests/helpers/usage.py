"""Building the engine's views directly (unit tests of the engine and the reports)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from computewatch.config.customers import Registry
from computewatch.domain import (
    Account,
    CoverageEntry,
    CoverageLevel,
    CoverageStatus,
    Finding,
    Metric,
    RunInfo,
    Window,
)
from computewatch.domain.catalog import Catalog
from computewatch.engine.assess import Assessment, compose
from computewatch.engine.estimates import tpp_hours, training_flop
from computewatch.engine.usage import AccountUsage, coverage_level
from computewatch.reports.context import AuditContext, build_audit_context

BAND = (0.25, 0.40, 0.55)


def usage(
    account: Account,
    entries: Sequence[CoverageEntry] = (),
    *,
    level: CoverageLevel | None = None,
    read: int | None = None,
    total: int | None = None,
    catalog: Catalog | None = None,
    **metrics: Mapping[str, float],
) -> AccountUsage:
    """An account's usage: `metrics` are metric names -> {chip/model/sku: quantity}; with a
    catalog, the estimates are derived as the engine derives them."""
    u = AccountUsage(
        account=account,
        coverage=level or coverage_level(entries),
        gaps=[e for e in entries if e.status is CoverageStatus.FAILED],
        units_read=sum(1 for e in entries if e.status is CoverageStatus.OK)
        if read is None
        else read,
        units_total=len(entries) if total is None else total,
    )
    for name, values in metrics.items():
        for key, qty in values.items():
            u.add(Metric(name), key, qty)
    if catalog is not None and u.coverage is not CoverageLevel.FAILED:
        u.flop = training_flop(u.accelerator_hours, catalog, *BAND)
        u.tpp = tpp_hours(u.accelerator_hours, catalog)
    return u


def assessment(
    usages: Sequence[AccountUsage],
    coverage: Sequence[CoverageEntry],
    findings: Sequence[Finding],
    window: Window,
    now: datetime,
    catalog: Catalog,
    registry: Registry | None = None,
    daily_hours: Mapping[tuple[str, str], Mapping[datetime, float]] | None = None,
) -> Assessment:
    return compose(
        window=window,
        now=now,
        usages=usages,
        coverage=coverage,
        findings=findings,
        registry=registry or Registry([]),
        catalog=catalog,
        band=BAND,
        daily_hours=daily_hours,
    )


def context(
    a: Assessment,
    catalog: Catalog,
    *,
    reporting_entity: str = "Example Cloud Reseller GmbH",
    run: RunInfo | None = None,
) -> AuditContext:
    return build_audit_context(
        a,
        run or RunInfo(7, "0.1.0", "d" * 64, (("ec2:DescribeInstances", 3),)),
        reporting_entity=reporting_entity,
        catalog=catalog,
    )
