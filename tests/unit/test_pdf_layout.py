"""The audit PDF on A4 (issue 14 items 13-14): an executive summary on page 1, exceptions grouped
by customer, OK results as counts with an appendix, clipped names with the full text in appendix B,
and numbers and words that never break. Checked by reading the text back (pypdfium2), not by time:
one unbroken 5,000-character name must not add pages beyond its appendix entry."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pypdfium2 as pdfium
import pytest

from computewatch.domain.catalog import Catalog
from computewatch.reports.context import AuditContext
from computewatch.reports.layout import (
    DETAIL_LIMIT,
    LISTING_LIMIT,
    Names,
    build_print_view,
    clip,
)
from computewatch.reports.pdf import render_pdf
from computewatch.reports.render import breakable, render
from tests.helpers.fleet_report import CJK_LONG, HOSTILE_NAME, fleet_context
from tests.helpers.reports import sample_context


@pytest.fixture(scope="module")
def fleet() -> AuditContext:
    return fleet_context(Catalog.load(), accounts=30, findings=30)


@pytest.fixture(scope="module")
def pages(fleet: AuditContext) -> Iterator[list[str]]:
    doc = pdfium.PdfDocument(render_pdf(fleet))
    texts = []
    for page in doc:
        tp = page.get_textpage()
        texts.append(tp.get_text_range())
        tp.close()
        page.close()
    doc.close()
    yield texts


def squash(text: str) -> str:
    return "".join(text.split())


def test_page_one_is_the_executive_summary(pages: list[str]) -> None:
    first = " ".join(pages[0].split())
    assert "Executive summary" in first
    assert "Threshold crossings by legal status" in first
    assert "Customers concerned" in first
    assert "What could not be read" in first
    assert "AccessDenied" in first  # the unread unit, by error code
    assert "Coverage: what was read" not in first  # section 1 starts on page 2
    assert "Coverage: what was read" in pages[1]


def test_long_name_is_clipped_and_printed_once_in_full(pages: list[str]) -> None:
    whole = squash("".join(pages))
    # Appendix B prints the first 2,000 characters once; elsewhere it is clipped to ~60.
    assert 2000 <= whole.count("X") <= 2000 + 60 * 20
    assert "3000morecharacters" in whole
    assert "XXX…[N1]" in whole
    assert len(pages) <= 12  # 30 accounts; the 5,000-character name costs about one page


def test_words_and_numbers_do_not_break(pages: list[str]) -> None:
    lines = {line.strip() for p in pages for line in p.splitlines()}
    for broken in ("BREAC", "UNKNOW", "Prov", "AccessDenie", "1e", "1.23e"):
        assert broken not in lines
    text = " ".join(" ".join(pages).split())
    assert "1.23e+25" in text
    assert "Headline: accelerator-hours by chip (accounts read only" in text
    assert "(all accounts read)" not in text  # coverage is partial


def test_ok_results_are_counted_and_listed_in_the_appendix(
    fleet: AuditContext, pages: list[str]
) -> None:
    view = build_print_view(fleet)
    assert view.ok_total == sum(1 for f in fleet.findings if f.status == "OK") > 0
    assert all(f.status != "OK" for c in view.exceptions for f in c.findings)
    text = " ".join(" ".join(pages).split())
    assert f"Appendix A. OK results ({view.ok_total})" in text
    body = text.split("Appendix A.")[0].split("Exceptions by customer: threshold")[1]
    assert "scope(s)" in body  # OK results as counts per rule


def test_per_account_detail_only_where_there_is_a_finding(fleet: AuditContext) -> None:
    view = build_print_view(fleet)
    concerned = {f.scope_key for f in fleet.findings if f.status != "OK"}
    for a in view.detail_accounts:
        assert f"{a.provider}:{a.account_id}" in concerned or a.gaps
    assert len(view.detail_accounts) == view.detail_total  # 30 accounts: below the limit
    assert view.detail_total + view.other_total == len(fleet.accounts)


def test_listings_are_bounded_at_scale() -> None:
    big = fleet_context(Catalog.load(), accounts=LISTING_LIMIT + 50, findings=LISTING_LIMIT + 50)
    view = build_print_view(big)
    assert len(view.other_accounts) <= LISTING_LIMIT < view.other_total
    assert len(view.ok_listed) <= LISTING_LIMIT < view.ok_total
    html = render(big, "html")
    assert "further OK result(s) are in the data annex" in html
    assert HOSTILE_NAME not in html.replace("<wbr>", "")  # only clipped chunks


def test_exceptions_are_grouped_by_customer(fleet: AuditContext) -> None:
    view = build_print_view(fleet)
    names = [c.name for c in view.exceptions]
    assert len(names) == len(set(names))
    assert view.exception_total == sum(1 for f in fleet.findings if f.status != "OK")


def test_partial_coverage_headline_does_not_say_all_accounts_read() -> None:
    ctx = sample_context(Catalog.load())
    assert "(all accounts read)" not in render(ctx, "html")  # the sample has a failed account


def test_clip_counts_cjk_as_double_width() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 4) == "abc…"
    assert len(clip(CJK_LONG, 20)) <= 10
    names = Names(width=10)
    assert names.short("short") == "short"
    assert names.short("a" * 50).endswith("[N1]")
    assert names.short("a" * 50).endswith("[N1]")  # one reference per full text
    assert names.appendix()[0][0] == "N1"


def test_chart_legend_rows_do_not_overlap(fleet: AuditContext) -> None:
    html = render(fleet, "html")
    legend_ys = [
        line.split('y="')[1].split('"')[0]
        for line in html.splitlines()
        if '<rect x="0"' in line and 'width="10"' in line
    ]
    assert len(legend_ys) == len(set(legend_ys)) >= 2  # one row per series


def test_markdown_opens_with_the_same_summary() -> None:
    md = render(sample_context(Catalog.load()), "md")
    assert md.index("## Executive summary") < md.index("## 1. Coverage")
    assert "- **Threshold crossings by legal status:** internal-policy 1 BREACH" in md
    assert "accounts read only; the totals are lower bounds" in md


def test_breakable_escapes_and_offers_a_break_every_40_characters() -> None:
    out = str(breakable("<b>" + "x" * 85 + " short"))
    assert out.startswith("&lt;b&gt;") and "<b>" not in out
    assert out.count("<wbr>") == 2 and out.endswith(" short")


def test_gaps_are_one_row_per_account_and_error() -> None:
    ctx = sample_context(Catalog.load())
    (gap,) = ctx.coverage.gaps
    more = tuple(
        dataclasses.replace(gap, region=r, collector=c)
        for r in ("us-east-1", "us-west-2")
        for c in ("aws.ec2", "aws.bedrock", "aws.sagemaker")
    )
    ctx = dataclasses.replace(ctx, coverage=dataclasses.replace(ctx.coverage, gaps=more))
    (row,) = build_print_view(ctx).gap_groups
    assert row.units == 6 and row.regions == ("us-east-1", "us-west-2")
    assert row.collectors == ("aws.bedrock", "aws.ec2", "aws.sagemaker")
    assert "<strong>AccessDenied</strong> (6)" in render(ctx, "html")


def test_complete_coverage_headline_says_all_accounts_read() -> None:
    ctx = fleet_context(Catalog.load(), accounts=3, findings=3)  # none unreadable
    assert ctx.coverage.status == "complete"
    html = render(ctx, "html")
    assert "(all accounts read)" in html and "lower bounds" not in html


def test_account_detail_is_bounded_worst_first() -> None:
    """With findings on more accounts than the limit (every account of a fleet crossing a
    threshold), the detail blocks stop at the limit, accounts with breaches first; the report
    says how many more there are and where their figures are. Every finding stays listed."""
    big = fleet_context(
        Catalog.load(), accounts=3 * DETAIL_LIMIT, findings=3 * DETAIL_LIMIT, breach_every=2
    )
    view = build_print_view(big)
    assert len(view.detail_accounts) == DETAIL_LIMIT < view.detail_total
    assert view.exception_total == sum(1 for f in big.findings if f.status != "OK")
    breaching = {
        key for f in big.findings if f.status == "BREACH" for key in (f.scope_key, *f.members)
    }
    keys = [f"{a.provider}:{a.account_id}" for a in view.detail_accounts]
    shown_breaching = sum(1 for k in keys if k in breaching)
    all_breaching = sum(1 for a in big.accounts if f"{a.provider}:{a.account_id}" in breaching)
    assert shown_breaching == min(DETAIL_LIMIT, all_breaching)
    html = render(big, "html")
    further = view.detail_total - DETAIL_LIMIT
    assert f"{further} further account(s) with findings or gaps" in html


def test_each_rules_legal_text_is_printed_once_in_the_exceptions() -> None:
    """Findings are listed one short row each; the rule's title, legal basis and the wording of
    its results stand once in the rules table, with the count of crossings and unknowns."""
    big = fleet_context(Catalog.load(), accounts=200, findings=200, breach_every=2)
    view = build_print_view(big)
    crossed = {f.rule_id for c in view.exceptions for f in c.findings}
    assert {r.rule_id for r in view.rules_crossed} == crossed
    assert sum(r.breaches + r.unknowns for r in view.rules_crossed) == view.exception_total
    html = render(big, "html")
    section = html.split('<section id="findings">')[1].split("<p>OK results:")[0]
    for r in view.rules_crossed:
        assert r.framings and all(section.count(w) == 1 for w in r.framings)
    assert section.count("Accelerator-hours per account above 1000") == 1
    assert section.count('<tr class="customer">') == len(view.exceptions)


def test_a_gap_every_account_shares_is_one_row_naming_the_accounts() -> None:
    """A daemon downtime or an outage gives every account the same gap (same error, message,
    regions and collectors): one row with the count and the first accounts, not a row each; rows
    that differ stay apart, and beyond the listing limit the report says how many it left out."""
    ctx = sample_context(Catalog.load())
    (gap,) = ctx.coverage.gaps
    fleet = tuple(
        dataclasses.replace(gap, account_id=f"1000000{i:05d}", region=r, error_code="SamplingGap")
        for i in range(250)
        for r in ("us-east-1", "eu-west-1")
    )
    odd = dataclasses.replace(gap, account_id="999999999999", error_message="denied")
    ctx = dataclasses.replace(ctx, coverage=dataclasses.replace(ctx.coverage, gaps=(*fleet, odd)))
    shared, alone = build_print_view(ctx).gap_groups
    assert len(shared.accounts) == 250 and shared.units == 500 and shared.account_id == ""
    assert alone.accounts == ("999999999999",) and alone.message == "denied"
    html = render(ctx, "html")
    assert "250 accounts: 100000000000, 100000000001, 100000000002, …" in html
    distinct = tuple(
        dataclasses.replace(gap, account_id=f"2000000{i:05d}", error_message=f"denied {i}")
        for i in range(LISTING_LIMIT + 7)
    )
    ctx = dataclasses.replace(ctx, coverage=dataclasses.replace(ctx.coverage, gaps=distinct))
    view = build_print_view(ctx)
    assert len(view.gap_groups) == LISTING_LIMIT and view.gap_rows_total == LISTING_LIMIT + 7
    assert "7 further gap row(s) are not printed here" in render(ctx, "html")


def test_a_detail_many_findings_share_is_printed_once_as_a_note() -> None:
    """Section 2 rows name a shared detail by its note ([1]) and the note is printed once under
    the table: 'coverage partial: the value is a lower bound' on 2,000 rows cost 100 pages."""
    ctx = fleet_context(Catalog.load(), accounts=40, findings=40, breach_every=1)
    shared = "coverage partial: the value is a lower bound; chips of uncertain class: A10G"
    findings = tuple(
        dataclasses.replace(f, detail=shared if i % 4 else f"only this one {i}")
        for i, f in enumerate(ctx.findings)
    )
    ctx = dataclasses.replace(ctx, findings=findings)
    view = build_print_view(ctx)
    assert view.detail_notes[shared] == 1 and len(view.detail_notes) == 11
    section = render(ctx, "html").split('id="findings"', 1)[1].split('id="customers"', 1)[0]
    assert section.count(shared) == 1
    assert section.count("<em>[1]</em>") == 30 + 1  # 30 rows and the note itself
