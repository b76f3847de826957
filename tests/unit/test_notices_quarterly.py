"""Threshold notices, the quarterly report, charts and user templates, rendered for real."""

from datetime import date
from pathlib import Path

import pytest

from computewatch.config.settings import ReportSettings
from computewatch.domain import LegalStatus
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import UsageError
from computewatch.reports.charts import bar_chart
from computewatch.reports.notices import build_notices, write_notices
from computewatch.reports.quarterly import build_quarterly, due_date
from computewatch.reports.render import ReportError, make_environment, render, render_template
from tests.helpers.reports import CHINESE, HTML_NAME, sample_context


def test_one_notice_per_breach_with_identity_and_certification(
    catalog: Catalog, tmp_path: Path
) -> None:
    ctx = sample_context(catalog, rule_title=HTML_NAME, legal_status=LegalStatus.IN_FORCE)
    (notice,) = build_notices(ctx)
    assert notice.finding.scope_key == "aws:111111111111"
    assert notice.customer is not None and notice.customer.legal_name == CHINESE
    assert {"D:1", "D:4", "D:5"} <= set(notice.customer.country_groups)
    assert [h.chip for h in notice.hours] == ["H100"] and notice.hours[0].hours == 6000
    paths = write_notices(ctx, tmp_path, make_environment(), pdf=False)
    html = paths[f"notice-{notice.finding.id}.html"].read_text("utf-8")
    for section in (
        "Customer identity",
        "Accounts",
        "Activity",
        "Compute estimate",
        "Legal basis",
        "Certification",
    ):
        assert section in html
    assert CHINESE in html and "Signature" in html
    assert "<b>Bold" not in html and "&lt;b&gt;Bold" in html  # the rule title is escaped


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (LegalStatus.BILL, "THRESHOLD CROSSED (BILL, NOT LAW)"),
        (LegalStatus.PROPOSED, "THRESHOLD CROSSED (PROPOSED, NOT LAW)"),
        (LegalStatus.REVOKED, "THRESHOLD CROSSED (REVOKED, NOT LAW)"),
        (LegalStatus.INTERNAL_POLICY, "THRESHOLD CROSSED (INTERNAL POLICY, NOT LAW)"),
    ],
)
def test_notices_for_rules_that_are_not_law_carry_no_certification(
    catalog: Catalog, tmp_path: Path, status: LegalStatus, phrase: str
) -> None:
    ctx = sample_context(catalog, legal_status=status)
    (notice,) = build_notices(ctx)
    assert not notice.certification and notice.finding.framing == phrase.lower().replace(
        "internal policy", "internal policy"
    )
    paths = write_notices(ctx, tmp_path, make_environment(), pdf=False)
    for suffix in ("html", "md"):
        text = paths[f"notice-{notice.finding.id}.{suffix}"].read_text("utf-8")
        assert phrase in text and "Signature" not in text and "BREACH" not in text
        assert "Legal status of the rules" in text and "not law" in text  # the legend
        assert "as of" in text  # country groups' as-of date


def test_internal_policy_notice_certified_when_the_operator_attests(
    catalog: Catalog, tmp_path: Path
) -> None:
    (notice,) = build_notices(sample_context(catalog), attest_internal=True)
    assert notice.certification
    paths = write_notices(
        sample_context(catalog), tmp_path, make_environment(), pdf=False, attest_internal=True
    )
    text = paths[f"notice-{notice.finding.id}.md"].read_text("utf-8")
    assert "8. Certification" in text and "attests this internal policy" in text


def test_attesting_internal_policy_is_a_config_setting_off_by_default() -> None:
    assert ReportSettings().attest_internal_policy is False
    assert ReportSettings(attest_internal_policy=True).attest_internal_policy


def test_every_report_carries_the_legend(catalog: Catalog) -> None:
    ctx = sample_context(catalog)
    env = make_environment()
    for fmt in ("html", "md"):
        text = render(ctx, fmt, env)
        assert "Legal status of the rules" in text and "internal-policy" in text
        assert "threshold crossed (internal policy, not law)" in text  # the BREACH, as worded
    q = build_quarterly(ctx)
    for template in ("quarterly.html.j2", "quarterly.md.j2"):
        text = render_template(env, template, q=q)
        assert "Legal status of the rules" in text and "as of" in text


