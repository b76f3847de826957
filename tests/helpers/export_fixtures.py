"""The committed billing-export fixtures and the exact figures they must give.

Regenerate with `.venv/bin/python -m tests.helpers.export_fixtures` (writes tests/fixtures/exports/).
Column names and value shapes, and where each comes from, are documented in
computewatch.demo.billing_exports; the rows below are a fictional payer organization for
October 2026 with every case the readers must get right: usage, reserved (DiscountedUsage) and
savings-plan hours; SageMaker training; spot; a size the catalog does not know; Bedrock tokens in
1K / 1M blocks with cache, batch and cross-region variants and a Marketplace model; Bedrock model
customization (training tokens per base model, an unknown base model, storage that never counts)
and Azure OpenAI fine-tuning (per 1M training tokens, per training hour, an unlisted meter); and
lines that must never count (credit, tax, savings-plan negation, EBS, a non-accelerator instance).
The customization and fine-tuning shapes follow the token rows' pattern and the Bedrock / Azure
OpenAI pricing pages (billed per 1,000 training tokens; per training hour or per 1M training
tokens); they are not copied from a delivered export.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from computewatch.demo.billing_exports import (
    FOCUS_AWS_SCHEMA,
    FOCUS_AZURE_SCHEMA,
    cur2_table,
    write_azure_delivery,
    write_delivery,
)
from computewatch.domain import Metric
from tests.helpers.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "exports"
PERIOD = "2026-10"
PAYER = "999900000001"
ATLAS, KESTREL, HALCYON, PLAIN = "111100000001", "111100000002", "111100000003", "111100000004"
NAMES = {
    ATLAS: "atlas-research",
    KESTREL: "kestrel-ml",
    HALCYON: "halcyon-apps",
    PLAIN: "plain-web",
}


def line(account: str, day: int, usage_type: str, amount: float, **kw: Any) -> dict[str, Any]:
    start = datetime(2026, 10, day, 5)
    row: dict[str, Any] = {
        "bill_bill_type": "Anniversary",
        "bill_billing_entity": "AWS",
        "bill_billing_period_start_date": datetime(2026, 10, 1),
        "bill_billing_period_end_date": datetime(2026, 11, 1),
        "bill_payer_account_id": PAYER,
        "bill_payer_account_name": "example-payer",
        "line_item_usage_account_id": account,
        "line_item_usage_account_name": NAMES.get(account, account),
        "line_item_line_item_type": "Usage",
        "line_item_usage_start_date": start,
        "line_item_usage_end_date": start.replace(hour=6),
        "line_item_product_code": "AmazonEC2",
        "line_item_usage_type": usage_type,
        "line_item_operation": "RunInstances",
        "line_item_usage_amount": amount,
        "line_item_unblended_cost": round(amount * 1.7, 4),
        "pricing_unit": "Hrs",
        "pricing_term": "OnDemand",
        "product_region_code": "us-east-1",
        "product_servicecode": "AmazonEC2",
    }
    if ":" in usage_type and kw.get("line_item_product_code", "AmazonEC2") == "AmazonEC2":
        row["product_instance_type"] = usage_type.split(":", 1)[1]
    row.update(kw)
    return row


def bedrock(account: str, day: int, usage_type: str, amount: float, unit: str) -> dict[str, Any]:
    return line(
        account,
        day,
        usage_type,
        amount,
        line_item_product_code="AmazonBedrock",
        product_servicecode="AmazonBedrock",
        line_item_operation="InvokeModelInference",
        pricing_unit=unit,
        pricing_term="OnDemand",
        line_item_iam_principal=f"arn:aws:iam::{account}:role/app",
    )


def cur2_rows() -> list[dict[str, Any]]:
    return [
        # atlas: 3 days x 10 h of p5.48xlarge (8 x H100), plus 5 h under a reserved instance.
        *(line(ATLAS, d, "USE1-BoxUsage:p5.48xlarge", 10.0) for d in (1, 2, 3)),
        line(
            ATLAS,
            2,
            "USE1-BoxUsage:p5.48xlarge",
            5.0,
            line_item_line_item_type="DiscountedUsage",
            pricing_term="Reserved",
        ),
        # never counted: a credit, the tax, a savings-plan negation, EBS volume usage.
        line(ATLAS, 2, "USE1-BoxUsage:p5.48xlarge", -12.0, line_item_line_item_type="Credit"),
        line(ATLAS, 3, "USE1-BoxUsage:p5.48xlarge", 99.0, line_item_line_item_type="Tax"),
        line(
            ATLAS,
            3,
            "USE1-BoxUsage:p5.48xlarge",
            4.0,
            line_item_line_item_type="SavingsPlanNegation",
        ),
        line(
            ATLAS,
            1,
            "USE1-EBS:VolumeUsage.gp3",
            720.0,
            pricing_unit="GB-Mo",
            product_instance_type="",
        ),
        # kestrel: SageMaker training on ml.p4d.24xlarge (8 x A100) 12 h; trn1.32xlarge (16 x
        # Trainium) 4 h under a savings plan in us-west-2; spot g5.12xlarge (4 x A10G) 2 h;
        # a p5 size the catalog does not know (unknown accelerator, 1 per instance-hour) 3 h.
        line(
            KESTREL,
            5,
            "USE1-Train:ml.p4d.24xlarge",
            12.0,
            line_item_product_code="AmazonSageMaker",
            product_servicecode="AmazonSageMaker",
            product_instance_type="ml.p4d.24xlarge",
        ),
        line(
            KESTREL,
            6,
            "USW2-BoxUsage:trn1.32xlarge",
            4.0,
            line_item_line_item_type="SavingsPlanCoveredUsage",
            product_region_code="us-west-2",
        ),
        line(KESTREL, 7, "USE1-SpotUsage:g5.12xlarge", 2.0),
        line(KESTREL, 7, "USE1-BoxUsage:p5.12xlarge", 3.0),
        # plain: an ordinary instance only (no accelerator): read, nothing to report.
        line(PLAIN, 1, "USE1-BoxUsage:m5.large", 720.0),
        # halcyon: Bedrock tokens in 1K / 1M / single-token blocks.
        bedrock(HALCYON, 10, "USE1-Claude3.5Sonnet-input-tokens", 1500.0, "1K tokens"),
        bedrock(HALCYON, 10, "USE1-Claude3.5Sonnet-batch-input-tokens", 500.0, "1K tokens"),
        bedrock(HALCYON, 10, "USE1-Claude3.5Sonnet-output-tokens", 250.0, "1K tokens"),
        bedrock(
            HALCYON, 11, "USE1-Claude3.5Sonnet-cross-region-global-output-tokens", 0.1, "1M tokens"
        ),
        bedrock(
            HALCYON, 11, "USE1-Claude3.5Sonnet-cache-read-input-token-count", 400000.0, "tokens"
        ),
        bedrock(
            HALCYON, 11, "USE1-Claude3.5Sonnet-cache-write-input-token-count", 20.0, "1K tokens"
        ),
        bedrock(HALCYON, 12, "USE1-NovaPro-input-tokens", 0.25, "1M tokens"),
        {
            **bedrock(HALCYON, 12, "USE1-MP:USE1_InputTokenCount-Units", 1000.0, "Units"),
            "line_item_product_code": "prod-abc123example",
        },
        {
            **bedrock(HALCYON, 12, "USE1-Claude3.5Sonnet-input-tokens", -300.0, "1K tokens"),
            "line_item_line_item_type": "Credit",
        },
        # kestrel: Bedrock model customization (fine-tuning) billed per 1K tokens trained on
        # (Bedrock pricing, "Model customization"); the usage type names the base model. A base
        # model the billed-name table does not know stays visible as an unknown model; the
        # custom model's monthly storage is no training and never counts.
        bedrock(KESTREL, 8, "USE1-NovaMicro-Customization-Training-Tokens", 1200.0, "1K tokens"),
        bedrock(KESTREL, 9, "USE1-NovaMicro-Customization-Training-Tokens", 300.0, "1K tokens"),
        bedrock(KESTREL, 9, "USE1-Llama3.2-11B-Customization-Training-Tokens", 0.5, "1M tokens"),
        bedrock(KESTREL, 9, "USE1-NovaMicro-Customization-Storage", 1.0, "Month"),
    ]


# Exact figures for October 2026: (account, metric, key) -> quantity.
# Billed Bedrock names -> model ids (collectors/exports/data/bedrock_models.yaml); a Marketplace
# listing has no model id and stays visible as an unknown model.
SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA_PRO = "amazon.nova-pro-v1:0"
NOVA_MICRO = "amazon.nova-micro-v1:0"
MARKETPLACE = "unknown model (marketplace:prod-abc123example)"

CUR2_EXPECTED: dict[tuple[str, Metric, str], float] = {
    (ATLAS, Metric.ACCELERATOR_HOURS, "H100"): 8 * 35.0,
    (ATLAS, Metric.INSTANCE_HOURS, "p5.48xlarge"): 35.0,
    (KESTREL, Metric.ACCELERATOR_HOURS, "A100"): 8 * 12.0,
    (KESTREL, Metric.TRAINING_JOB_ACCELERATOR_HOURS, "A100"): 8 * 12.0,
    (KESTREL, Metric.ACCELERATOR_HOURS, "Trainium"): 16 * 4.0,
    (KESTREL, Metric.ACCELERATOR_HOURS, "A10G"): 4 * 2.0,
    (KESTREL, Metric.ACCELERATOR_HOURS, "unknown"): 3.0,
    (KESTREL, Metric.INSTANCE_HOURS, "p4d.24xlarge"): 12.0,
    (KESTREL, Metric.INSTANCE_HOURS, "trn1.32xlarge"): 4.0,
    (KESTREL, Metric.INSTANCE_HOURS, "g5.12xlarge"): 2.0,
    (KESTREL, Metric.INSTANCE_HOURS, "p5.12xlarge"): 3.0,
    (HALCYON, Metric.MODEL_INPUT_TOKENS, SONNET): 2_000_000.0,
    (HALCYON, Metric.MODEL_OUTPUT_TOKENS, SONNET): 350_000.0,
    (HALCYON, Metric.MODEL_CACHE_READ_INPUT_TOKENS, SONNET): 400_000.0,
    (HALCYON, Metric.MODEL_CACHE_WRITE_INPUT_TOKENS, SONNET): 20_000.0,
    (HALCYON, Metric.MODEL_INPUT_TOKENS, NOVA_PRO): 250_000.0,
    (HALCYON, Metric.MODEL_INPUT_TOKENS, MARKETPLACE): 1000.0,
    (KESTREL, Metric.FINE_TUNING_TRAINING_TOKENS, NOVA_MICRO): 1_500_000.0,
    (KESTREL, Metric.FINE_TUNING_TRAINING_TOKENS, "unknown model (Llama3.2-11B)"): 500_000.0,
}
CUR2_ACCOUNTS = sorted(NAMES)


def write_cur2(root: Path, fmt: str, execution_id: str = "exec-2026-10-a") -> list[Path]:
    return write_delivery(
        cur2_table(cur2_rows()),
        root,
        "cur2-export",
        PERIOD,
        fmt=fmt,
        execution_id=execution_id,
        account=PAYER,
    )


def focus_row(
    account: str, name: str, day: int, qty: float, unit: str, **kw: Any
) -> dict[str, Any]:
    start = datetime(2026, 10, day)
    row: dict[str, Any] = {
        "BillingAccountId": PAYER,
        "BillingAccountName": "example-payer",
        "BillingPeriodStart": datetime(2026, 10, 1),
        "BillingPeriodEnd": datetime(2026, 11, 1),
        "SubAccountId": account,
        "SubAccountName": name,
        "ChargeCategory": "Usage",
        "ChargePeriodStart": start,
        "ChargePeriodEnd": start.replace(day=day + 1),
        "ConsumedQuantity": qty,
        "ConsumedUnit": unit,
        "PricingQuantity": qty,
        "PricingUnit": unit,
        "BilledCost": round(qty * 1.1, 4),
        "EffectiveCost": round(qty * 1.1, 4),
        "InvoiceId": "",
        "ServiceSubcategory": "",
    }
    row.update(kw)
    return row


def focus_aws_rows() -> list[dict[str, Any]]:
    """AWS FOCUS_1_2_AWS: the same organization's October as the CUR 2.0 fixture, in part."""

    def ec2(account: str, day: int, usage_type: str, hours: float, **kw: Any) -> dict[str, Any]:
        return focus_row(
            account,
            NAMES[account],
            day,
            hours,
            "Hrs",
            x_UsageType=usage_type,
            x_ServiceCode="AmazonEC2",
            ServiceName="Amazon Elastic Compute Cloud",
            ServiceCategory="Compute",
            **kw,
        )

    def bedrock_(account: str, day: int, usage_type: str, qty: float, unit: str) -> dict[str, Any]:
        return focus_row(
            account,
            NAMES[account],
            day,
            qty,
            unit,
            x_UsageType=usage_type,
            x_ServiceCode="AmazonBedrock",
            ServiceName="Amazon Bedrock",
            ServiceCategory="AI and Machine Learning",
        )

    return [
        *(ec2(ATLAS, d, "USE1-BoxUsage:p5.48xlarge", 10.0) for d in (1, 2, 3)),
        ec2(ATLAS, 4, "USE1-BoxUsage:p5.48xlarge", 7.0, ChargeCategory="Credit"),
        ec2(ATLAS, 4, "USE1-BoxUsage:p5.48xlarge", 2.0, ChargeClass="Correction"),
        ec2(KESTREL, 6, "USW2-BoxUsage:trn1.32xlarge", 4.0),
        bedrock_(HALCYON, 10, "USE1-Claude3.5Sonnet-input-tokens", 1500.0, "1K tokens"),
        bedrock_(HALCYON, 10, "USE1-Claude3.5Sonnet-output-tokens", 0.25, "1M tokens"),
        # Bedrock customization in FOCUS: the same usage type in x_UsageType.
        bedrock_(KESTREL, 8, "USE1-NovaMicro-Customization-Training-Tokens", 800.0, "1K tokens"),
    ]


