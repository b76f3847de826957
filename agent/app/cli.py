"""Command line: parses options, loads config, calls one library function, maps errors to exit codes.

Exit codes: 0 clean, 3 breach found, 4 coverage incomplete, 2 usage/config error, 1 internal error.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from computewatch import __version__
from computewatch.app import cli_store
from computewatch.app.audit_input import (
    check_period,
    check_sqlite_writable,
    check_writable_dir,
    parse_formats,
)
from computewatch.app.cli_permissions import permissions
from computewatch.app.exits import audit_exit_code
from computewatch.app.options import CONFIG_OPTION, handle_errors
from computewatch.app.summary import print_summary, progress_printer
from computewatch.config.identifiers import normalise_any_account_id
from computewatch.config.loader import config_schema
from computewatch.domain import Window
from computewatch.domain.errors import UsageError
from computewatch.pipeline.audit import AuditRequest, run_audit
from computewatch.pipeline.loading import load_config
from computewatch.pipeline.operations import check_store_writable, validate_config


def resolve_window(
    month: str | None, quarter: str | None, start: str | None, end: str | None, now: datetime
) -> Window:
    """The audited period from the options; none given: the last full calendar month."""
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
    return Window.previous_month(now)


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
    "--collector",
    "collector_names",
    multiple=True,
    help="Only this collector (repeatable), e.g. aws.ec2; the others' latest coverage of the "
    "period is carried over from the store.",
)
@click.option(
    "--format",
    "formats",
    help="Comma-separated report formats: html,md,json,pdf,csv,xlsx (default from config); "
    "only these are rendered, plus what the evidence bundle and e-mail need.",
)
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Report directory."
)
@click.option(
    "--store", "store_url", help="Store URL, overriding the config (e.g. sqlite:///audit.db)."
)
@click.option(
    "--email",
    is_flag=True,
    help="Send the report (PDF + CSV attached) to the configured recipients.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="With --email: write the message as an .eml file instead of sending.",
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
    collector_names: tuple[str, ...],
    formats: str | None,
    out_dir: Path | None,
    store_url: str | None,
    email: bool,
    dry_run: bool,
    verbose: bool,
) -> None:
    """Collect, store, evaluate and report one period (a one-off audit).

    Exit status: 0 clean, 3 a rule is in BREACH, 4 coverage incomplete (some account or region
    could not be read), 2 bad input, 1 internal error.
    """
    now = datetime.now(UTC)
    config = load_config(config_path)
    window = resolve_window(month, quarter, start, end, now)
    fmts = parse_formats(formats, [str(f) for f in config.app.reports.formats])
    check_period(window, now)
    if dry_run and not email:
        raise UsageError("--dry-run goes with --email")
    target = out_dir or config.relative(config.app.reports.out_dir)
    check_writable_dir(target, "the report directory")
    check_sqlite_writable(store_url or config.app.store.resolved_url())
    check_store_writable(store_url or config.app.store.resolved_url())
    req = AuditRequest(
        window=window,
        now=now,
        out_dir=target,
        formats=fmts,
        providers=set(providers) or None,
        accounts={normalise_any_account_id(a) for a in accounts} or None,
        collectors=set(collector_names) or None,
        store_url=store_url,
        progress=progress_printer(verbose or sys.stderr.isatty()),
        mail=("dry-run" if dry_run else "send") if email else "off",
    )
    outcome = run_audit(config, req)
    print_summary(outcome, verbose)
    sys.exit(audit_exit_code(outcome))


@main.command()
@CONFIG_OPTION
@handle_errors
def validate(config_path: Path) -> None:
    """Validate a configuration file and the rule files it names; errors give file, line and field."""
    checked = validate_config(config_path)
    config = checked.config
    click.echo(
        f"{config_path}: OK ({len(config.rules.rules)} rule(s) from {len(config.rules.sources)} file(s); "
        f"{len(config.registry.customers)} customer(s); "
        f"providers: {', '.join(checked.providers) or 'none'})"
    )


@main.command()
@click.argument("what", type=click.Choice(["config", "report"]), default="config")
@handle_errors
def schema(what: str) -> None:
    """Print a JSON Schema: of the configuration file (default) or of the JSON audit report."""
    if what == "config":
        doc: dict[str, Any] = config_schema()
    else:
        from computewatch.reports.contract import contract_schema

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
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    help="Run the demo as if it were this UTC date (it audits the month before); default: now. "
    "The same date gives the same figures.",
)
@handle_errors
def demo(out_dir: Path, as_of: datetime | None) -> None:
    """Run the embedded demo: an emulated AWS organization (moto, local, no credentials, no
    network), a fictional scenario, and a full audit of the last full month."""
    from computewatch.demo import missing_demo_modules

    missing = missing_demo_modules()
    if missing:
        raise UsageError(
            "the demo needs the 'demo' extra: pip install 'computewatch[demo]' "
            f"(missing: {', '.join(missing)})"
        )
    from computewatch.demo.run import run_demo

    click.echo(
        "Starting emulated AWS on 127.0.0.1 and seeding a fictional organization ...", err=True
    )
    now = datetime.now(UTC) if as_of is None else as_of.replace(tzinfo=UTC)
    result = run_demo(out_dir, now, progress_printer(True))
    print_summary(result.outcome, verbose=True)
    click.echo(f"  config {result.config_path}")
    click.echo(
        "Demo finished. Exit status of the same audit from `computewatch audit` would be "
        f"{audit_exit_code(result.outcome)} (3 = breach found)."
    )


@main.command()
@CONFIG_OPTION
@click.option(
    "--log-format",
    type=click.Choice(["auto", "text", "json"]),
    default="auto",
    show_default=True,
    help="Log lines as text or JSON lines; auto: JSON under systemd (JOURNAL_STREAM) or "
    "without a terminal.",
)
@handle_errors
def daemon(config_path: Path, log_format: str) -> None:
    """Run continuously: collect and evaluate on schedule, e-mail breach notices, produce the
    monthly and quarterly reports (and any missed while stopped). SIGTERM/SIGINT stop after the
    current job; SIGHUP reloads the config. Exit status 2 if another daemon holds the store."""
    from computewatch.app.daemon import Daemon
    from computewatch.app.ops import setup_logging

    setup_logging(
        log_format,
        logging.DEBUG if logging.getLogger().isEnabledFor(logging.DEBUG) else logging.INFO,
    )
    sys.exit(Daemon(config_path).run())


for command in cli_store.COMMANDS:
    main.add_command(command)


main.add_command(permissions)

if __name__ == "__main__":  # pragma: no cover
    main()
