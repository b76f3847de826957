"""The demo's billing exports: a CUR 2.0 delivery for the emulated AWS organization and a FOCUS
(FocusCost) delivery for the emulated Azure tenant, generated from the same scenario the live
collectors read (same accounts, instance types, days and models), so the report can reconcile the
two.

Deliberate differences, so the reconciliation shows something (and the export fills gaps):
- AWS: the export bills atlas-render-farm's p5.4xlarge from 02:00 on its launch day (22 h where
  the inventory estimates 24 h), and kestrel-analytics' Claude 3.5 Sonnet v2 input tokens 2 %
  above what CloudWatch publishes. halcyon-media, whose audit role cannot list instances, is in
  the export (the payer's record covers every account). kestrel-analytics' fine-tuning job (the
  live collector sees the job) is billed as customization training tokens on its creation day.
- Azure: tundra-contractor-sandbox, which answers 403 to the auditor, is billed outside the
  partner's agreement (a pay-as-you-go subscription), so it is not in the FOCUS export either:
  it stays an account nobody could read (unknown, never zero).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from computewatch.demo.billing_exports import (
    FOCUS_AZURE_SCHEMA,
    cur2_table,
    write_azure_delivery,
    write_delivery,
)
from computewatch.demo.emulated_aws import MANAGEMENT_ACCOUNT, MemberSpec, SeededOrg
from computewatch.demo.emulated_aws_usage import ModelUsage
from computewatch.demo.emulated_azure import TenantSpec
from computewatch.domain import Window

CUR_EXPORT = "demo-cur2"
FOCUS_EXPORT = "demo-focuscost"
REGION_CODES = {"us-east-1": "USE1", "us-west-2": "USW2"}
# Bedrock model id -> billed name (the inverse of collectors/exports/data/bedrock_models.yaml).
BILLED_NAMES = {
    "anthropic.claude-3-5-sonnet-20241022-v2:0": "Claude3.5SonnetV2",
    "meta.llama3-1-70b-instruct-v1:0": "Llama3.1-70B",
    "amazon.titan-embed-text-v2:0": "TitanEmbedTextV2",
}
# Azure OpenAI model -> (input meter, output meter) (collectors/exports/data/azure_openai_meters).
AZURE_METERS = {
    "gpt-4o": ("gpt-4o-1120 inp glbl tokens", "gpt-4o-1120 outp glbl tokens"),
    "gpt-4o-mini": ("gpt-4o-mini-0718 inp glbl tokens", "gpt-4o-mini-0718 outp glbl tokens"),
    "text-embedding-3-large": ("text-embedding-3-large tokens", ""),
    "o3-mini": ("o3 mini inp glbl tokens", "o3 mini outp glbl tokens"),
}
NOT_IN_FOCUS = frozenset({"tundra-contractor-sandbox"})
LATE_START_HOURS = 2.0  # atlas-render-farm's first day
CLAUDE_INPUT_FACTOR = 1.02  # kestrel's Claude input tokens, export against CloudWatch
# member -> (region, base model, day of the period, 1K tokens trained on): Bedrock customization
# billed per 1,000 training tokens, for the fine-tuning job demo/run.py seeds (created on day 7).
CUSTOMIZATION_TRAINING = {
    "kestrel-analytics": ("us-east-1", "meta.llama3-1-70b-instruct-v1:0", 6, 18_000.0),
}


def _overlap_hours(start: datetime, end: datetime | None, day: Window) -> float:
    lo, hi = max(start, day.start), min(end or day.end, day.end)
    return max(0.0, (hi - lo).total_seconds() / 3600.0)


def _line(
    account: str, name: str, day: Window, usage_type: str, amount: float, **kw: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "bill_bill_type": "Anniversary",
        "bill_billing_entity": "AWS",
        "bill_payer_account_id": MANAGEMENT_ACCOUNT,
        "bill_payer_account_name": "northwind-payer",
        "line_item_usage_account_id": account,
        "line_item_usage_account_name": name,
        "line_item_line_item_type": "Usage",
        "line_item_usage_start_date": day.start,
        "line_item_usage_end_date": day.end,
        "line_item_product_code": "AmazonEC2",
        "line_item_usage_type": usage_type,
        "line_item_operation": "RunInstances",
        "line_item_usage_amount": amount,
        "line_item_unblended_cost": round(amount * 1.7, 4),
        "pricing_unit": "Hrs",
        "pricing_term": "OnDemand",
        "product_servicecode": "AmazonEC2",
    }
    row.update(kw)
    return row


def cur2_rows(
    members: Iterable[MemberSpec],
    org: SeededOrg,
    period: Window,
    cost_explorer: dict[str, Any],
    models: dict[str, tuple[str, list[ModelUsage]]],
) -> list[dict[str, Any]]:
    """Instance-hours per account, type and day: Cost Explorer's daily figures where it has the
    account (the same billing record), the inventory's run intervals elsewhere; Bedrock tokens per
    model and day in 1K-token blocks. `models`: member name -> (region, daily usage)."""
    period_start = period.start.replace(tzinfo=None)
    common = {
        "bill_billing_period_start_date": period_start,
        "bill_billing_period_end_date": period.end.replace(tzinfo=None),
    }
    days = list(period.day_windows())
    names = {v: k for k, v in org.members.items()}
    region_of = {(m.name, i.instance_type): i.region for m in members for i in m.instances}
    billed: dict[tuple[str, str, int], float] = {}
    in_ce: set[str] = set()
    for n, result in enumerate(cost_explorer["ResultsByTime"]):
        for g in result["Groups"]:
            account, itype = g["Keys"]
            in_ce.add(account)
            hours = float(g["Metrics"]["UsageQuantity"]["Amount"])
            billed[(names[account], itype, n)] = hours
    for m in members:
        if org.members[m.name] in in_ce:
            continue
        for i in m.instances:
            for n, day in enumerate(days):
                h = i.count * _overlap_hours(i.launched, i.stopped, day)
                if h and m.name == "atlas-render-farm" and i.launched >= day.start:
                    h -= LATE_START_HOURS  # deliberate: billed from 02:00 on the launch day
                if h > 0:
                    key = (m.name, i.instance_type, n)
                    billed[key] = billed.get(key, 0.0) + h
    rows: list[dict[str, Any]] = []
    for (member, itype, n), hours in sorted(billed.items()):
        region = region_of[(member, itype)]
        rows.append(
            _line(
                org.members[member],
                member,
                days[n],
                f"{REGION_CODES[region]}-BoxUsage:{itype}",
                hours,
                product_instance_type=itype,
                product_region_code=region,
                **common,
            )
        )
    for member, (region, usage) in sorted(models.items()):
        for u in usage:
            billed_name = BILLED_NAMES[u.model_id]
            factor = CLAUDE_INPUT_FACTOR if billed_name.startswith("Claude") else 1.0
            for direction, qty in (("input", u.input_tokens * factor), ("output", u.output_tokens)):
                if not qty:
                    continue
                for day in days:
                    rows.append(
                        _line(
                            org.members[member],
                            member,
                            day,
                            f"{REGION_CODES[region]}-{billed_name}-{direction}-tokens",
                            qty / 1000.0,
                            line_item_product_code="AmazonBedrock",
                            product_servicecode="AmazonBedrock",
                            line_item_operation="InvokeModelInference",
                            pricing_unit="1K tokens",
                            product_region_code=region,
                            **common,
                        )
                    )
    for member, (region, model, n, blocks) in sorted(CUSTOMIZATION_TRAINING.items()):
        rows.append(
            _line(
                org.members[member],
                member,
                days[n],
                f"{REGION_CODES[region]}-{BILLED_NAMES[model]}-Customization-Training-Tokens",
                blocks,
                line_item_product_code="AmazonBedrock",
                product_servicecode="AmazonBedrock",
                line_item_operation="ModelCustomization",
                pricing_unit="1K tokens",
                product_region_code=region,
                **common,
            )
        )
    return rows


def write_demo_cur2(root: Path, rows: list[dict[str, Any]], period: Window) -> None:
    write_delivery(
        cur2_table(rows),
        root,
        CUR_EXPORT,
        f"{period.start:%Y-%m}",
        execution_id=f"demo-{period.start:%Y-%m}-final",
        account=MANAGEMENT_ACCOUNT,
    )


def _focus(
    sub_id: str, name: str, day: Window, period: Window, qty: float, unit: str, **kw: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "BillingAccountId": "/providers/Microsoft.Billing/billingAccounts/northwind-demo",
        "BillingAccountName": "Northwind Cloud Resale Ltd.",
        "BillingPeriodStart": period.start.replace(tzinfo=None),
        "BillingPeriodEnd": period.end.replace(tzinfo=None),
        "SubAccountId": f"/subscriptions/{sub_id}",
        "SubAccountName": name,
        "ChargeCategory": "Usage",
        "ChargePeriodStart": day.start.replace(tzinfo=None),
        "ChargePeriodEnd": day.end.replace(tzinfo=None),
        "ConsumedQuantity": qty,
        "ConsumedUnit": unit,
        "PricingQuantity": qty,
        "PricingUnit": unit,
        "BilledCost": round(qty * 1.1, 4),
        "EffectiveCost": round(qty * 1.1, 4),
    }
    row.update(kw)
    return row


def focus_rows(tenant: TenantSpec, period: Window) -> list[dict[str, Any]]:
    """VM and scale-set hours per size and day from the run intervals; Azure OpenAI tokens per
    model and day from the deployments' daily usage (in 1K-token blocks)."""
    rows: list[dict[str, Any]] = []
    days = list(period.day_windows())
    for sub in tenant.subscriptions:
        if sub.name in NOT_IN_FOCUS:
            continue
        machines = [(v.size, 1, v.runs) for v in sub.vms]
        machines += [(s.size, s.capacity, s.runs) for s in sub.scale_sets]
        for size, count, runs in machines:
            for day in days:
                hours = count * sum(_overlap_hours(a, b, day) for a, b in runs)
                if hours:
                    rows.append(
                        _focus(
                            sub.id,
                            sub.name,
                            day,
                            period,
                            hours,
                            "1 Hour",
                            ServiceName="Virtual Machines",
                            ServiceCategory="Compute",
                            x_SkuMeterName=size.removeprefix("Standard_").replace("_", " "),
                            x_SkuDetails=f'{{"ServiceType":"{size}"}}',
                        )
                    )
        for account in sub.accounts:
            for dep in account.deployments:
                meters = AZURE_METERS[dep.model]
                for u in dep.usage:
                    day = next(d for d in days if d.start.date() == u.day)
                    for meter, qty in zip(meters, (u.input_tokens, u.output_tokens), strict=True):
                        if meter and qty:
                            rows.append(
                                _focus(
                                    sub.id,
                                    sub.name,
                                    day,
                                    period,
                                    qty / 1000.0,
                                    "1K",
                                    ServiceName="Azure OpenAI",
                                    ServiceCategory="AI and Machine Learning",
                                    x_SkuMeterName=meter,
                                    x_SkuDetails="",
                                )
                            )
    return rows


