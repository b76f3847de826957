"""Benchmark: render the audit for a large, hostile fleet and compare with a plain WeasyPrint table.

Not a test: prints, per fleet size, the time and page count of each output (audit PDF, combined
notices PDF, XLSX, CSV, JSON) and of a baseline, the same rows as one minimal fixed-layout HTML
table printed by WeasyPrint, so the cost of the layout itself is visible. The fleet has one
customer per account, one unbroken 5,000-character customer name, long CJK names, a long cloud
error message, every 50th account unreadable, and findings of every status (every 20th a BREACH,
every 33rd UNKNOWN). Usage, from the repository root:

    .venv/bin/python -m bench.report_render --accounts 250,500,1000 --findings-per-account 1
"""

from __future__ import annotations

import argparse
import html
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pypdfium2 as pdfium

from computewatch.domain.catalog import Catalog
from computewatch.reports.context import AuditContext
from computewatch.reports.layout import clip
from computewatch.reports.notices import write_notices
from computewatch.reports.outputs import write_outputs
from computewatch.reports.pdf import pdf_from_html, print_stylesheet
from computewatch.reports.quarterly import write_quarterly
from computewatch.reports.render import make_environment
from tests.helpers.fleet_report import fleet_context

T = TypeVar("T")


CPU: list[float] = []  # CPU seconds of the last timed call (wall time suffers on a busy machine)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    CPU[:] = [time.process_time() - cpu]
    return value, time.perf_counter() - start


def row(label: str, wall: float, pages: int | None = None) -> None:
    shown = "" if pages is None else f"{pages:6d}"
    print(f"  {label:<28} {wall:8.2f} {CPU[0]:8.2f} {shown}")


def pages(path_or_bytes: Path | bytes) -> int:
    doc = pdfium.PdfDocument(path_or_bytes)
    try:
        return len(doc)
    finally:
        doc.close()


def baseline_html(ctx: AuditContext) -> str:
    """The same accounts and findings as one bare table (names clipped as the report clips them)."""
    rows = [
        f"<tr><td>{a.provider}</td><td>{a.account_id}</td><td>{html.escape(clip(a.name, 60))}</td>"
        f"<td>{sum(h.hours for h in a.accelerator_hours):.1f}</td></tr>"
        for a in ctx.accounts
    ]
    rows += [
        f"<tr><td>{f.status}</td><td>{html.escape(f.rule_id)}</td><td>{f.scope_key}</td>"
        f"<td>{f.value}</td></tr>"
        for f in ctx.findings
    ]
    return (
        "<html><head><style>table{table-layout:fixed;width:100%;border-collapse:collapse}"
        "td{border:1px solid #999;font-size:8.5pt}</style></head><body><table>"
        + "".join(rows)
        + "</table></body></html>"
    )


def run(accounts: int, findings: int, out: Path) -> None:
    catalog = Catalog.load()
    ctx, t_ctx = timed(lambda: fleet_context(catalog, accounts=accounts, findings=findings))
    env = make_environment()
    breaches = sum(1 for f in ctx.findings if f.status == "BREACH")
    print(f"\n{accounts} accounts, {findings} findings ({breaches} BREACH), hostile names")
    print(f"  {'stage':<28} {'wall s':>8} {'CPU s':>8} {'pages':>6}")
    row("context", t_ctx)
    for fmt in ("json", "csv", "xlsx", "html"):
        _, t = timed(lambda fmt=fmt: write_outputs(ctx, [fmt], out, env))  # type: ignore[misc]
        row(fmt, t)
    paths, t_pdf = timed(lambda: write_outputs(ctx, ["pdf"], out, env))
    audit_pages = pages(paths["pdf"])
    row("audit PDF", t_pdf, audit_pages)
    cpu_pdf = CPU[0]
    notices, t_notices = timed(lambda: write_notices(ctx, out, env))
    combined = [p for p in notices.values() if p.suffix == ".pdf"]
    notice_pages = sum(pages(p) for p in combined)
    row(f"notices PDF ({breaches}, combined)", t_notices, notice_pages)
    quarterly, t_q = timed(lambda: write_quarterly(ctx, out, env))
    q_pages = sum(pages(p) for p in quarterly.values() if p.suffix == ".pdf")
    row("quarterly PDF", t_q, q_pages)
    data, t_base = timed(lambda: pdf_from_html(baseline_html(ctx), print_stylesheet(ctx)))
    row("baseline: bare table PDF", t_base, pages(data))
    print(
        f"  audit PDF / baseline: {cpu_pdf / CPU[0]:.2f}x CPU; "
        f"{1000 * cpu_pdf / accounts:.1f} ms CPU per account; peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", default="1000", help="comma-separated fleet sizes")
    parser.add_argument("--findings-per-account", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.accounts.split(",")):
            run(n, int(n * args.findings_per_account), Path(tmp))


if __name__ == "__main__":
    main()
