"""PDF through WeasyPrint: the Chinese account name prints in a CJK font; every page carries its
number and the report id. Text is read back with pypdfium2 (pypdf garbles CJK)."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from computewatch.delivery.evidence import bundle_reports, verify_bundle
from computewatch.domain.catalog import Catalog
from computewatch.reports.context import AuditContext
from computewatch.reports.pdf import css_string, write_pdf
from computewatch.reports.render import write_reports
from tests.helpers.reports import CHINESE, sample_context


@pytest.fixture(scope="module")
def ctx() -> AuditContext:
    return sample_context(Catalog.load())


@pytest.fixture(scope="module")
def pdf(
    ctx: AuditContext, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[pdfium.PdfDocument]:
    path = write_pdf(ctx, tmp_path_factory.mktemp("pdf") / "audit.pdf")
    assert path.read_bytes().startswith(b"%PDF-")
    doc = pdfium.PdfDocument(path)
    yield doc
    doc.close()


def page_texts(doc: pdfium.PdfDocument) -> list[str]:
    out = []
    for page in doc:
        tp = page.get_textpage()
        out.append(tp.get_text_range())
        tp.close()
        page.close()
    return out


def font_at(doc: pdfium.PdfDocument, needle: str) -> str:
    page = doc[0]
    tp = page.get_textpage()
    try:
        index = tp.get_text_range().index(needle)
        buf = ctypes.create_string_buffer(256)
        flags = ctypes.c_int()
        pdfium_c.FPDFText_GetFontInfo(tp, index, buf, 256, ctypes.byref(flags))
        return buf.value.decode()
    finally:
        tp.close()
        page.close()


def test_chinese_name_prints_in_a_cjk_font(pdf: pdfium.PdfDocument) -> None:
    texts = page_texts(pdf)
    assert CHINESE in texts[0]
    assert "CJK" in font_at(pdf, CHINESE)  # real glyphs, not empty boxes from a Latin font


def test_page_numbers_and_report_id_on_every_page(
    pdf: pdfium.PdfDocument, ctx: AuditContext
) -> None:
    texts = page_texts(pdf)
    assert len(texts) >= 2
    for number, text in enumerate(texts, 1):
        assert f"Page {number} of {len(texts)}" in text
        assert f"Report {ctx.report_id}" in text
    assert "unknown, not zero" in " ".join(texts[0].split())


def test_css_string_cannot_break_out() -> None:
    assert css_string('a"b\\c\nd') == '"a\\22 b\\5c c\\a d"'


def test_bundle_carries_the_pdf_and_verifies(ctx: AuditContext, tmp_path: Path) -> None:
    paths = write_reports(ctx, ["html"], tmp_path / "staging")
    bundle = bundle_reports(paths, ctx, None, tmp_path)
    assert bundle.files["pdf"].parent == bundle.directory
    assert bundle.files["pdf"].read_bytes().startswith(b"%PDF-")
    assert verify_bundle(bundle.directory).ok
