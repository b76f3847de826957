"""A month audited from billing exports alone, through the CLI: the same report shape as from live
APIs, method `billing-export`, the delivery used, a bad export as a gap, a re-delivery replacing
the period."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from computewatch.app.cli import main
from computewatch.demo.billing_exports import cur2_table, write_delivery
from tests.helpers import export_fixtures as fx
from tests.helpers.paths import REPO


def write_config(tmp: Path) -> Path:
    shutil.copytree(fx.FIXTURES / "cur2-parquet", tmp / "cur")
    (tmp / "broken").mkdir()
    cfg = tmp / "computewatch.yaml"
    rules = REPO / "config" / "rules" / "internal-policy.yaml"
    cfg.write_text(
        f"""version: 1
reporting_entity: {{name: Example Partner}}
store: {{url: "sqlite:///{tmp}/store.db"}}
exports:
  sources:
    - {{name: cur, format: cur2, location: cur, billing_account: "{fx.PAYER}"}}
    - {{name: focus, format: focus, cloud: azure, location: "{fx.FIXTURES / "focus-azure"}"}}
    - {{name: broken, format: cur2, location: broken, billing_account: "999900000009"}}
rules: ["{rules}"]
""",
        "utf-8",
    )
    return cfg


def audit(cfg: Path, out: Path, *extra: str) -> tuple[int, str, dict[str, dict[str, object]]]:
    args = [
        "audit",
        "--config",
        str(cfg),
        "--month",
        "2026-10",
        "--out",
        str(out),
        "--format",
        "html,md,json",
        *extra,
    ]
    result = CliRunner().invoke(main, args)
    (report,) = out.glob("audit-*.json")
    doc = json.loads(report.read_text("utf-8"))
    accounts = {f"{a['provider']}:{a['account_id']}": a for a in doc["accounts"]}
    return result.exit_code, result.output, accounts


def test_a_month_from_exports_alone(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    code, output, accounts = audit(cfg, tmp_path / "out")
    assert code in (3, 4), output  # the broken export leaves coverage incomplete
    assert "GAP aws 999900000009 export:broken exports.billing: NoDelivery" in output
    atlas = accounts[f"aws:{fx.ATLAS}"]
    assert atlas["accelerator_hours"] == {"H100": 280.0}
    assert atlas["methods"]["accelerator_hours"] == "billing-export"
    assert atlas["coverage"]["status"] == "complete"  # type: ignore[index]
    assert accounts[f"azure:{fx.SUB_GPU}"]["accelerator_hours"] == {"H100": 288.0, "A100": 10.0}
    halcyon = accounts[f"aws:{fx.HALCYON}"]["tokens"]
    assert halcyon[fx.SONNET]["input"] == 2_000_000.0  # type: ignore[index]
    html = next((tmp_path / "out").glob("audit-*.html")).read_text("utf-8")
    assert "Billing exports" in html and "exec-2026-10-a" in html and "run-0001" in html
    md = next((tmp_path / "out").glob("audit-*.md")).read_text("utf-8")
    assert "kyc-export-claims" in md  # the CSP export names customers the registry lacks
    # Customization / fine-tuning rows are the training signal, with the export's method.
    kestrel = accounts[f"aws:{fx.KESTREL}"]
    assert kestrel["fine_tuning_training_tokens"] == {
        fx.NOVA_MICRO: 1_500_000.0,
        "unknown model (Llama3.2-11B)": 500_000.0,
    }
    assert kestrel["methods"]["fine_tuning_training_tokens"] == "billing-export"  # type: ignore[index]
    contoso = accounts[f"azure:{fx.SUB_AI}"]
    assert contoso["fine_tuning_hours"] == {"gpt-35-turbo": 3.5}
    assert contoso["fine_tuning_training_tokens"] == {"gpt-4o-mini": 2_500_000.0}
    assert "fine_tuning_training_tokens" not in accounts[f"aws:{fx.ATLAS}"]  # none recorded
    assert "Fine-tuning training tokens" in md and "unknown model (Llama3.2-11B)" in md
    # The JSON report names the delivery each export's period rests on.
    doc = json.loads(next((tmp_path / "out").glob("audit-*.json")).read_text("utf-8"))
    used = {(d["export"], d["billing_period"]): d for d in doc["billing_exports"]["deliveries"]}
    assert set(used) == {("cur", "2026-10"), ("focus", "2026-10")}
    assert used[("cur", "2026-10")]["delivery_id"] == "exec-2026-10-a"
    assert used[("focus", "2026-10")]["delivery_id"] == "run-0001"
    assert used[("focus", "2026-10")]["files"][0]["name"].endswith("part_0_0001.csv")
    assert doc["billing_exports"]["overlaps"] == []

    # The payer re-delivers October without atlas's hours: the period is replaced, not added to.
    rows = [r for r in fx.cur2_rows() if r["line_item_usage_account_id"] != fx.ATLAS]
    write_delivery(
        cur2_table(rows), tmp_path / "cur", "cur2-export", fx.PERIOD, execution_id="exec-2026-10-b"
    )
    shutil.rmtree(tmp_path / "out")
    _, _, again = audit(cfg, tmp_path / "out")
    assert f"aws:{fx.ATLAS}" not in again or not again[f"aws:{fx.ATLAS}"]["accelerator_hours"]
    assert (
        again[f"aws:{fx.KESTREL}"]["accelerator_hours"]
        == accounts[f"aws:{fx.KESTREL}"]["accelerator_hours"]
    )
    html = next((tmp_path / "out").glob("audit-*.html")).read_text("utf-8")
    assert "exec-2026-10-b" in html and "exec-2026-10-a" not in html


def test_two_exports_of_the_same_accounts_are_not_added(tmp_path: Path) -> None:
    shutil.copytree(fx.FIXTURES / "cur2-parquet", tmp_path / "cur")
    shutil.copytree(fx.FIXTURES / "cur2-csv", tmp_path / "cur-csv")
    cfg = tmp_path / "computewatch.yaml"
    cfg.write_text(
        f"""version: 1