FOCUS_AWS_EXPECTED: dict[tuple[str, Metric, str], float] = {
    (ATLAS, Metric.ACCELERATOR_HOURS, "H100"): 8 * 30.0,
    (ATLAS, Metric.INSTANCE_HOURS, "p5.48xlarge"): 30.0,
    (KESTREL, Metric.ACCELERATOR_HOURS, "Trainium"): 16 * 4.0,
    (KESTREL, Metric.INSTANCE_HOURS, "trn1.32xlarge"): 4.0,
    (HALCYON, Metric.MODEL_INPUT_TOKENS, SONNET): 1_500_000.0,
    (HALCYON, Metric.MODEL_OUTPUT_TOKENS, SONNET): 250_000.0,
    (KESTREL, Metric.FINE_TUNING_TRAINING_TOKENS, NOVA_MICRO): 800_000.0,
}

# Azure CSP partner tenant: three customer subscriptions held through a reseller.
SUB_GPU = "5f0c1d2e-0000-4000-8000-00000000a001"
SUB_AI = "5f0c1d2e-0000-4000-8000-00000000a002"
SUB_NEW = "5f0c1d2e-0000-4000-8000-00000000a003"
AZURE_NAMES = {SUB_GPU: "contoso-gpu", SUB_AI: "contoso-ai", SUB_NEW: "fabrikam-lab"}
RESELLER = ("7d1c0000-0000-4000-8000-0000000000r1", "Northwind Cloud Resale GmbH")
CUSTOMERS = {
    SUB_GPU: ("c0000000-0000-4000-8000-00000000c001", "Contoso Research Ltd."),
    SUB_AI: ("c0000000-0000-4000-8000-00000000c001", "Contoso Research Ltd."),
    SUB_NEW: ("c0000000-0000-4000-8000-00000000c002", "Fabrikam AI Lab Co."),
}


