"""An account both the live collectors and a billing export cover: per day the export is the
figure, and the report prints both with the variance."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from computewatch.demo.billing_exports import cur2_table, write_delivery
from computewatch.demo.emulated_aws import EmulatedAws, InstanceSpec, MemberSpec
from computewatch.domain import Window, utc
from tests.helpers import export_fixtures as fx
from tests.helpers.aws import audit, seed

OCT = Window.month("2026-10")


def test_export_and_inventory_reconcile(aws: EmulatedAws, tmp_path: Path) -> None:
    org = seed(
        aws,
        [
            MemberSpec(
                "gpu", (InstanceSpec("p5.48xlarge", "us-east-1", OCT.start - timedelta(days=3)),)
            )
        ],
    )
    account = org.members["gpu"]
    # Billing says 20 h a day for the first 28 days; the instance ran all day, every day.
    rows = [fx.line(account, d, "USE1-BoxUsage:p5.48xlarge", 20.0) for d in range(1, 29)]
    for r in rows:
        r["line_item_usage_start_date"] = datetime(
            2026, 10, int(r["line_item_usage_start_date"].day)
        )
    write_delivery(
        cur2_table(rows), tmp_path / "cur", "cur2-export", fx.PERIOD, execution_id="exec-gpu"
    )
    exports = {"sources": [{"name": "cur", "format": "cur2", "location": str(tmp_path / "cur")}]}
    result = audit(
        aws,
        org,
        tmp_path,
        OCT,
        utc(2026, 11, 2),
        f"sqlite:///{tmp_path}/s.db",
        config_overrides={"sections": {"exports": exports}},
        formats=["json", "md"],
    )
    got = result.account("gpu")
    # Days 1-28 from the export (20 h x 8 GPUs), days 29-31 from the inventory (24 h x 8).
    assert got["accelerator_hours"] == {"H100": 28 * 20 * 8 + 3 * 24 * 8}
    assert set(got["methods"]["accelerator_hours"].split(", ")) == {
        "billing-export",
        "launch-time-estimate",
    }
    md = result.outcome.paths["md"].read_text("utf-8")
    assert "| Accelerator-hours | H100 | 4,480 | 5,376 | +20.0 % |" in md
    assert "exec-gpu" in md
    # The same reconciliation in the JSON report (contract computewatch.audit/1, additive field).
    aid = org.members["gpu"]
    (h100,) = [
        v
        for v in result.report["billing_exports"]["reconciliation"]
        if v["account"] == f"aws:{aid}" and v["metric"] == "accelerator_hours"
    ]
    assert (h100["key"], h100["export"], h100["live"]) == ("H100", 4480.0, 5376.0)
    assert h100["variance_pct"] == 20.0
    (used,) = result.report["billing_exports"]["deliveries"]
    assert (used["export"], used["delivery_id"]) == ("cur", "exec-gpu")
