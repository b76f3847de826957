"""A small audit context for the evidence, annex, PDF and mail tests (built the way the pipeline
builds it, through `build_audit_context`), with adversarial and non-Latin names."""

from __future__ import annotations

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
    Window,
)
from computewatch.domain.catalog import Catalog
from computewatch.engine.estimates import methodology, training_flop
from computewatch.engine.usage import AccountUsage
from computewatch.reports.context import AuditContext, build_audit_context

OCT = Window.month("2026-10")
CHINESE = "北京示例人工智能有限公司"
HTML_NAME = '<b>Bold & "quoted"</b> Ltd'
LONG_NAME = "Very Long Holding Company " * 12


def sample_context(
    catalog: Catalog,
    *,
    account_name: str = CHINESE,
    rule_title: str = "Large training run",
    other_names: tuple[str, ...] = (HTML_NAME, LONG_NAME),
) -> AuditContext:
    """Account 1 (named `account_name`) used H100s and Claude; account 2 could not be read."""
    bad = CoverageEntry(
        "aws",
        "222222222222",
        "us-east-1",
        "aws.ec2",
        OCT.start,
        OCT.end,
        CoverageStatus.FAILED,
        "AccessDenied",
        "not authorized",
    )
    ok = CoverageEntry(
        "aws", "111111111111", "us-east-1", "aws.ec2", OCT.start, OCT.end, CoverageStatus.OK
    )
    usages = [
        AccountUsage(
            Account("aws", "111111111111", account_name),
            "complete",
            [],
            1,
            1,
            accelerator_hours={"H100": 6000.0},
            peak_concurrent={"H100": 8.0},
            tokens={
                "anthropic.claude-3-5-sonnet": {"input": 1e6, "output": 2e5, "invocations": 30}
            },
        ),
        AccountUsage(Account("aws", "222222222222", "denied"), "failed", [bad], 0, 1),
    ]
    usages += [
        AccountUsage(Account("aws", f"33333333333{i}", name), "complete", [], 1, 1)
        for i, name in enumerate(other_names)
    ]
    for u in usages:
        if u.coverage_status != "failed":
            u.flop = training_flop(u.accelerator_hours, catalog, 0.25, 0.4, 0.55)
    rule = Rule(
        id="r1",
        title=rule_title,
        legal_basis="Internal policy",
        citation="",
        legal_status=LegalStatus.INTERNAL_POLICY,
        metric="accelerator_hours",
        scope="account",
        window="calendar_month",
        comparison=">",
        threshold=5000,
        severity="high",
    )
    findings = [
        Finding(rule, FindingStatus.BREACH, "account", "aws:111111111111", OCT, 6000.0, 5000, ""),
        Finding(
            rule, FindingStatus.UNKNOWN, "account", "aws:222222222222", OCT, None, 5000, "no data"
        ),
    ]
    return build_audit_context(
        usages=usages,
        coverage=[ok, bad],
        findings=findings,
        window=OCT,
        generated_at=OCT.end + timedelta(days=1),
        reporting_entity="Example Cloud Reseller GmbH",
        catalog=catalog,
        methodology=methodology(catalog, 0.25, 0.4, 0.55),
        run_id=7,
        tool_version="0.1.0",
        config_digest="0" * 64,
        api_calls={"ec2:DescribeInstances": 2},
        registry=Registry(
            [
                Customer(
                    id="bj-ai",
                    legal_name=CHINESE,
                    country="CN",
                    accounts=[AccountRef(provider="aws", id="111111111111")],
                )
            ]
        ),
    )
