"""What `audit` and `demo` print: progress on stderr while collecting, then the summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

from computewatch.collectors.base import Target
from computewatch.domain import CoverageEntry, CoverageStatus, FindingStatus
from computewatch.pipeline.audit import AuditOutcome
from computewatch.reports.finding_view import FindingView

Progress = Callable[[int, int, Target, str, CoverageEntry], None]


def progress_printer(enabled: bool) -> Progress | None:
    """One line per account-region-collector unit read, on stderr (None: silent)."""
    if not enabled:
        return None

    def show(done: int, total: int, target: Target, collector: str, entry: CoverageEntry) -> None:
        state = "ok" if entry.status is CoverageStatus.OK else f"FAILED {entry.error_code}"
        click.echo(
            f"[{done}/{total}] {target.provider} {target.account.account_id} {target.region} {collector}: {state}",
            err=True,
        )

    return show


def _print_legend(findings: Sequence[FindingView], legend: Sequence[tuple[str, str]]) -> None:
    """What each legal status printed above means (only those that occur): a crossed threshold
    under a rule that is not law is a screening result, not a legal breach."""
    shown = {f.legal_status for f in findings if f.status != FindingStatus.OK}
    lines = [text for status, text in legend if status in shown]
    if lines:
        click.echo("  legal status: " + "; ".join(lines))


def print_summary(outcome: AuditOutcome, verbose: bool) -> None:
    ctx = outcome.context
    click.echo(
        f"{ctx.title} {ctx.report_id}: {ctx.period_start:%Y-%m-%d} to {ctx.period_end:%Y-%m-%d} (end exclusive)"
    )
    click.echo(
        f"  accounts {ctx.coverage.accounts_total}: complete {ctx.coverage.accounts_complete}, "
        f"partial {ctx.coverage.accounts_partial}, failed {ctx.coverage.accounts_failed}; coverage {ctx.coverage.status}"
    )
    for g in ctx.coverage.gaps:
        click.echo(f"  GAP {g.provider} {g.account_id} {g.region} {g.collector}: {g.error_code}")
    for c in ctx.headline_hours:
        click.echo(f"  {c.chip:<12} {c.hours:>14,.1f} accelerator-hours")
    click.echo(
        f"  findings: {ctx.breaches} BREACH, {ctx.unknowns} UNKNOWN, {len(ctx.findings)} total"
    )
    for f in ctx.findings:
        if f.status != FindingStatus.OK:
            value = "unknown" if f.value is None else f"{f.value:,.4g}"
            why = f" ({f.detail})" if f.status == FindingStatus.UNKNOWN and f.detail else ""
            if f.status == FindingStatus.BREACH and "headquarters test" in f.detail:
                why = " (" + f.detail[f.detail.index("headquarters test") :] + ")"
            click.echo(
                f"  {f.status:<7} {f.rule_id} {f.scope_label or f.scope_key}: "
                f"{value} {f.comparison} {f.threshold:,.4g} — {f.framing}{why}"
            )
    _print_legend(ctx.findings, ctx.legal_status_legend)
    for r in ctx.training_runs:
        end = "ongoing" if r.ongoing else f"{r.end:%Y-%m-%d}"
        crossed = f"; crosses {', '.join(r.crossed)}" if r.crossed else ""
        click.echo(
            f"  training run {r.label}: {r.start:%Y-%m-%d} to {end}, peak {r.peak_concurrent:,.0f} "
            f"accelerators, {r.accelerator_hours:,.0f} accelerator-hours, "
            f"{r.flop.central:.3g} FLOP capacity used{crossed}"
        )
    if verbose:
        click.echo("  API calls:")
        for op, n in ctx.api_calls:
            click.echo(f"    {op:<45} {n:>6}")
        click.echo("  stages: " + "; ".join(t.describe() for t in outcome.stages))
    # Every file sits in the output directory; the sealed bundle holds a copy of each.
    click.echo("  files:")
    for name, path in outcome.paths.items():
        click.echo(f"    {name:<12} {path}")
    for name, path in outcome.delivered.extra.items():
        if not name.startswith("notice-"):  # quarterly report, combined notices PDF
            click.echo(f"    {name.split('-')[0]:<12} {path}")
    if outcome.notices:
        click.echo(
            f"    threshold notices: {len(outcome.notices)} "
            f"(notice-<finding id>.html/.md in {outcome.notices[0].parent})"
        )
    if outcome.bundle is not None:
        click.echo(
            f"  evidence bundle {outcome.bundle}: a sealed copy of the files above "
            f"(check: computewatch verify {outcome.bundle})"
        )
    if outcome.eml is not None:
        click.echo(f"  e-mail preview {outcome.eml}")
    for message_id in outcome.mail_sent:
        click.echo(f"  e-mail sent {message_id}")
    for message_id, error in outcome.mail_failed:
        click.echo(
            f"  e-mail NOT sent yet {message_id}: {error} (kept in the outbox; retried later)"
        )
