"""A large, hostile audit context for the report-layout tests and bench/report_render.py: many
accounts and customers, findings of every status and legal status, one unbroken 5,000-character
customer name, long CJK names, a long cloud error message and a chart of five customers."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from computewatch.config.customers import AccountRef, Customer, Registry
from computewatch.domain import (
    Account,
    CoverageEntry,
    CoverageStatus,
    Finding,
    FindingStatus,
    LegalStatus,
    Rule,
    RunInfo,
    Window,
)
from computewatch.domain.catalog import Catalog
from computewatch.reports.context import AuditContext
from tests.helpers.usage import assessment, context, usage

OCT = Window.month("2026-10")
HOSTILE_NAME = "X" * 5000  # one word, no break opportunity
CJK_LONG = "北京示例人工智能有限公司" * 6
LEGAL = (LegalStatus.IN_FORCE, LegalStatus.PROPOSED, LegalStatus.INTERNAL_POLICY)


def _name(i: int) -> str:
    if i == 0:
        return HOSTILE_NAME
    if i % 7 == 1:
        return f"{CJK_LONG} {i}"
    return f"Customer {i:04d} Holding Company Limited"


def fleet_context(
    catalog: Catalog, accounts: int = 1000, findings: int = 1000, breach_every: int = 20
) -> AuditContext:
    """`accounts` accounts (one customer each; every 50th unreadable, from the 4th) and `findings` findings:
    every `breach_every`th a BREACH, every 33rd UNKNOWN, the rest OK, over three legal statuses."""
    day = OCT.start
    usages, coverage, customers = [], [], []
    daily: dict[tuple[str, str], dict[object, float]] = {}
    chips: dict[tuple[str, str, str], dict[object, float]] = {}
    for i in range(accounts):
        aid = f"{100000000000 + i}"
        failed = i % 50 == 3
        entry = CoverageEntry(
            "aws",
            aid,
            "us-east-1",
            "aws.ec2",
            OCT.start,
            OCT.end,
            CoverageStatus.FAILED if failed else CoverageStatus.OK,
            "AccessDenied" if failed else "",
            ("User is not authorized to perform ec2:DescribeInstances " * 20) if failed else "",
        )
        coverage.append(entry)
        hours = {} if failed else {"H100": 100.0 + i, "A100": float(i % 13)}
        usages.append(
            usage(
                Account("aws", aid, _name(i)),
                [entry],
                catalog=catalog,
                accelerator_hours=hours,
                peak_concurrent_accelerators={"H100": 8.0} if hours else {},
            )
        )
        daily[("aws", aid)] = {day + timedelta(days=d): 3.0 + (i % 5) for d in range(31)}
        for chip in hours:  # the XLSX "Daily hours" sheet: per account, chip and day
            chips[("aws", aid, chip)] = {day + timedelta(days=d): 1.5 + (i % 5) for d in range(31)}
        customers.append(
            Customer(
                id=f"c{i}",
                legal_name=_name(i),
                country="CN" if i % 7 == 1 else "DE",
                accounts=[AccountRef(provider="aws", id=aid)],
            )
        )
    out = []
    for j in range(findings):
        i = j % accounts
        status = (
            FindingStatus.BREACH
            if j % breach_every == 0
            else FindingStatus.UNKNOWN
            if j % 33 == 0
            else FindingStatus.OK
        )
        rule = Rule(
            id=f"rule-{j % 3}",
            title=f"Accelerator-hours per account above {1000 * (j % 3 + 1)} " + "very " * 10,
            legal_basis="15 CFR 702.7 (proposed)",
            citation="89 FR 5698",
            legal_status=LEGAL[j % 3],
            metric="accelerator_hours",
            scope="account",
            window="calendar_month",
            comparison=">",
            threshold=1e25 if j % 3 == 2 else 1000.0 * (j % 3 + 1),
            severity="high",
        )
        value = None if status is FindingStatus.UNKNOWN else 1.234e25 + j
        out.append(
            Finding(
                rule, status, "account", f"aws:{100000000000 + i}", OCT, value, rule.threshold, ""
            )
        )
    a = assessment(
        usages,
        coverage,
        out,
        OCT,
        OCT.end + timedelta(days=1),
        catalog,
        Registry(customers),
        daily_hours=daily,  # type: ignore[arg-type]
    )
    a = dataclasses.replace(a, daily_chip_hours=chips)
    return context(a, catalog, run=RunInfo(9, "0.1.0", "0" * 64, (("ec2:DescribeInstances", 1),)))
