"""Commands that read or work the store and the evidence: findings, outbox, verify, status.
Each parses its options, calls one pipeline function, prints, and maps the result to an exit code.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from computewatch.app.exits import EXIT_INCOMPLETE, EXIT_QUEUED, EXIT_TAMPERED
from computewatch.app.ops import status_lines
from computewatch.app.options import CONFIG_OPTION, STORE_OPTION, handle_errors
from computewatch.domain import FindingStatus, Lifecycle
from computewatch.pipeline.operations import (
    compact_store,
    list_findings,
    verify_report,
    work_outbox,
)
from computewatch.pipeline.status import read_status
from computewatch.store import FindingRow


def _json_line(row: FindingRow) -> str:
    fields = dataclasses.asdict(row).items()
    return json.dumps({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields})


@click.command()
@CONFIG_OPTION
@click.option(
    "--status",
    type=click.Choice([str(s) for s in FindingStatus]),
    help="Only findings with this status.",
)
@click.option(
    "--lifecycle",
    type=click.Choice([str(lc) for lc in Lifecycle]),
    help="Only findings at this stage (new: open, not yet reported).",
)
@click.option("--rule", "rule_id", help="Only findings of this rule id.")
@click.option(
    "--scope", help="Only findings whose scope contains this text (account id, customer id)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@STORE_OPTION
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
    rows = list_findings(
        config_path,
        store_url,
        status=FindingStatus(status) if status else None,
        lifecycle=Lifecycle(lifecycle) if lifecycle else None,
        rule_id=rule_id,
        scope=scope,
    )
    for r in rows:
        if as_json:
            click.echo(_json_line(r))
            continue
        value = "unknown" if r.value is None else f"{r.value:,.4g}"
        click.echo(
            f"{r.status:<7} {r.lifecycle:<8} {r.window_start:%Y-%m-%d} {r.rule_id} "
            f"{r.scope_key}: {value} (threshold {r.threshold:,.4g}) id={r.id}"
        )
    if not rows:
        click.echo("no findings match", err=True)


@click.command()
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
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="DIGEST",
    help="A ledger head printed in an e-mailed report (repeatable): the ledgers checked must "
    "still hold that entry, so a ledger rewritten since is detected.",
)
@click.option(
    "--require-signature",
    is_flag=True,
    help="Strict: fail unless the signature is checked against --public-key-env.",
)
@click.option(
    "--require-store", is_flag=True, help="Strict: fail unless the store's ledger is checked."
)
@handle_errors
def verify(
    bundle: Path,
    ledger_file: Path | None,
    store_url: str | None,
    public_key_env: str | None,
    anchors: tuple[str, ...],
    require_signature: bool,
    require_store: bool,
) -> None:
    """Check a report bundle against its manifest, signature and the evidence ledger, and say
    what was checked and what was not.

    Exit status: 0 intact, 5 tampered (each changed, missing or extra file, bad signature and
    ledger break is listed), 4 an incomplete bundle left by an interrupted run, 2 bad input
    (including a strict flag whose check cannot be made).
    """
    result = verify_report(
        bundle,
        ledger_file=ledger_file,
        store_url=store_url,
        public_key_env=public_key_env,
        anchors=tuple(a.strip().lower() for a in anchors),
        require_signature=require_signature,
        require_store=require_store,
    )
    for line in result.checked:
        click.echo(f"checked      {line}")
    for line in result.not_checked:
        click.echo(f"not checked  {line}")
    if result.incomplete:
        click.echo(f"INCOMPLETE {bundle}: not a report (an interrupted run left it)")
        sys.exit(EXIT_INCOMPLETE)
    if result.ok:
        scope = "manifest" + (" and ledger" if result.ledgers_checked else " only, no ledger")
        trust = "signature verified" if result.signature_trusted else "signature not verified"
        click.echo(f"OK {bundle} ({scope}; {trust})")
        return
    for issue in result.issues:
        click.echo(str(issue))
    click.echo(f"TAMPERED {bundle}: {len(result.issues)} problem(s)")
    sys.exit(EXIT_TAMPERED)


@click.command()
@CONFIG_OPTION
@STORE_OPTION
@click.option(
    "--send", is_flag=True, help="Deliver the messages that are due (needs mail: in config)."
)
@click.option(
    "--eml-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Dry run: write each pending message as <dir>/<id>.eml instead of sending it.",
)
@click.option(
    "--retry-now",
    is_flag=True,
    help="With --send: try every queued message now, ignoring the backoff (and attempt limit).",
)
@handle_errors
def outbox(
    config_path: Path, store_url: str | None, send: bool, eml_dir: Path | None, retry_now: bool
) -> None:
    """List the e-mail outbox (reports waiting to be sent), or deliver what is due with --send.

    A failed delivery stays queued and is retried later with exponential backoff. Exit status
    with --send: 0 when nothing stays queued, 6 when something does (SMTP down, not due yet).
    """
    box = work_outbox(
        config_path,
        store_url,
        now=datetime.now(UTC),
        send=send,
        eml_dir=eml_dir,
        retry_now=retry_now,
    )
    if box.delivery is not None:
        for message_id in box.delivery.sent:
            click.echo(f"sent    {message_id}")
        for message_id, error in box.delivery.failed:
            click.echo(f"retry   {message_id}: {error}")
    for path in box.written:
        click.echo(f"wrote   {path}")
    for row in box.pending:
        click.echo(
            f"pending {row.message_id} {row.kind} to {', '.join(row.recipients)}; "
            f"attempts {row.attempts}, next {row.next_attempt_at:%Y-%m-%d %H:%M UTC}"
            + (f"; last error: {row.last_error}" if row.last_error else "")
        )
    click.echo(f"{len(box.pending)} message(s) pending")
    if send and box.pending:
        sys.exit(EXIT_QUEUED)


@click.command()
@CONFIG_OPTION
@STORE_OPTION
@handle_errors
def status(config_path: Path, store_url: str | None) -> None:
    """Show the last run and coverage per account and collector, open findings, the e-mail
    outbox, produced reports and (if a daemon runs here) its next scheduled runs."""
    for line in status_lines(read_status(config_path, store_url)):
        click.echo(line)


@click.command()
@CONFIG_OPTION
@STORE_OPTION
@click.option(
    "--grace-days",
    type=int,
    default=None,
    help="Days after a month's report before it may be compacted (default: store.retention).",
)
@click.option("--dry-run", is_flag=True, help="Only list the months that would be compacted.")
@handle_errors
def compact(
    config_path: Path, store_url: str | None, grace_days: int | None, dry_run: bool
) -> None:
    """Compact sealed months: delete their raw observations and superseded per-read coverage.

    A month is sealed once a produced report covers it. Daily usage, the proven intervals and
    each unit's latest coverage read stay, so later runs and re-audits answer the same; each
    month is compacted in one transaction and recorded. Run VACUUM (SQLite) or let autovacuum
    (PostgreSQL) reclaim the space; see the README.
    """
    done = compact_store(
        config_path, store_url, now=datetime.now(UTC), grace_days=grace_days, dry_run=dry_run
    )
    for c in done:
        if dry_run:
            click.echo(f"would compact {c.month} (sealed by {c.report_id})")
        else:
            click.echo(
                f"compacted {c.month}: {c.observations_deleted} observation(s) and "
                f"{c.coverage_deleted} superseded coverage row(s) deleted; kept "
                f"{c.coverage_kept} coverage row(s), {c.intervals_kept} proven interval(s)"
            )
    click.echo(f"{len(done)} month(s) {'to compact' if dry_run else 'compacted'}")


COMMANDS = (findings, verify, outbox, status, compact)
