"""The quarterly report, in the shape of the notices the proposed 15 CFR 702.7 would require:
large training runs and large computing clusters in the quarter, and when the next notices are due
(15 January, April, July and October, for the quarter just ended).

Which filing it is modelled on matters: 702.7 asks a US person about its *own* runs and clusters;
per-customer rented usage is the shape of the KYC proposal's foreign-person report (proposed
15 CFR 7.308). Both are proposals; the header says so, and fields usage data cannot fill are marked
for the operator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jinja2

from computewatch.domain import Window
from computewatch.engine.training_runs import TrainingRun
from computewatch.reports.context import AuditContext, CustomerRollup
from computewatch.reports.finding_view import FindingView
from computewatch.reports.layout import LISTING_LIMIT, Names
from computewatch.reports.pdf_workers import PdfWorkers, workers_for
from computewatch.reports.render import render_template, write_text

TRAINING_THRESHOLDS = (
    (1e26, "702.7 / EO 14110"),
    (1e25, "EU AI Act Art. 51"),
    (1e23, "EO 14110 bio"),
)
CLUSTER_THRESHOLD = 1e20


def due_date(quarter_end: date) -> date:
    """Notices for a quarter are due on the 15th of the month after it ends."""
    return Window.quarter_of(quarter_end).due_date()


@dataclass(frozen=True, slots=True)
class QuarterlyView:
    audit: AuditContext
    quarter: str
    due: date
    next_due: tuple[date, ...]
    training: tuple[tuple[CustomerRollup, str], ...]  # customer, thresholds crossed ("" = none)
    clusters: tuple[tuple[CustomerRollup, bool], ...]  # customer, above 1e20 ops/s
    names: Names = field(default_factory=Names)  # names clipped in tables, in full at the end
    training_total: int = 0  # rows before the listing limit (the rest is in the data annex)
    clusters_total: int = 0
    partial: bool = False  # the audited data does not cover the whole quarter
    quarter_start: date | None = None
    quarter_end: date | None = None  # last day
    nil: bool = False  # nothing to report: no run, no customer compute, no cluster
    # Detected runs: every one above a per-run threshold, the largest others up to the limit.
    runs: tuple[TrainingRun, ...] = ()
    runs_total: int = 0
    # Findings of training and cluster rules that are not OK: breaches first, largest first.
    findings: tuple[FindingView, ...] = ()
    findings_total: int = 0
    findings_breach: int = 0


QUARTERLY_FINDINGS = ("estimated_training_flop", "implied_cluster_flops")


def _runs(ctx: AuditContext) -> tuple[tuple[TrainingRun, ...], int]:
    runs = sorted(ctx.training_runs, key=lambda r: (not r.crossed, -r.flop.central))
    shown = max(LISTING_LIMIT, sum(1 for r in runs if r.crossed))
    return tuple(runs[:shown]), len(runs)


def _findings(ctx: AuditContext) -> tuple[tuple[FindingView, ...], int, int]:
    found = sorted(
        (f for f in ctx.findings if f.metric in QUARTERLY_FINDINGS and f.status != "OK"),
        key=lambda f: (f.status != "BREACH", -(f.value or 0.0)),
    )
    breaches = sum(1 for f in found if f.status == "BREACH")
    return tuple(found[:LISTING_LIMIT]), len(found), breaches


def build_quarterly(ctx: AuditContext) -> QuarterlyView:
    quarter = Window.quarter_of(Window(ctx.period_start, ctx.period_end).last_day())
    nxt = [quarter.shifted(3 * n).due_date() for n in range(1, 5)]
    training = []
    for c in sorted(ctx.customers, key=lambda c: -(c.flop.central if c.flop else 0.0)):
        if c.flop is None or c.flop.central <= 0:
            continue
        crossed = [name for limit, name in TRAINING_THRESHOLDS if c.flop.central > limit]
        training.append((c, ", ".join(crossed)))
    clusters = tuple(
        (c, c.implied_cluster_flops > CLUSTER_THRESHOLD)
        for c in sorted(ctx.customers, key=lambda c: -c.implied_cluster_flops)
        if c.implied_cluster_flops > 0
    )
    # Largest first: every customer above a threshold is listed, the rest up to the limit.
    shown_training = max(LISTING_LIMIT, sum(1 for _, crossed in training if crossed))
    shown_clusters = max(LISTING_LIMIT, sum(1 for _, above in clusters if above))
    partial = ctx.period_start > quarter.start or ctx.period_end < quarter.end
    runs, runs_total = _runs(ctx)
    findings, findings_total, findings_breach = _findings(ctx)
    return QuarterlyView(
        ctx,
        quarter.quarter_label(),
        quarter.due_date(),
        tuple(nxt),
        tuple(training[:shown_training]),
        clusters[:shown_clusters],
        training_total=len(training),
        clusters_total=len(clusters),
        partial=partial,
        quarter_start=quarter.start.date(),
        quarter_end=quarter.last_day(),
        nil=not training and not clusters and not ctx.training_runs,
        runs=runs,
        runs_total=runs_total,
        findings=findings,
        findings_total=findings_total,
        findings_breach=findings_breach,
    )


def write_quarterly(
    ctx: AuditContext,
    out_dir: Path,
    env: jinja2.Environment,
    pdf: bool = True,
    workers: PdfWorkers | None = None,
) -> dict[str, Path]:
    """The quarterly report as HTML, Markdown and (printed in a worker process) PDF."""
    from computewatch.reports.pdf import stylesheet

    view = build_quarterly(ctx)
    stem = f"quarterly-{view.quarter}"
    html = render_template(env, "quarterly.html.j2", q=view)
    markdown = render_template(env, "quarterly.md.j2", q=view)
    out = {
        f"{stem}.html": write_text(out_dir / f"{stem}.html", html),
        f"{stem}.md": write_text(out_dir / f"{stem}.md", markdown),
    }
    if pdf:
        css = stylesheet(f"Quarterly compute report {view.quarter}", ctx.report_id)
        path = out_dir / f"{stem}.pdf"
        with workers_for(workers) as pool:
            pool.render(html, css, path)
        out[f"{stem}.pdf"] = path
    return out