def azure_row(sub: str, day: int, qty: float, unit: str, **kw: Any) -> dict[str, Any]:
    customer = CUSTOMERS[sub]
    return focus_row(
        f"/subscriptions/{sub}",
        AZURE_NAMES[sub],
        day,
        qty,
        unit,
        BillingAccountId="/providers/Microsoft.Billing/billingAccounts/9999:partner",
        x_ResellerId=RESELLER[0],
        x_ResellerName=RESELLER[1],
        x_CustomerId=customer[0],
        x_CustomerName=customer[1],
        **kw,
    )


def vm(sub: str, day: int, hours: float, size: str, meter: str) -> dict[str, Any]:
    return azure_row(
        sub,
        day,
        hours,
        "1 Hour",
        ServiceName="Virtual Machines",
        ServiceCategory="Compute",
        x_SkuMeterName=meter,
        x_SkuDetails=f'{{"ServiceType":"{size}","VCPUs":"96"}}',
    )


def aoai(sub: str, day: int, qty: float, meter: str, unit: str = "1K") -> dict[str, Any]:
    return azure_row(
        sub,
        day,
        qty,
        unit,
        ServiceName="Azure OpenAI",
        ServiceCategory="AI and Machine Learning",
        x_SkuMeterName=meter,
        x_SkuDetails="",
    )