def test_notice_pdf_prints_the_chinese_name(catalog: Catalog, tmp_path: Path) -> None:
    import pypdfium2

    paths = write_notices(sample_context(catalog), tmp_path, make_environment())
    (pdf,) = [p for p in paths.values() if p.suffix == ".pdf"]
    doc = pypdfium2.PdfDocument(str(pdf))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert CHINESE in text and "Threshold notice" in text


@pytest.mark.parametrize(
    ("quarter_end", "due"),
    [
        (date(2026, 3, 31), date(2026, 4, 15)),
        (date(2026, 12, 31), date(2027, 1, 15)),
        (date(2026, 9, 30), date(2026, 10, 15)),
    ],
)
def test_due_dates(quarter_end: date, due: date) -> None:
    assert due_date(quarter_end) == due


def test_quarterly_lists_training_and_clusters(catalog: Catalog) -> None:
    q = build_quarterly(sample_context(catalog))
    assert q.quarter == "2026-Q4" and q.due == date(2027, 1, 15)
    assert q.next_due == (
        date(2027, 4, 15),
        date(2027, 7, 15),
        date(2027, 10, 15),
        date(2028, 1, 15),
    )
    ((customer, crossed),) = q.training
    assert (
        customer.customer.legal_name == CHINESE and crossed == ""
    )  # 6,000 H100-hours ~ 8.5e21 FLOP
    ((cluster, above),) = q.clusters
    # 702.7 counts the theoretical maximum: H100 FP8 dense 1,979 TFLOPS (datasheet 3,958 sparse)
    assert cluster.implied_cluster_flops == pytest.approx(8 * 1.979e15) and not above
    html = render_template(make_environment(), "quarterly.html.j2", q=q)
    assert "proposed" in html and "2027-01-15" in html


def test_charts_are_inline_svg_with_escaped_labels(catalog: Catalog) -> None:
    html = render(sample_context(catalog), "html")
    assert html.count("<svg") == 2 and "<script" not in html  # chip mix and tokens; no daily data
    assert "Nothing to chart" in html
    chart = bar_chart("t", "h", {"<x>": 2.0, "y": 1.0, "zero": 0.0})
    assert [(b.label, b.fraction) for b in chart.bars] == [("<x>", 1.0), ("y", 0.5)]


def test_user_templates_override_by_name_in_a_sandbox(catalog: Catalog, tmp_path: Path) -> None:
    (tmp_path / "audit.md.j2").write_text("Custom report {{ ctx.report_id }}\n", encoding="utf-8")
    env = make_environment(tmp_path)
    ctx = sample_context(catalog)
    assert render(ctx, "md", env) == f"Custom report {ctx.report_id}\n"
    assert "<svg" in render(
        ctx, "html", env
    )  # templates not overridden still come from the package
    (tmp_path / "audit.md.j2").write_text("{{ ctx.__class__.__mro__ }}", encoding="utf-8")
    with pytest.raises(ReportError, match="sandbox"):
        render(ctx, "md", make_environment(tmp_path))
    with pytest.raises(UsageError, match="does not exist"):
        make_environment(tmp_path / "missing")


def test_quarterly_says_what_it_is_modelled_on_and_flags_a_partial_quarter(
    catalog: Catalog,
) -> None:
    q = build_quarterly(sample_context(catalog))  # October only: Q4 is partial
    assert q.partial and (q.quarter_start, q.quarter_end) == (date(2026, 10, 1), date(2026, 12, 31))
    env = make_environment()
    for template in ("quarterly.html.j2", "quarterly.md.j2"):
        text = render_template(env, template, q=q)
        assert "PARTIAL QUARTER" in text and "7.308" in text and "702.7" in text
        assert "own" in text and "Six-month look-ahead" in text
        assert text.count("not derivable from usage data") >= 4  # location, co-location, 300G, plan
        assert "Contact person" in text and "Detected training runs" in text


def test_notice_carries_the_foreign_person_report_fields(catalog: Catalog, tmp_path: Path) -> None:
    ctx = sample_context(catalog, legal_status=LegalStatus.PROPOSED)
    paths = write_notices(ctx, tmp_path, make_environment(), pdf=False)
    for name, path in paths.items():
        text = path.read_text("utf-8")
        assert "Customer contact" in text and "Payment source" in text, name
        assert "Access IP addresses" in text and "Training run start and end" in text
        assert "to be completed" in text
