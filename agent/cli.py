"""Command line: parses options, loads config, calls one library function, maps errors to exit codes.

Exit codes: 0 clean, 3 breach found, 4 coverage incomplete, 2 usage/config error, 1 internal error.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from agent import __version__
from agent.config import config_schema, load_config
from agent.errors import ComputewatchError, UsageError
from agent.models import CoverageEntry, CoverageStatus, Window
from agent.pipeline import EXIT_INTERNAL, AuditOutcome, AuditRequest, run_audit
from collectors import registry
from collectors.base import Target, providers

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn known errors into a one-line message and their exit code; anything else is exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ComputewatchError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence: report, never swallow
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                traceback.print_exc()
            else:
                click.echo("(run with --debug for the traceback)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


def resolve_window(
    month: str | None, quarter: str | None, start: str | None, end: str | None, now: datetime
) -> Window:
    chosen = [x for x in (month, quarter, start or end) if x]
    if len(chosen) > 1:
        raise UsageError("give one of --month, --quarter or --from/--to")
    try:
        if month:
            return Window.month(month)
        if quarter:
            return Window.quarter(quarter)
        if start or end:
            if not (start and end):
                raise UsageError("--from and --to go together")
            return Window.days(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    prev = (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )
    return Window.month(f"{prev.year:04d}-{prev.month:02d}")


def _progress_printer(
    enabled: bool,
) -> Callable[[int, int, Target, str, CoverageEntry], None] | None:
    if not enabled:
        return None

    def show(done: int, total: int, target: Target, collector: str, entry: CoverageEntry) -> None:
        state = "ok" if entry.status is CoverageStatus.OK else f"FAILED {entry.error_code}"
        click.echo(
            f"[{done}/{total}] {target.provider} {target.account.account_id} {target.region} {collector}: {state}",
            err=True,
        )

    return show


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
        if f.status != "OK":
            value = "unknown" if f.value is None else f"{f.value:,.4g}"
            why = f" ({f.detail})" if f.status == "UNKNOWN" and f.detail else ""
            click.echo(
                f"  {f.status:<7} {f.rule_id} {f.scope_key}: "
                f"{value} {f.comparison} {f.threshold:,.4g}{why}"
            )
    if verbose:
        click.echo("  API calls:")
        for op, n in ctx.api_calls:
            click.echo(f"    {op:<45} {n:>6}")
    for fmt, path in outcome.paths.items():
        click.echo(f"  {fmt:<5} {path}")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="computewatch")
@click.option(
    "--debug", is_flag=True, help="Log debug detail and show tracebacks of internal errors."
)
def main(debug: bool) -> None:
    """computewatch: who used how much advanced AI compute (GPU/accelerator instances, large
    models), from which cloud account, against which reporting threshold, with evidence."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not debug:
        logging.getLogger("botocore").setLevel(logging.ERROR)


CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="COMPUTEWATCH_CONFIG",
    required=True,
    help="Configuration file (YAML). Also read from $COMPUTEWATCH_CONFIG.",
)


@main.command()
@CONFIG_OPTION
@click.option(
    "--month", help="Calendar month to audit, e.g. 2026-10 (default: the last full month)."
)
@click.option("--quarter", help="Calendar quarter to audit, e.g. 2026-Q3.")
@click.option("--from", "start", help="First day to audit (YYYY-MM-DD), with --to.")
@click.option("--to", "end", help="Last day to audit, included (YYYY-MM-DD), with --from.")
@click.option(
    "--provider", "providers", multiple=True, help="Only this provider (repeatable), e.g. aws."
)
@click.option("--account", "accounts", multiple=True, help="Only this account id (repeatable).")
@click.option(
    "--format",
    "formats",
    help="Comma-separated report formats: html,md,json (default from config).",
)
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Report directory."
)
@click.option(
    "--store", "store_url", help="Store URL, overriding the config (e.g. sqlite:///audit.db)."
)
@click.option("-v", "--verbose", is_flag=True, help="Print progress and API call counts.")
@handle_errors
def audit(
    config_path: Path,
    month: str | None,
    quarter: str | None,
    start: str | None,
    end: str | None,
    providers: tuple[str, ...],
    accounts: tuple[str, ...],
    formats: str | None,
    out_dir: Path | None,
    store_url: str | None,
    verbose: bool,
) -> None:
    """Collect, store, evaluate and report one period (a one-off audit).

    Exit status: 0 clean, 3 a rule is in BREACH, 4 coverage incomplete (some account or region
    could not be read), 2 bad input, 1 internal error.
    """
    now = datetime.now(UTC)
    config = load_config(config_path)
    window = resolve_window(month, quarter, start, end, now)
    fmts = (
        [f.strip() for f in formats.split(",")]
        if formats
        else [str(f) for f in config.app.reports.formats]
    )
    bad = [f for f in fmts if f not in ("html", "md", "json")]
    if bad:
        raise UsageError(f"unknown format(s) {', '.join(bad)}: choose from html, md, json")
    req = AuditRequest(
        window=window,
        now=now,
        out_dir=out_dir or config.relative(config.app.reports.out_dir),
        formats=fmts,
        providers=set(providers) or None,
        accounts=set(accounts) or None,
        store_url=store_url,
        progress=_progress_printer(verbose or sys.stderr.isatty()),
    )
    outcome = run_audit(config, req)
    print_summary(outcome, verbose)
    sys.exit(outcome.exit_code)


@main.command()
@CONFIG_OPTION
@handle_errors
def validate(config_path: Path) -> None:
    """Validate a configuration file and the rule files it names; errors give file, line and field."""
    config = load_config(config_path)
    registry.load_builtin()
    configured = [n for n in providers.names() if getattr(config.app, n, None) is not None]
    click.echo(
        f"{config_path}: OK ({len(config.rules.rules)} rule(s) from {len(config.rules.sources)} file(s); "
        f"providers: {', '.join(configured) or 'none'})"
    )


@main.command()
@click.argument("what", type=click.Choice(["config", "report"]), default="config")
@handle_errors
def schema(what: str) -> None:
    """Print a JSON Schema: of the configuration file (default) or of the JSON audit report."""
    if what == "config":
        doc: dict[str, Any] = config_schema()
    else:
        from reports.json_report import contract_schema

        doc = contract_schema()
    click.echo(json.dumps(doc, indent=2))


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-output"),
    show_default=True,
    help="Where the demo writes its config, store and reports.",
)
@handle_errors
def demo(out_dir: Path) -> None:
    """Run the embedded demo: an emulated AWS organization (moto, local, no credentials, no
    network), a fictional scenario, and a full audit of the last full month."""
    try:
        from agent.demo import run_demo
    except ImportError as exc:
        raise UsageError(
            f"the demo needs the 'demo' extra (pip install 'computewatch[demo]'): {exc}"
        ) from None
    click.echo(
        "Starting emulated AWS on 127.0.0.1 and seeding a fictional organization ...", err=True
    )
    result = run_demo(out_dir, datetime.now(UTC), _progress_printer(True))
    print_summary(result.outcome, verbose=True)
    click.echo(f"  config {result.config_path}")
    click.echo(
        "Demo finished. Exit status of the same audit from `computewatch audit` would be "
        f"{result.outcome.exit_code} (3 = breach found)."
    )


if __name__ == "__main__":  # pragma: no cover
    main()
