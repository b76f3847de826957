"""Rendering: autoescaped HTML, escaped Markdown, StrictUndefined, and the JSON contract."""

import json
from datetime import timedelta

import jinja2
import jsonschema
import pytest

from computewatch.domain import (
    Account,
    CoverageEntry,
    CoverageStatus,
    LegalStatus,
    Rule,
    RunInfo,
    Window,
)
from computewatch.domain.catalog import Catalog
from computewatch.engine.evaluate import evaluate_window
from computewatch.reports.context import AuditContext
from computewatch.reports.json_report import to_contract, validate_contract
from computewatch.reports.render import make_environment, render, write_reports
from tests.helpers.usage import assessment, usage
from tests.helpers.usage import context as build_context

OCT = Window.month("2026-10")
EVIL = '<script>alert("x")</script> | **bold** =HYPERLINK("http://evil")'


def context(catalog: Catalog) -> AuditContext:
    ok = CoverageEntry(
        "aws", "111111111111", "us-east-1", "aws.ec2", OCT.start, OCT.end, CoverageStatus.OK
    )
    bad = CoverageEntry(
        "aws",
        "222222222222",
        "us-east-1",
        "aws.ec2",
        OCT.start,
        OCT.end,
        CoverageStatus.FAILED,
        "AccessDenied",
        EVIL,
    )
    usages = [
        usage(
            Account("aws", "111111111111", EVIL),
            [ok],
            catalog=catalog,
            accelerator_hours={"H100": 6000.0, "unknown": 3.0},
            peak_concurrent_accelerators={"H100": 8.0},
        ),
        usage(Account("aws", "222222222222", "denied"), [bad]),
    ]
    rule = Rule(
        "r1",
        EVIL,
        "Internal policy",
        "",
        LegalStatus.INTERNAL_POLICY,
        "accelerator_hours",
        "account",
        "calendar_month",
        ">",
        5000,
        "high",
        chip_class="3A090",
    )
    findings = evaluate_window([rule], usages, OCT, catalog)
    a = assessment(usages, [ok, bad], findings, OCT, OCT.end + timedelta(days=1), catalog)
    return build_context(
        a,
        catalog,
        reporting_entity=EVIL,
        run=RunInfo(7, "t", "0" * 64, (("ec2:DescribeInstances", 2),)),
    )


def test_html_is_autoescaped(catalog: Catalog) -> None:
    html = render(context(catalog), "html")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert (
        html.index('<section id="summary">')
        < html.index('<section id="coverage">')
        < html.index('<section id="findings">')
        < html.index('<section id="accounts">')
    )
    assert "unknown, not zero" in html
    assert "Usage unknown" in html  # the failed account is not shown as zero


def test_markdown_escapes_table_breakers(catalog: Catalog) -> None:
    md = render(context(catalog), "md")
    assert "<script>" not in md
    assert "\\| \\*\\*bold\\*\\*" in md
    for line in md.splitlines():
        if line.startswith("| **BREACH**") or line.startswith("| **UNKNOWN**"):
            assert line.count(" | ") == 6  # the table row keeps its 7 cells


def test_strict_undefined() -> None:
    env = make_environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ ctx.nope }}").render(ctx={})


def test_json_contract(catalog: Catalog) -> None:
    doc = to_contract(context(catalog))
    validate_contract(doc)
    assert doc["schema"] == "computewatch.audit/1"
    acct = {a["account_id"]: a for a in doc["accounts"]}
    assert acct["111111111111"]["accelerator_hours"] == {"H100": 6000.0, "unknown": 3.0}
    assert acct["222222222222"]["estimated_training_flop"] is None
    assert [f["status"] for f in doc["findings"]] == ["BREACH", "UNKNOWN"]
    broken = json.loads(json.dumps(doc))
    broken["findings"][0]["status"] = "MAYBE"
    with pytest.raises(jsonschema.ValidationError):
        validate_contract(broken)


def test_write_reports_writes_every_format(catalog: Catalog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_reports(context(catalog), ["html", "md", "json"], tmp_path)
    assert sorted(paths) == ["html", "json", "md"]
    assert paths["json"].name == "audit-2026-10-01_2026-11-01.json"
    assert not list(tmp_path.glob("*.tmp"))
    validate_contract(json.loads(paths["json"].read_text("utf-8")))
