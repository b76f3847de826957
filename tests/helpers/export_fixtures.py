"""The committed billing-export fixtures and the exact figures they must give.

Regenerate with `.venv/bin/python -m tests.helpers.export_fixtures` (writes tests/fixtures/exports/).
Column names and value shapes, and where each comes from, are documented in
computewatch.demo.billing_exports; the rows below are a fictional payer organization for
October 2026 with every case the readers must get right: usage, reserved (DiscountedUsage) and
savings-plan hours; SageMaker training; spot; a size the catalog does not know; Bedrock tokens in
1K / 1M blocks with cache, batch and cross-region variants and a Marketplace model; and lines that
must never count (credit, tax, savings-plan negation, EBS, a non-accelerator instance).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from computewatch.demo.billing_exports import cur2_table, write_delivery
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
        "line_item_usage_account_name": NAMES[account],
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
    ]


# Exact figures for October 2026: (account, metric, key) -> quantity.
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
    (HALCYON, Metric.MODEL_INPUT_TOKENS, "Claude3.5Sonnet"): 2_000_000.0,
    (HALCYON, Metric.MODEL_OUTPUT_TOKENS, "Claude3.5Sonnet"): 350_000.0,
    (HALCYON, Metric.MODEL_CACHE_READ_INPUT_TOKENS, "Claude3.5Sonnet"): 400_000.0,
    (HALCYON, Metric.MODEL_CACHE_WRITE_INPUT_TOKENS, "Claude3.5Sonnet"): 20_000.0,
    (HALCYON, Metric.MODEL_INPUT_TOKENS, "NovaPro"): 250_000.0,
    (HALCYON, Metric.MODEL_INPUT_TOKENS, "marketplace:prod-abc123example"): 1000.0,
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


def main(argv: list[str]) -> int:
    write_cur2(FIXTURES / "cur2-parquet", "parquet")
    write_cur2(FIXTURES / "cur2-csv", "csv")
    print(f"wrote {FIXTURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
