"""What a run renders (issue 16: only what it needs) and the combined notices PDF (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import UsageError
from computewatch.reports.layout import LISTING_LIMIT
from computewatch.reports.notices import write_notices
from computewatch.reports.outputs import check_formats, needed_formats, write_outputs
from computewatch.reports.quarterly import build_quarterly, write_quarterly
from computewatch.reports.render import make_environment, render_template
from tests.helpers.fleet_report import fleet_context
from tests.helpers.reports import sample_context


def test_json_alone_renders_no_pdf(tmp_path: Path) -> None:
    assert needed_formats(["json"], bundle=True) == ["json"]
    paths = write_outputs(sample_context(Catalog.load()), ["json"], tmp_path)
    assert list(paths) == ["json"] and not list(tmp_path.glob("*.pdf"))


def test_bundle_configuration_and_mail_add_what_they_need() -> None:
    assert needed_formats(["json"], bundle=True, bundle_formats=["pdf"]) == ["json", "pdf"]
    assert needed_formats(["json"], bundle=False, bundle_formats=["pdf"]) == ["json"]
    assert needed_formats(["json"], bundle=True, mail=True) == ["json", "pdf", "csv"]


@pytest.mark.parametrize("bad", [["pdfx"], [""], ["json", "PDF"]])
def test_unknown_or_empty_format_is_a_usage_error(bad: list[str]) -> None:
    with pytest.raises(UsageError, match="choose from html, md, json, pdf, csv, xlsx"):
        check_formats(bad)


def test_notices_go_into_one_combined_pdf(tmp_path: Path) -> None:
    ctx = fleet_context(Catalog.load(), accounts=41, findings=41)  # three BREACH findings
    breaches = [f for f in ctx.findings if f.status == "BREACH"]
    assert len(breaches) == 3
    paths = write_notices(ctx, tmp_path, make_environment())
    (combined,) = [p for p in paths.values() if p.suffix == ".pdf"]
    assert combined.name == "notices-2026-10-01_2026-11-01.pdf"
    doc = pdfium.PdfDocument(combined)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    for f in breaches:
        assert f"N-{f.id}" in text
    # The 5,000-character name is printed in full (twice) and breaks every 40 characters.
    assert "".join(text.split()).count("X" * 40) >= 2 * 5000 // 40 - 2
    assert len(doc) <= 2 + 2 + 8  # two plain notices, the hostile one about 7 pages
    assert len([p for p in paths if p.endswith(".html")]) == 3  # HTML per notice stays


def test_per_notice_pdfs_on_request(tmp_path: Path) -> None:
    ctx = sample_context(Catalog.load())
    paths = write_notices(ctx, tmp_path, make_environment(), each_pdf=True)
    pdfs = sorted(p.name for p in paths.values() if p.suffix == ".pdf")
    assert len(pdfs) == 2 and pdfs[0].startswith("notice-") and pdfs[1].startswith("notices-")


def test_quarterly_clips_a_hostile_name_and_prints_it_in_an_appendix(tmp_path: Path) -> None:
    ctx = fleet_context(Catalog.load(), accounts=30, findings=0)
    paths = write_quarterly(ctx, tmp_path, make_environment())
    (pdf,) = [p for p in paths.values() if p.suffix == ".pdf"]
    doc = pdfium.PdfDocument(pdf)
    text = "".join("".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc)))
    assert 2000 // 40 <= text.count("X" * 40) <= 2000 // 40 + 2  # in full once, in the appendix
    assert "XXX…[N" in text  # clipped in both tables
    assert len(doc) <= 6


def test_quarterly_lists_crossings_and_stops_the_rest_at_the_limit() -> None:
    ctx = fleet_context(Catalog.load(), accounts=LISTING_LIMIT + 20, findings=0)
    q = build_quarterly(ctx)
    measured = sum(1 for c in ctx.customers if c.flop and c.flop.central > 0)  # 3 unreadable
    assert len(q.training) == LISTING_LIMIT < q.training_total == measured
    html = render_template(make_environment(), "quarterly.html.j2", q=q)
    assert f"{measured - LISTING_LIMIT} further customer(s) below every threshold" in html
