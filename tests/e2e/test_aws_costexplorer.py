"""Cost Explorer: billing-grade hours, pagination, never buying a final day twice, gaps."""

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from computewatch.app.exits import audit_exit_code
from computewatch.collectors.aws.costexplorer import CostExplorerCollector
from computewatch.collectors.base import CollectContext
from computewatch.collectors.permissions import aws_actions
from computewatch.demo.emulated_aws import EmulatedAws, InstanceSpec, MemberSpec
from computewatch.domain import Window, utc
from computewatch.domain.catalog import Catalog
from computewatch.reports.json_report import validate_contract
from tests.helpers.aws import audit, seed

OCT = Window.month("2026-10")
NOW = utc(2026, 11, 28, 12)
SCENARIO = [
    # Inventory sees 8 A100 x 10 days (its last launch); billing also saw 2 earlier days.
    MemberSpec(
        "trainer",
        (
            InstanceSpec(
                "p4d.24xlarge",
                "us-east-1",
                OCT.start + timedelta(days=9),
                stopped=OCT.start + timedelta(days=19),
            ),
        ),
    ),
    MemberSpec("quiet"),
]


def day_result(day: date, groups: list[tuple[str, str, float]]) -> dict[str, Any]:
    return {
        "TimePeriod": {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()},
        "Total": {},
        "Groups": [
            {
                "Keys": [acct, itype],
                "Metrics": {"UsageQuantity": {"Amount": str(hours), "Unit": "Hrs"}},
            }
            for acct, itype, hours in groups
        ],
        "Estimated": False,
    }


def billing_pages(trainer: str) -> list[dict[str, Any]]:
    days = [date(2026, 10, d) for d in range(1, 32)]
    billed = {date(2026, 10, d): 24.0 for d in (4, 5, *range(10, 20))}  # 12 days x 24 h
    results = [
        day_result(d, [(trainer, "p4d.24xlarge", billed[d])] if d in billed else []) for d in days
    ]
    # Two pages: the collector must follow NextPageToken.
    return [
        {"ResultsByTime": results[:16], "NextPageToken": "page-2", "DimensionValueAttributes": []},
        {"ResultsByTime": results[16:], "DimensionValueAttributes": []},
    ]


def test_billing_is_authoritative_and_variance_is_shown(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = seed(aws, SCENARIO)
    aws.inject_cost_and_usage(billing_pages(org.members["trainer"]))
    a = audit(aws, org, tmp_path, OCT, NOW, sqlite_url, formats=["json", "html"])
    validate_contract(a.report)
    trainer = a.account("trainer")
    assert trainer["accelerator_hours"] == {"A100": 12 * 24 * 8}  # billing, not billing + inventory
    assert trainer["billing_reconciliation"] == {
        "A100": {"billing": 10 * 24 * 8, "inventory": 10 * 24 * 8}
    }
    assert trainer["methods"]["accelerator_hours"] == "billing"
    assert a.outcome.api_calls["ce:GetCostAndUsage"] == 2  # one query, two pages, for all accounts
    assert a.account("quiet")["accelerator_hours"] == {}
    html = a.outcome.paths["html"].read_text("utf-8")
    assert "Billing (authoritative)" in html


def test_final_days_are_never_bought_twice(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = seed(aws, SCENARIO)
    aws.inject_cost_and_usage(billing_pages(org.members["trainer"]))
    first = audit(aws, org, tmp_path / "1", OCT, NOW, sqlite_url)
    second = audit(aws, org, tmp_path / "2", OCT, NOW + timedelta(hours=1), sqlite_url)
    assert "ce:GetCostAndUsage" not in second.outcome.api_calls
    assert (
        second.account("trainer")["accelerator_hours"]
        == first.account("trainer")["accelerator_hours"]
    )


def test_days_to_buy_skips_final_partial_and_future_days(catalog: Catalog) -> None:
    window = Window(utc(2026, 11, 1), utc(2026, 12, 1))
    ctx = CollectContext(
        window=window,
        now=utc(2026, 11, 20, 8),
        catalog=catalog,
        final_days={"aws.costexplorer": frozenset(date(2026, 11, d) for d in range(1, 10))},
    )
    days = CostExplorerCollector()._days_to_buy(ctx)
    assert days == [date(2026, 11, d) for d in range(10, 20)]


def test_denied_cost_explorer_is_an_organization_gap(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = seed(
        aws,
        SCENARIO,
        caller_actions=tuple(
            a for a in aws_actions("caller") if a not in CostExplorerCollector.permissions.actions
        ),
    )
    a = audit(aws, org, tmp_path, OCT, NOW, sqlite_url)
    gaps = a.report["coverage"]["gaps"]
    assert [(g["account_id"], g["collector"], g["error"]) for g in gaps] == [
        ("organization", "aws.costexplorer", "AccessDenied")
    ]
    assert a.report["coverage"]["status"] == "partial"
    # The accounts were still read through their inventory: a lower bound, clearly labelled.
    assert a.account("trainer")["accelerator_hours"] == {"A100": 10 * 24 * 8}
    assert a.account("trainer")["methods"]["accelerator_hours"] == "launch-time-estimate"
    assert audit_exit_code(a.outcome) == 4
