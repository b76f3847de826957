"""A small audit context for the evidence, annex, PDF and mail tests (built the way the pipeline
builds it, through `build_audit_context`), with adversarial and non-Latin names."""

from __future__ import annotations

from datetime import timedelta

from computewatch.config.customers import AccountRef, Customer, Registry
from computewatch.domain import (
    Account,
    CoverageEntry,
    CoverageLevel,
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
CHINESE = "北京示例人工智能有限公司"
HTML_NAME = '<b>Bold & "quoted"</b> Ltd'
LONG_NAME = "Very Long Holding Company " * 12


def sample_context(
    catalog: Catalog,
    *,
    account_name: str = CHINESE,
    rule_title: str = "Large training run",
    other_names: tuple[str, ...] = (HTML_NAME, LONG_NAME),
    legal_status: LegalStatus = LegalStatus.INTERNAL_POLICY,
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
        usage(
            Account("aws", "111111111111", account_name),
            [ok],
            catalog=catalog,
            accelerator_hours={"H100": 6000.0},
            peak_concurrent_accelerators={"H100": 8.0},
            model_input_tokens={"anthropic.claude-3-5-sonnet": 1e6},
            model_output_tokens={"anthropic.claude-3-5-sonnet": 2e5},
            model_invocations={"anthropic.claude-3-5-sonnet": 30},
        ),
        usage(Account("aws", "222222222222", "denied"), [bad]),
    ]
    usages += [
        usage(
            Account("aws", f"33333333333{i}", name), level=CoverageLevel.COMPLETE, read=1, total=1
        )
        for i, name in enumerate(other_names)
    ]
    rule = Rule(
        id="r1",
        title=rule_title,
        legal_basis="Internal policy",
        citation="",
        legal_status=legal_status,
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
    registry = Registry(
        [
            Customer(
                id="bj-ai",
                legal_name=CHINESE,
                country="CN",
                accounts=[AccountRef(provider="aws", id="111111111111")],
            )
        ]
    )
    a = assessment(usages, [ok, bad], findings, OCT, OCT.end + timedelta(days=1), catalog, registry)
    return context(
        a,
        catalog,
        run=RunInfo(7, "0.1.0", "0" * 64, (("ec2:DescribeInstances", 2),)),
    )
