"""PDF: the audit HTML printed by WeasyPrint, with page numbers and the report id on every page.

The HTML template stays the single layout; only a print stylesheet is added here. Fonts come from
fontconfig: Noto Sans CJK (Debian `fonts-noto-cjk`) must be installed or Chinese names print as
empty boxes. Nothing is fetched while rendering: reports never reach out to the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from computewatch.reports.context import AuditContext
from computewatch.reports.render import ReportError, render

PRINT_CSS = """
@page {
  size: A4;
  margin: 22mm 15mm 18mm 15mm;
  font-family: "Noto Sans", "Noto Sans CJK SC", "DejaVu Sans", sans-serif;
  @top-left { content: %(title)s; font-size: 8pt; color: #444; }
  @top-right { content: "Report " %(report_id)s; font-size: 8pt; color: #444; }
  @bottom-center { content: %(footer)s; font-size: 8pt; }
}
body { font-family: "Noto Sans", "Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans", sans-serif; }
a { color: inherit; text-decoration: none; }
th, td { overflow-wrap: break-word; }  /* a word too long for its cell wraps instead of overflowing */
"""


def css_string(text: str) -> str:
    """A CSS string literal: quotes, backslashes and line breaks cannot end or bend the rule."""
    out = []
    for ch in text:
        if ch in '"\\' or ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def print_stylesheet(ctx: AuditContext) -> str:
    title = f"{ctx.title} {ctx.period_start:%Y-%m-%d} – {ctx.period_end:%Y-%m-%d}"
    return stylesheet(title, ctx.report_id)


PAGE_OF_PAGES = '"Page " counter(page) " of " counter(pages)'
# Threshold notices: the notice id (set by each notice's heading) and the page within the notice.
# The combined document is printed in batches and joined, so a count across it would be wrong;
# each notice's pages form a page group ('page: notice') whose first page restarts the count.
NOTICE_PAGES = '"Notice " string(notice) " — page " counter(page)'
NOTICE_PAGE_OF_PAGES = NOTICE_PAGES + ' " of " counter(pages)'  # one notice, its own document
NOTICE_PAGES_CSS = "@page :nth(1 of notice) { counter-reset: page 1; }\n"


def stylesheet(title: str, report_id: str, footer: str = PAGE_OF_PAGES) -> str:
    css = PRINT_CSS % {
        "title": css_string(title),
        "report_id": css_string(report_id),
        "footer": footer,
    }
    return css + (NOTICE_PAGES_CSS if "string(notice)" in footer else "")


def no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ReportError(f"the PDF renderer refused to fetch {url!r}: reports are self-contained")


def render_pdf(ctx: AuditContext) -> bytes:
    """The audit report as PDF bytes."""
    return pdf_from_html(render(ctx, "html"), print_stylesheet(ctx))


def pdf_from_html(html_text: str, css: str) -> bytes:
    """Any of our HTML documents as PDF (WeasyPrint imported here: loading Pango is not free)."""
    from weasyprint import CSS, HTML

    html = HTML(string=html_text, base_url=None, url_fetcher=no_fetch)
    pdf = html.write_pdf(stylesheets=[CSS(string=css)])
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf without a target returns bytes
        raise ReportError("WeasyPrint returned no PDF")
    return pdf


def write_pdf(ctx: AuditContext | None, path: Path, data: bytes | None = None) -> Path:
    if data is None:
        if ctx is None:
            raise ReportError("write_pdf needs a context or the PDF bytes")
        data = render_pdf(ctx)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # never leave a half-written PDF behind
    return path
