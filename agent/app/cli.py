"""Command line: parses options, loads config, calls one library function, maps errors to exit codes.

Exit codes: 0 clean, 3 breach found, 4 coverage incomplete, 2 usage/config error, 1 internal error.
"""

from __future__ import annotations

import dataclasses
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

from computewatch import __version__
from computewatch.app.cli_permissions import permissions
from computewatch.app.exits import EXIT_INTERNAL, EXIT_TAMPERED, audit_exit_code
from computewatch.collectors.base import Target
from computewatch.collectors.registry import builtin
from computewatch.config.loader import config_schema
from computewatch.domain import CoverageEntry, CoverageStatus, FindingStatus, Lifecycle, Window
from computewatch.domain.errors import ComputewatchError, UsageError
from computewatch.pipeline.audit import AuditOutcome, AuditRequest, run_audit
from computewatch.pipeline.loading import load_config

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
                f"  {f.status:<7} {f.rule_id} {f.scope_label or f.scope_key}: "
                f"{value} {f.comparison} {f.threshold:,.4g}{why}"
            )
    if verbose:
        click.echo("  API calls:")
        for op, n in ctx.api_calls:
            click.echo(f"    {op:<45} {n:>6}")
    for fmt, path in outcome.paths.items():
        click.echo(f"  {fmt:<5} {path}")
    if outcome.bundle is not None:
        click.echo(
            f"  evidence bundle {outcome.bundle} (check: computewatch verify {outcome.bundle})"
        )
    if outcome.notices:
        click.echo(
            f"  threshold notices: {len(outcome.notices)} (HTML, Markdown, PDF) in the bundle"
        )
    if outcome.eml is not None:
        click.echo(f"  e-mail preview {outcome.eml}")
    for message_id in outcome.mail_sent:
        click.echo(f"  e-mail sent {message_id}")
    for message_id, error in outcome.mail_failed:
        click.echo(
            f"  e-mail NOT sent yet {message_id}: {error} (kept in the outbox; retried later)"
        )


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
    "--collector",
    "collector_names",
    multiple=True,
    help="Only this collector (repeatable), e.g. aws.ec2; the others' latest coverage of the "
    "period is carried over from the store.",
)
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
        collectors=set(collector_names) or None,
        store_url=store_url,
        progress=_progress_printer(verbose or sys.stderr.isatty()),
        mail=("dry-run" if dry_run else "send") if email else "off",
    )
    if dry_run and not email:
        raise UsageError("--dry-run goes with --email")
    outcome = run_audit(config, req)
    print_summary(outcome, verbose)
    sys.exit(audit_exit_code(outcome))