def focus_azure_rows() -> list[dict[str, Any]]:
    return [
        vm(SUB_GPU, 1, 24.0, "Standard_ND96isr_H100_v5", "ND96isr H100 v5"),
        vm(SUB_GPU, 2, 12.0, "Standard_ND96isr_H100_v5", "ND96isr H100 v5"),
        vm(SUB_GPU, 2, 10.0, "Standard_NC24ads_A100_v4", "NC24ads A100 v4"),
        vm(SUB_GPU, 3, 5.0, "Standard_D4s_v5", "D4s v5"),  # no accelerator
        {
            **vm(SUB_GPU, 3, 6.0, "Standard_ND96isr_H100_v5", "ND96isr H100 v5"),
            "ChargeCategory": "Credit",
        },
        aoai(SUB_AI, 5, 3000.0, "gpt-4o-0806 Inp glbl Tokens"),
        aoai(SUB_AI, 5, 800.0, "gpt-4o-0806 Outp glbl Tokens"),
        aoai(SUB_AI, 6, 1000.0, "GPT 4o 0513 Input Global Tokens"),
        aoai(SUB_AI, 6, 200.0, "gpt-4o-0806 cached Inp glbl Tokens"),
        aoai(SUB_AI, 6, 2.0, "gpt-5-2026-08-07 Inp DZone Tokens", "1M"),
        aoai(SUB_NEW, 7, 50.0, "o1 outp glbl Tokens"),
        # Fine-tuning training (Azure OpenAI pricing): per 1M training tokens for gpt-4o-mini, per
        # training hour for the older models; an unlisted training meter is an unknown model.
        aoai(SUB_AI, 8, 2.5, "gpt-4o-mini-0718 Ft Trng Tokens", "1M"),
        aoai(SUB_AI, 8, 3.5, "GPT 35 Turbo 0613 FT Training Hours", "1 Hour"),
        aoai(SUB_NEW, 9, 2.0, "o4-mini-2025-04-16 RFT Training Hours", "1 Hour"),
    ]


