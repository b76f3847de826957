"""A report that scales (issue 12): the combined notices PDF printed in batches holds every notice,
the same pages as one document would, each page naming its notice; the printed audit lists every
finding or says how many it does not print and where they are."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from computewatch.domain.catalog import Catalog
from computewatch.engine.estimates import FlopBand
from computewatch.engine.training_runs import TrainingRun
from computewatch.reports import layout
from computewatch.reports.layout import LISTING_LIMIT, build_print_view
from computewatch.reports.notices import build_notices, write_notices
from computewatch.reports.pdf_workers import PdfWorkers
from computewatch.reports.quarterly import build_quarterly
from computewatch.reports.render import make_environment, render, render_template
from tests.helpers.fleet_report import fleet_context


def page_texts(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(path)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def combined(paths: dict[str, Path]) -> Path:
    (pdf,) = [p for name, p in paths.items() if name.startswith("notices-")]
    return pdf


def test_batched_notices_hold_every_notice_as_one_document_would(tmp_path: Path) -> None:
    # Every account a BREACH, account 0's notice (the 5,000-character name) about seven pages.
    ctx = fleet_context(Catalog.load(), accounts=12, findings=12, breach_every=1)
    (tmp_path / "b").mkdir()
    (tmp_path / "w").mkdir()
    ids = [n.notice_id for n in build_notices(ctx)]
    assert len(ids) == 12
    with PdfWorkers(2) as workers:
        batched = write_notices(ctx, tmp_path / "b", make_environment(), workers=workers, batch=5)
        whole = write_notices(ctx, tmp_path / "w", make_environment(), workers=workers, batch=100)
    pages = page_texts(combined(batched))
    assert pages == page_texts(combined(whole))  # three documents joined = one document
    text = "".join(pages)
    for notice_id in ids:
        # Its heading line, and a footer on each of its pages that restarts at page 1.
        assert f"Notice {notice_id} ·" in text
        assert text.count(f"Notice {notice_id} — page 1") == 1
    firsts = [p for p in pages if " — page 1\r\n" in p or p.rstrip().endswith(" — page 1")]
    assert len(firsts) == len(ids)
    assert "Page 1 of" not in text  # no count across the joined file
    # The legend once, at the end (after the last notice).
    assert text.count("Legal status of the rules") == 1
    assert text.index("Legal status of the rules") > text.index(f"Notice {ids[-1]} ·")
    # One bookmark per notice, kept across the join (nested entries: the legend's heading).
    outline = PdfReader(combined(batched)).outline
    assert [i.title for i in outline if not isinstance(i, list)] == [f"Notice {i}" for i in ids]


def test_per_notice_pdfs_go_through_the_pool(tmp_path: Path) -> None:
    ctx = fleet_context(Catalog.load(), accounts=4, findings=4, breach_every=1)
    paths = write_notices(ctx, tmp_path, make_environment(), each_pdf=True, batch=2)
    singles = sorted(
        p for name, p in paths.items() if name.startswith("notice-") and p.suffix == ".pdf"
    )
    assert len(singles) == 4
    for n, path in zip(
        sorted(build_notices(ctx), key=lambda n: f"notice-{n.finding.id}.pdf"), singles, strict=True
    ):
        pages = page_texts(path)
        assert f"Notice {n.notice_id} — page 1 of {len(pages)}" in pages[0]


def test_every_finding_is_listed_in_the_printed_audit() -> None:
    ctx = fleet_context(Catalog.load(), accounts=120, findings=120, breach_every=1)
    view = build_print_view(ctx)
    assert view.exceptions_listed == view.exceptions and view.unlisted == (0, 0, 0)
    html = render(ctx, "html")
    section = html.split('<section id="findings">')[1].split('<section id="customers">')[0]
    for f in ctx.findings:
        assert f.id in section
    assert "not printed here" not in section


def test_a_capped_finding_listing_says_how_many_are_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(layout, "FINDING_ROW_LIMIT", 50)
    ctx = fleet_context(Catalog.load(), accounts=120, findings=120, breach_every=1)
    view = build_print_view(ctx)
    listed = [f.id for c in view.exceptions_listed for f in c.findings]
    assert len(listed) == 50
    breaches, unknowns, customers = view.unlisted
    assert breaches + unknowns == len(ctx.findings) - 50 == view.exception_total - 50
    assert customers == 70  # one finding a customer here
    html = render(ctx, "html")
    section = html.split('<section id="findings">')[1].split('<section id="customers">')[0]
    assert (
        f"<strong>70 further finding(s) ({breaches} BREACH, {unknowns} UNKNOWN) of 70 customer(s)"
        in section
    )
    assert "every finding is in the CSV/XLSX data annex (findings) and the JSON report" in section
    assert sum(1 for f in ctx.findings if f.id in section) == 50


def test_quarterly_lists_runs_above_a_threshold_and_counts_the_rest() -> None:
    """Every detected run above a per-run threshold is listed; the others stop at the listing
    limit, largest first, and the report says how many more there are and where."""
    ctx = fleet_context(Catalog.load(), accounts=3, findings=0)
    start = ctx.period_start

    def run(i: int, flop: float, crossed: tuple[str, ...]) -> TrainingRun:
        band = FlopBand(flop / 2, flop, flop * 2, {}, 0.0)
        end = start + timedelta(days=3)
        return TrainingRun(
            f"customer:c{i}", f"Run {i}", start, end, False, (), ("H100",), 8.0, 1.0, band, crossed
        )

    runs = [run(i, 1e24 + i, ()) for i in range(LISTING_LIMIT + 30)]
    runs += [run(1000 + i, 1e26 + i, ("702.7 / EO 14110",)) for i in range(LISTING_LIMIT + 5)]
    q = build_quarterly(dataclasses.replace(ctx, training_runs=tuple(runs)))
    assert q.runs_total == len(runs)
    assert len(q.runs) == LISTING_LIMIT + 5 and all(r.crossed for r in q.runs)
    html = render_template(make_environment(), "quarterly.html.j2", q=q)
    assert f"{LISTING_LIMIT + 30} further detected run(s) below every per-run threshold" in html