@main.command()
@CONFIG_OPTION
@handle_errors
def validate(config_path: Path) -> None:
    """Validate a configuration file and the rule files it names; errors give file, line and field."""
    config = load_config(config_path)
    configured = [n for n in builtin().provider_names() if getattr(config.app, n, None) is not None]
    click.echo(
        f"{config_path}: OK ({len(config.rules.rules)} rule(s) from {len(config.rules.sources)} file(s); "
        f"{len(config.registry.customers)} customer(s); "
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
    try:
        from computewatch.demo.run import run_demo
    except ImportError as exc:
        raise UsageError(
            f"the demo needs the 'demo' extra (pip install 'computewatch[demo]'): {exc}"
        ) from None
    click.echo(
        "Starting emulated AWS on 127.0.0.1 and seeding a fictional organization ...", err=True
    )
    now = datetime.now(UTC) if as_of is None else as_of.replace(tzinfo=UTC)
    result = run_demo(out_dir, now, _progress_printer(True))
    print_summary(result.outcome, verbose=True)
    click.echo(f"  config {result.config_path}")
    click.echo(
        "Demo finished. Exit status of the same audit from `computewatch audit` would be "
        f"{audit_exit_code(result.outcome)} (3 = breach found)."
    )


@main.command()
@CONFIG_OPTION
@click.option(
    "--status",
    type=click.Choice(["BREACH", "UNKNOWN", "OK"]),
    help="Only findings with this status.",
)
@click.option(
    "--lifecycle",
    type=click.Choice(["new", "ongoing", "resolved", "none"]),
    help="Only findings at this stage (new: open, not yet reported).",
)
@click.option("--rule", "rule_id", help="Only findings of this rule id.")
@click.option(
    "--scope", help="Only findings whose scope contains this text (account id, customer id)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.option("--store", "store_url", help="Store URL, overriding the config.")
@handle_errors
def findings(
    config_path: Path,
    status: str | None,
    lifecycle: str | None,
    rule_id: str | None,
    scope: str | None,
    as_json: bool,
    store_url: str | None,
) -> None:
    """List the findings kept in the store, newest window first, with their lifecycle
    (new / ongoing / resolved) and first/last seen."""
    from computewatch.store import Store

    config = load_config(config_path)
    with Store.open(store_url or config.app.store.resolved_url()) as store:
        rows = store.findings.find(
            status=FindingStatus(status) if status else None,
            lifecycle=Lifecycle(lifecycle) if lifecycle else None,
            rule_id=rule_id,
            scope=scope,
        )
    for r in reversed(rows):
        if as_json:
            fields = dataclasses.asdict(r).items()
            click.echo(
                json.dumps(
                    {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields}
                )
            )
            continue
        value = "unknown" if r.value is None else f"{r.value:,.4g}"
        click.echo(
            f"{r.status:<7} {r.lifecycle:<8} {r.window_start:%Y-%m-%d} {r.rule_id} "
            f"{r.scope_key}: {value} (threshold {r.threshold:,.4g}) id={r.id}"
        )
    if not rows:
        click.echo("no findings match", err=True)


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--ledger",
    "ledger_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Evidence ledger file (JSON lines). Default: ledger.jsonl next to the bundle, if present.",
)
@click.option(
    "--store",
    "store_url",
    help="Also check the ledger kept in this store (SQLAlchemy URL, e.g. sqlite:///audit.db).",
)
@click.option(
    "--public-key-env",
    metavar="VAR",
    help="Environment variable holding the expected Ed25519 public key (PEM or base64); "
    "the manifest must then carry a valid signature by that key.",
)
@handle_errors
def verify(
    bundle: Path, ledger_file: Path | None, store_url: str | None, public_key_env: str | None
) -> None:
    """Check a report bundle against its manifest, signature and the evidence ledger.

    Exit status: 0 intact, 5 tampered (each changed, missing or extra file, bad signature and
    ledger break is listed), 2 bad input.
    """
    from computewatch.delivery.evidence import load_public_key, verify_bundle
    from computewatch.store import Store

    key = load_public_key(public_key_env) if public_key_env else None
    if store_url:
        with Store.open(store_url) as store:
            result = verify_bundle(bundle, ledger_file=ledger_file, store=store, public_key=key)
    else:
        result = verify_bundle(bundle, ledger_file=ledger_file, public_key=key)
    if not result.ledgers_checked:
        click.echo("warning: no evidence ledger found; only the manifest was checked", err=True)
    if result.ok:
        click.echo(f"OK {bundle}")
        return
    for issue in result.issues:
        click.echo(str(issue))
    click.echo(f"TAMPERED {bundle}: {len(result.issues)} problem(s)")
    sys.exit(EXIT_TAMPERED)


@main.command()
@CONFIG_OPTION
@click.option("--store", "store_url", help="Store URL, overriding the config.")
@click.option(
    "--send", is_flag=True, help="Deliver the messages that are due (needs mail: in config)."
)
@click.option(
    "--eml-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Dry run: write each pending message as <dir>/<id>.eml instead of sending it.",
)
@handle_errors
def outbox(config_path: Path, store_url: str | None, send: bool, eml_dir: Path | None) -> None:
    """List the e-mail outbox (reports waiting to be sent), or deliver what is due with --send.

    A failed delivery stays queued and is retried later with exponential backoff.
    """
    from computewatch.delivery.mail import deliver_due, parse, write_eml
    from computewatch.store import Store

    if send and eml_dir:
        raise UsageError("give --send or --eml-dir, not both")
    config = load_config(config_path)
    with Store.open(store_url or config.app.store.resolved_url()) as store:
        if send:
            if config.app.mail is None:
                raise UsageError(f"no mail: section in {config_path}")
            result = deliver_due(store, config.app.mail, datetime.now(UTC))
            for message_id in result.sent:
                click.echo(f"sent    {message_id}")
            for message_id, error in result.failed:
                click.echo(f"retry   {message_id}: {error}")
        pending = store.outbox.pending()
        if eml_dir:
            eml_dir.mkdir(parents=True, exist_ok=True)
            for row in pending:
                name = "".join(c if c.isalnum() or c in ".-" else "_" for c in row.message_id)
                click.echo(f"wrote   {write_eml(parse(row), eml_dir / (name + '.eml'))}")
        for row in pending:
            click.echo(
                f"pending {row.message_id} {row.kind} to {', '.join(row.recipients)}; "
                f"attempts {row.attempts}, next {row.next_attempt_at:%Y-%m-%d %H:%M UTC}"
                + (f"; last error: {row.last_error}" if row.last_error else "")
            )
        click.echo(f"{len(pending)} message(s) pending")


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


@main.command()
@CONFIG_OPTION
@click.option("--store", "store_url", help="Store URL, overriding the config.")
@handle_errors
def status(config_path: Path, store_url: str | None) -> None:
    """Show the last run and coverage per account and collector, open findings, the e-mail
    outbox, produced reports and (if a daemon runs here) its next scheduled runs."""
    from computewatch.app.ops import default_state_file, read_state, status_lines
    from computewatch.store import Store

    config = load_config(config_path)
    given = config.app.daemon.state_file
    state = read_state(config.relative(given) if given else default_state_file())
    with Store.open(store_url or config.app.store.resolved_url()) as store:
        for line in status_lines(store, state):
            click.echo(line)


main.add_command(permissions)

if __name__ == "__main__":  # pragma: no cover
    main()