FOCUS_AZURE_EXPECTED: dict[tuple[str, Metric, str], float] = {
    (SUB_GPU, Metric.ACCELERATOR_HOURS, "H100"): 8 * 36.0,
    (SUB_GPU, Metric.INSTANCE_HOURS, "Standard_ND96isr_H100_v5"): 36.0,
    (SUB_GPU, Metric.ACCELERATOR_HOURS, "A100"): 10.0,
    (SUB_GPU, Metric.INSTANCE_HOURS, "Standard_NC24ads_A100_v4"): 10.0,
    (SUB_AI, Metric.MODEL_INPUT_TOKENS, "gpt-4o"): 4_000_000.0,
    (SUB_AI, Metric.MODEL_OUTPUT_TOKENS, "gpt-4o"): 800_000.0,
    (SUB_AI, Metric.MODEL_CACHE_READ_INPUT_TOKENS, "gpt-4o"): 200_000.0,
    (
        SUB_AI,
        Metric.MODEL_INPUT_TOKENS,
        "unknown model (gpt-5-2026-08-07 Inp DZone Tokens)",
    ): 2_000_000.0,
    (SUB_NEW, Metric.MODEL_OUTPUT_TOKENS, "o1"): 50_000.0,
    (SUB_AI, Metric.FINE_TUNING_TRAINING_TOKENS, "gpt-4o-mini"): 2_500_000.0,
    (SUB_AI, Metric.FINE_TUNING_HOURS, "gpt-35-turbo"): 3.5,
    (
        SUB_NEW,
        Metric.FINE_TUNING_HOURS,
        "unknown model (o4-mini-2025-04-16 RFT Training Hours)",
    ): 2.0,
}


def write_focus_aws(root: Path, execution_id: str = "exec-focus-2026-10-a") -> list[Path]:
    table = cur2_table(focus_aws_rows(), FOCUS_AWS_SCHEMA)
    return write_delivery(
        table, root, "focus-export", PERIOD, execution_id=execution_id, account=PAYER
    )


def write_focus_azure(
    root: Path,
    run_id: str = "run-0001",
    submitted: str = "2026-11-02T04:00:00Z",
    fmt: str = "csv",
    rows: list[dict[str, Any]] | None = None,
) -> Path:
    table = cur2_table(focus_azure_rows() if rows is None else rows, FOCUS_AZURE_SCHEMA)
    return write_azure_delivery(table, root, "focuscost", PERIOD, run_id, submitted, fmt)


def main(argv: list[str]) -> int:
    write_cur2(FIXTURES / "cur2-parquet", "parquet")
    write_cur2(FIXTURES / "cur2-csv", "csv")
    write_focus_aws(FIXTURES / "focus-aws")
    write_focus_azure(FIXTURES / "focus-azure")
    write_focus_azure(FIXTURES / "focus-azure-parquet", fmt="parquet")
    print(f"wrote {FIXTURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
