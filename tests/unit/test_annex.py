"""CSV data annex: formula cells neutralised, names kept verbatim, missing data never zero."""

from __future__ import annotations

import csv
from pathlib import Path

from computewatch.domain.catalog import Catalog
from computewatch.reports.annex import neutralise, write_annex
from tests.helpers.reports import HTML_NAME, LONG_NAME, sample_context

FORMULAS = ['=HYPERLINK("http://evil","click")', "+1", "-2", "@SUM(A1:A9)", "\tTAB", "\rCR"]


def read(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the file as UTF-8
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_formula_cells_are_neutralised(tmp_path: Path) -> None:
    ctx = sample_context(
        Catalog.load(),
        account_name=FORMULAS[0],
        rule_title="@SUM(1)",
        other_names=tuple(FORMULAS[1:]),
    )
    paths = write_annex(ctx, tmp_path, "audit")
    usage = read(paths["csv"])
    names = {r["account_name"] for r in usage}
    # Formula starts are neutralised; control characters are shown by code point (never raw).
    assert {"'" + f for f in FORMULAS[:4]} <= names
    assert {"[U+0009]TAB", "[U+000D]CR"} <= names
    assert not any(
        v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in usage for v in r.values()
    )
    findings = read(paths["csv-findings"])
    assert {r["title"] for r in findings} == {"'@SUM(1)"}


def test_names_and_numbers_kept(tmp_path: Path) -> None:
    ctx = sample_context(Catalog.load())
    usage = read(write_annex(ctx, tmp_path, "audit")["csv"])
    names = {r["account_name"] for r in usage}
    assert {"北京示例人工智能有限公司", HTML_NAME, LONG_NAME} <= names
    h100 = [r for r in usage if r["metric"] == "accelerator_hours" and r["key"] == "H100"]
    assert [(r["account_id"], float(r["quantity"])) for r in h100] == [("111111111111", 6000.0)]
    tokens = {r["metric"]: float(r["quantity"]) for r in usage if r["key"].startswith("anthropic")}
    assert tokens == {
        "model_input_tokens": 1e6,
        "model_output_tokens": 2e5,
        "model_invocations": 30,
    }
    assert {(r["customer_id"], r["customer"], r["customer_country"]) for r in h100} == {
        ("bj-ai", "北京示例人工智能有限公司", "CN")
    }
    failed = [r for r in usage if r["account_id"] == "222222222222"]
    assert [(r["coverage_status"], r["quantity"]) for r in failed] == [("failed", "")]


def test_neutralise_leaves_numbers_numbers() -> None:
    assert neutralise(-2.5) == "-2.5"
    assert neutralise(None) == ""
    assert neutralise("-2.5") == "'-2.5"
    assert neutralise("plain") == "plain"
