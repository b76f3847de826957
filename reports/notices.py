"""Threshold notices: one document per BREACH finding, in the shape of the foreign-person
training-run report the US proposals describe (89 FR 5698; see README): who (customer identity,
intermediary), what (accounts, chips, dates), how much (the estimate and its method), against which
rule (legal basis and status), the evidence, and a certification block for a signature.

Built from the audit's typed context only; nothing new is read here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jinja2

from computewatch.domain.legal import certification_applies
from computewatch.engine.training_runs import TrainingRun
from computewatch.reports.context import (
    AccountView,
    AuditContext,
    ChipHours,
    CustomerView,
)
from computewatch.reports.finding_view import FindingView
from computewatch.reports.pdf_workers import Job, PdfWorkers, join_pdfs, workers_for
from computewatch.reports.render import render_template, write_text

NOTICE_BATCH = 20  # notices to one WeasyPrint document (about 40 pages, about 150 MiB)


@dataclass(frozen=True, slots=True)
class NoticeView:
    notice_id: str
    audit: AuditContext
    finding: FindingView
    customer: CustomerView | None
    accounts: tuple[AccountView, ...]
    hours: tuple[ChipHours, ...]
    flop_low: float | None
    flop_central: float | None
    flop_high: float | None
    certification: bool = False  # only where an obligation to report exists (domain.legal)
    runs: tuple[TrainingRun, ...] = ()  # detected training runs of the notice's customer


def _members(ctx: AuditContext, f: FindingView) -> tuple[AccountView, ...]:
    keys = {*f.members, f.scope_key}
    return tuple(a for a in ctx.accounts if f"{a.provider}:{a.account_id}" in keys)


def _customer(
    ctx: AuditContext, f: FindingView, accounts: tuple[AccountView, ...]
) -> CustomerView | None:
    if f.scope_kind == "customer":
        cid = f.scope_key.removeprefix("customer:")
        return next((c.customer for c in ctx.customers if c.customer.id == cid), None)
    owners = {a.customer.id: a.customer for a in accounts if a.customer is not None}
    return next(iter(owners.values())) if len(owners) == 1 else None


def _runs(
    ctx: AuditContext, f: FindingView, accounts: tuple[AccountView, ...]
) -> tuple[TrainingRun, ...]:
    """Training runs that overlap the finding's window and belong to its accounts."""
    keys = {f"{a.provider}:{a.account_id}" for a in accounts}
    return tuple(
        r
        for r in ctx.training_runs
        if keys & set(r.accounts) and r.start < f.window_end and r.end > f.window_start
    )


def build_notices(ctx: AuditContext, attest_internal: bool = False) -> list[NoticeView]:
    notices = []
    for f in ctx.findings:
        if f.status != "BREACH":
            continue
        accounts = _members(ctx, f)
        hours: dict[str, float] = {}
        for a in accounts:
            for h in a.accelerator_hours:
                hours[h.chip] = hours.get(h.chip, 0.0) + h.hours
        flops = [a.flop for a in accounts if a.flop is not None]
        known = {c.chip: c for a in accounts for c in a.accelerator_hours}
        notices.append(
            NoticeView(
                notice_id=f"N-{f.id}",
                audit=ctx,
                finding=f,
                customer=_customer(ctx, f, accounts),
                accounts=accounts,
                hours=tuple(
                    ChipHours(chip, h, known[chip].eccn_3a090, known[chip].unknown)
                    for chip, h in sorted(hours.items(), key=lambda kv: -kv[1])
                ),
                flop_low=sum(x.low for x in flops) if flops else None,
                flop_central=sum(x.central for x in flops) if flops else None,
                flop_high=sum(x.high for x in flops) if flops else None,
                certification=certification_applies(f.legal_status, attest_internal),
                runs=_runs(ctx, f, accounts),
            )
        )
    return notices


def _batches(notices: list[NoticeView], size: int) -> Iterator[list[NoticeView]]:
    for i in range(0, len(notices), size):
        yield notices[i : i + size]


def write_notices(
    ctx: AuditContext,
    out_dir: Path,
    env: jinja2.Environment,
    pdf: bool = True,
    each_pdf: bool = False,
    attest_internal: bool = False,
    workers: PdfWorkers | None = None,
    batch: int = NOTICE_BATCH,
) -> dict[str, Path]:
    """`notice-<finding id>.{html,md}` for every BREACH and, with `pdf`, all of them in one
    `notices-<period>.pdf` plus, with `each_pdf`, `notice-<finding id>.pdf` each.
    `attest_internal` (config `reports.attest_internal_policy`) certifies internal-policy notices.
    Keys name the file.

    The combined PDF is printed `batch` notices to a document in worker processes and the
    documents joined: memory stays bounded whatever the number of notices, and each page's
    footer names its notice and the page within it (a count across the whole file would need
    one layout of all of it)."""
    out: dict[str, Path] = {}
    notices = build_notices(ctx, attest_internal)
    for n in notices:
        stem = f"notice-{n.finding.id}"
        html = render_template(env, "notice.html.j2", n=n)
        out[f"{stem}.html"] = write_text(out_dir / f"{stem}.html", html)
        out[f"{stem}.md"] = write_text(
            out_dir / f"{stem}.md", render_template(env, "notice.md.j2", n=n)
        )
    if not pdf or not notices:
        return out
    from computewatch.reports.pdf import NOTICE_PAGE_OF_PAGES, NOTICE_PAGES, stylesheet

    with workers_for(workers) as pool:
        if each_pdf:

            def single(part: list[NoticeView]) -> list[Job]:
                return [
                    (
                        (out_dir / f"notice-{n.finding.id}.html").read_text("utf-8"),
                        stylesheet(
                            f"Threshold notice {n.notice_id}", ctx.report_id, NOTICE_PAGE_OF_PAGES
                        ),
                        out_dir / f"notice-{n.finding.id}.pdf",
                    )
                    for n in part
                ]

            pool.render_all(single(part) for part in _batches(notices, batch))
            out.update(
                (f"notice-{n.finding.id}.pdf", out_dir / f"notice-{n.finding.id}.pdf")
                for n in notices
            )
        name = f"notices-{ctx.period_start:%Y-%m-%d}_{ctx.period_end:%Y-%m-%d}.pdf"
        title = f"Threshold notices ({len(notices)})"
        css = stylesheet(title, ctx.report_id, NOTICE_PAGES)
        with tempfile.TemporaryDirectory(prefix="cw-notices-") as tmp:
            parts = [Path(tmp) / f"batch-{i:05d}.pdf" for i in range(0, len(notices), batch)]

            def combined() -> Iterator[list[Job]]:
                for part, path in zip(_batches(notices, batch), parts, strict=True):
                    last = path == parts[-1]
                    html = render_template(
                        env,
                        "notices.html.j2",
                        notices=part,
                        audit=ctx,
                        total=len(notices),
                        legend=last,
                    )
                    yield [(html, css, path)]

            pool.render_all(combined())
            head = f"{title} — {ctx.reporting_entity} — report {ctx.report_id}"
            out[name] = join_pdfs(parts, out_dir / name, head)
    return out