def write_demo_focus(root: Path, rows: list[dict[str, Any]], period: Window) -> None:
    write_azure_delivery(
        cur2_table(rows, FOCUS_AZURE_SCHEMA),
        root,
        FOCUS_EXPORT,
        f"{period.start:%Y-%m}",
        "demo-run-final",
        f"{period.end:%Y-%m-%d}T04:00:00Z",
    )


def write_demo_exports(
    root: Path,
    members: list[MemberSpec],
    org: SeededOrg,
    tenant: TenantSpec,
    period: Window,
    cost_explorer: dict[str, Any],
    models: dict[str, tuple[str, list[ModelUsage]]],
) -> dict[str, Any]:
    """Write both deliveries under `root`; returns the `exports:` config section naming them."""
    write_demo_cur2(root / "aws", cur2_rows(members, org, period, cost_explorer, models), period)
    write_demo_focus(root / "azure", focus_rows(tenant, period), period)
    return {
        "sources": [
            {
                "name": CUR_EXPORT,
                "format": "cur2",
                "cloud": "aws",
                "location": str(root / "aws"),
                "billing_account": MANAGEMENT_ACCOUNT,
            },
            {
                "name": FOCUS_EXPORT,
                "format": "focus",
                "cloud": "azure",
                "location": str(root / "azure"),
                "billing_account": tenant.tenant_id,
            },
        ]
    }