reporting_entity: {{name: Example Partner}}
store: {{url: "sqlite:///{tmp_path}/store.db"}}
exports:
  sources:
    - {{name: cur, format: cur2, location: cur, billing_account: "{fx.PAYER}"}}
    - {{name: cur-csv, format: cur2, location: cur-csv, billing_account: "{fx.PAYER}"}}
""",
        "utf-8",
    )
    code, output, accounts = audit(cfg, tmp_path / "out")
    assert code in (0, 3), output  # complete coverage (3: a BREACH)
    assert accounts[f"aws:{fx.ATLAS}"]["accelerator_hours"] == {"H100": 280.0}  # not 560
    md = next((tmp_path / "out").glob("audit-*.md")).read_text("utf-8")
    assert (
        f"Coverage note: {fx.NAMES[fx.ATLAS]} (aws:{fx.ATLAS}) is in exports cur and cur-csv "
        "for 2026-10: figures from cur (configured first)"
    ) in md
    doc = json.loads(next((tmp_path / "out").glob("audit-*.json")).read_text("utf-8"))
    overlaps = {o["account"]: o for o in doc["billing_exports"]["overlaps"]}
    assert set(overlaps) == {f"aws:{a}" for a in fx.CUR2_ACCOUNTS}
    assert overlaps[f"aws:{fx.ATLAS}"] == {
        "billing_period": "2026-10",
        "account": f"aws:{fx.ATLAS}",
        "name": fx.NAMES[fx.ATLAS],
        "counted": "cur",
        "not_counted": ["cur-csv"],
    }


def test_a_run_of_other_collectors_keeps_the_export_figures(tmp_path: Path) -> None:
    """A run limited to other collectors (`--collector`, or the daemon's hourly job when the
    export has its own schedule) reads the export's accounts but not its figures: the figures
    an earlier export run stored stand, never deleted for the period."""
    cfg = write_config(tmp_path)
    audit(cfg, tmp_path / "first")
    _, output, accounts = audit(cfg, tmp_path / "second", "--collector", "aws.ec2")
    atlas = accounts[f"aws:{fx.ATLAS}"]
    assert atlas["accelerator_hours"] == {"H100": 280.0}, output
    assert atlas["methods"]["accelerator_hours"] == "billing-export"
    assert accounts[f"azure:{fx.SUB_GPU}"]["accelerator_hours"] == {"H100": 288.0, "A100": 10.0}
