"""`computewatch demo`, as a user runs it (a subprocess): what its report must show, and every
figure against the reviewed golden copy."""

import json
import subprocess
import sys
from pathlib import Path

from computewatch.reports.json_report import validate_contract
from tests.helpers.report_diff import DEMO_NOW, GOLDEN, diff, normalize, numbers


def test_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "computewatch.app.cli",
            "demo",
            "--out",
            str(out),
            "--as-of",
            f"{DEMO_NOW:%Y-%m-%dT%H:%M}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    reports = out / "reports"
    (json_path,) = reports.glob("audit-*.json")
    assert (reports / json_path.name.replace(".json", ".html")).exists()
    assert (reports / json_path.name.replace(".json", ".md")).exists()
    assert str(json_path) in proc.stdout
    # What issue 13 asks the demo to show: a training run, a catch through the ultimate parent's
    # headquarters, and the legal-status legend (console and report).
    assert "  training run " in proc.stdout
    assert "through ultimate parent" in proc.stdout and "(own headquarters SG)" in proc.stdout
    assert "threshold crossed (bill, not law)" in proc.stdout
    assert (
        "  legal status: in force: binding law" in proc.stdout
        and "bill: legislation" in proc.stdout
    )
    md = (reports / json_path.name.replace(".json", ".md")).read_text("utf-8")
    assert "Legal status of the rules" in md and "Country groups: 15 CFR Part 740" in md

    # The evidence bundle: the monthly audit in every format, a notice per BREACH, the quarterly
    # report, the CSV annex, the manifest; and the monthly e-mail as an .eml preview.
    (bundle,) = [p for p in reports.iterdir() if p.is_dir()]
    names = {p.name for p in bundle.iterdir()}
    stem = json_path.stem
    assert {f"{stem}.{ext}" for ext in ("html", "md", "json", "pdf")} <= names
    assert {f"{stem}-usage.csv", f"{stem}-findings.csv", "manifest.json"} <= names
    assert {n.rsplit(".", 1)[1] for n in names if n.startswith("quarterly-")} == {
        "html",
        "md",
        "pdf",
    }
    notices = sorted(n for n in names if n.startswith("notice-") and n.endswith(".html"))
    # All notices in one PDF; the workbook; a copy of every sealed file next to the bundle.
    assert len([n for n in names if n.startswith("notices-") and n.endswith(".pdf")]) == 1
    assert f"{stem}.xlsx" in names
    assert names - {"manifest.json"} <= {p.name for p in reports.iterdir()}
    assert (reports / f"{bundle.name}.eml").exists()
    verified = subprocess.run(
        [
            sys.executable,
            "-m",
            "computewatch.app.cli",
            "verify",
            str(bundle),
            "--ledger",
            str(reports / "ledger.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    doc = json.loads(json_path.read_text("utf-8"))
    assert len(notices) == sum(1 for f in doc["findings"] if f["status"] == "BREACH")
    validate_contract(doc)
    assert len(doc["accounts"]) >= 4
    chips = {c for a in doc["accounts"] for c in a["accelerator_hours"]}
    assert len(chips) >= 3
    assert any(f["status"] == "BREACH" for f in doc["findings"])
    assert doc["coverage"]["gaps"], "the demo must show a real coverage gap"
    # A real AccessDenied from the AWS emulator and a real 403 AuthorizationFailed from the fake ARM.
    assert {g["error"] for g in doc["coverage"]["gaps"]} == {"AccessDenied", "AuthorizationFailed"}
    assert any(f["status"] == "UNKNOWN" and f["value"] is None for f in doc["findings"])

    # The demo's CUR 2.0 and FOCUS exports: the deliveries used, and export against live where
    # both cover an account (the deliberate differences of computewatch/demo/demo_exports.py).
    md = (reports / f"{stem}.md").read_text("utf-8")
    assert "| demo-cur2 | 2026-11 | demo-2026-11-final | cur2 2.0 |" in md
    assert "| demo-focuscost | 2026-11 | demo-run-final | focus 1.2 |" in md
    assert "| atlas-render-farm | Accelerator-hours | H100 | 454 | 456 | +0.4 % |" in md
    sonnet = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    assert (
        f"| kestrel-analytics | Input tokens | {sonnet} | 36,720,000 | 36,000,000 | -2.0 % |" in md
    )
    assert "| cobalt-assist-prod | Output tokens | gpt-4o | 8,540,000 | 8,540,000 | +0.0 % |" in md
    assert "| kestrel-analytics | Invocations |" not in md  # not in an export: not compared

    # Figure by figure, the reviewed golden copy: a change to any figure is a reviewed change
    # to tests/golden/demo-audit.json (regenerate: python -m tests.helpers.report_diff --update).
    changes = diff(numbers(json.loads(GOLDEN.read_text("utf-8"))), normalize(doc))
    assert not changes, "the demo report changed:\n" + "\n".join(changes[:200])
