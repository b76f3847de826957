"""Benchmark: render the audit for a large, hostile fleet and compare with a plain WeasyPrint table.

Not a test: prints, per fleet size, the time and page count of each output (audit PDF, combined
notices PDF, XLSX, CSV, JSON) and of a baseline, the same rows as one minimal fixed-layout HTML
table printed by WeasyPrint, so the cost of the layout itself is visible. The fleet has one
customer per account, one unbroken 5,000-character customer name, long CJK names, a long cloud
error message, every 50th account unreadable, and findings of every status (every 20th a BREACH,
every 33rd UNKNOWN; `--breach-every 1`: every account crosses a threshold). CPU and peak memory
count the PDF worker processes too: CPU from getrusage (self and children), peak RSS as the
largest sum over this process and its descendants, sampled every 0.25 s (scanning /proc costs
CPU of this process, counted in its figures). Usage, from the
repository root:

    .venv/bin/python -m bench.report_render --accounts 250,500,1000 --findings-per-account 1
    .venv/bin/python -m bench.report_render --accounts 1000 --breach-every 1
    .venv/bin/python -m bench.report_render --accounts 1000 --breach-every 1 --as-delivered
"""

from __future__ import annotations

import argparse
import html
import os
import resource
import tempfile
import threading
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
from computewatch.reports.pdf_workers import PdfWorkers
from computewatch.reports.quarterly import write_quarterly
from computewatch.reports.render import make_environment
from tests.helpers.fleet_report import fleet_context

T = TypeVar("T")


CPU: list[float] = []  # CPU seconds of the last timed call (wall time suffers on a busy machine)


def cpu_now() -> float:
    """CPU seconds of this process and of its children that have ended (the PDF workers)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start, cpu = time.perf_counter(), cpu_now()
    value = fn()
    CPU[:] = [cpu_now() - cpu]
    return value, time.perf_counter() - start


def _tree_rss_kib(root: int) -> int:
    """Resident memory of `root` and all its descendants (Linux /proc), in KiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:  # the process ended while we read
            continue
        pid = int(entry)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def _tree_pss_kib(root: int) -> int:
    """Proportional set size of `root` and its descendants, in KiB: a page several processes
    share (the fonts and libraries every PDF worker maps) counts once in all, where the sum of
    RSS counts it in each."""
    pids, todo = [], [root]
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(parents.get(pid, []))
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:  # ended meanwhile
            continue
    return total


class TreePeak:
    """Samples the process tree's memory in a thread: `peak_mib` is the largest sum of RSS seen,
    `peak_pss_mib` the largest sum of PSS (shared pages counted once)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.peak_kib = 0
        self.peak_pss_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.peak_kib = max(self.peak_kib, _tree_rss_kib(os.getpid()))
            self.peak_pss_kib = max(self.peak_pss_kib, _tree_pss_kib(os.getpid()))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024

    @property
    def peak_pss_mib(self) -> float:
        return self.peak_pss_kib / 1024


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


def as_delivered(accounts: int, findings: int, out: Path, breach_every: int) -> None:
    """The whole report the way the pipeline delivers it (agent/pipeline/deliver.py): one pool
    of PDF workers, the audit PDF printed while the other formats are written, then the notices
    and the quarterly report."""
    peak = TreePeak()
    wall0, cpu0 = time.perf_counter(), cpu_now()
    ctx = fleet_context(
        Catalog.load(), accounts=accounts, findings=findings, breach_every=breach_every
    )
    env = make_environment()
    with PdfWorkers() as workers:
        paths = write_outputs(ctx, ["html", "md", "json", "pdf", "csv", "xlsx"], out, env, workers)
        t_outputs = time.perf_counter() - wall0
        paths.update(write_notices(ctx, out, env, workers=workers))
        t_notices = time.perf_counter() - wall0 - t_outputs
        paths.update(write_quarterly(ctx, out, env, workers=workers))
    wall, cpu, tree = time.perf_counter() - wall0, cpu_now() - cpu0, peak.stop()
    pdfs = {name: pages(p) for name, p in paths.items() if p.suffix == ".pdf"}
    breaches = sum(1 for f in ctx.findings if f.status == "BREACH")
    print(f"\n{accounts} accounts, {findings} findings ({breaches} BREACH), as delivered")
    print(f"  context and six formats (audit PDF in a worker meanwhile): {t_outputs:.1f} s wall")
    print(f"  notices: {t_notices:.1f} s wall")
    print("  pages: " + ", ".join(f"{name} {n}" for name, n in pdfs.items()))
    print(
        f"  whole report: {wall:.1f} s wall, {cpu:.1f} s CPU (with workers); peak RSS "
        f"{tree:.0f} MiB (process tree, sampled; this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, largest worker "
        f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB)"
    )


def run(
    accounts: int, findings: int, out: Path, breach_every: int = 20, no_baseline: bool = False
) -> None:
    catalog = Catalog.load()
    peak = TreePeak()
    wall0, cpu0 = time.perf_counter(), cpu_now()
    ctx, t_ctx = timed(
        lambda: fleet_context(
            catalog, accounts=accounts, findings=findings, breach_every=breach_every
        )
    )
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
    wall, cpu, tree = time.perf_counter() - wall0, cpu_now() - cpu0, peak.stop()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"  whole report (context, every format): {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"(with workers); peak RSS {tree:.0f} MiB (process tree, sampled; this process "
        f"{own:.0f} MiB, largest worker {kids:.0f} MiB)"
    )
    if no_baseline:
        return
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
    parser.add_argument(
        "--breach-every", type=int, default=20, help="every Nth finding a BREACH (1: all)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare-table PDF")
    parser.add_argument(
        "--as-delivered",
        action="store_true",
        help="one pass the way the pipeline renders a report (no per-stage figures)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.accounts.split(",")):
            if args.as_delivered:
                as_delivered(n, int(n * args.findings_per_account), Path(tmp), args.breach_every)
                continue
            run(
                n,
                int(n * args.findings_per_account),
                Path(tmp),
                args.breach_every,
                args.no_baseline,
            )


if __name__ == "__main__":
    main()
