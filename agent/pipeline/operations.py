"""The operator's commands besides audit and daemon: validate a config, list findings, work the
e-mail outbox, verify a bundle, compact sealed months. One function per command; the CLI only prints and exits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from computewatch.collectors.registry import builtin
from computewatch.config.loader import LoadedConfig
from computewatch.delivery.evidence import VerifyResult, verify_bundle
from computewatch.delivery.keys import load_public_key
from computewatch.delivery.mail import Delivery, deliver_due, parse, write_eml
from computewatch.domain import FindingStatus, Lifecycle, Window
from computewatch.domain.errors import UsageError
from computewatch.pipeline.loading import load_config
from computewatch.store import Compaction, FindingRow, OutboxRow, Store


@dataclass(frozen=True)
class Validation:
    config: LoadedConfig
    providers: tuple[str, ...]  # the providers this config sets up


def validate_config(path: Path) -> Validation:
    """Load and check a config (errors name file, line and field), with its collector names
    checked against the registry."""
    config = load_config(path)
    known = builtin().provider_names()
    configured = tuple(p for p in known if getattr(config.app, p, None) is not None)
    return Validation(config, configured)


def _store_url(config_path: Path, store_url: str | None) -> str:
    return store_url or load_config(config_path).app.store.resolved_url()


def check_store_writable(store_url: str) -> None:
    """Before any cloud API call: the store opens and its role may write every table (a
    read-only role or a database without privileges is exit 2, not an error mid-run)."""
    with Store.open(store_url) as store:
        store.check_writable()


def list_findings(
    config_path: Path,
    store_url: str | None = None,
    *,
    status: FindingStatus | None = None,
    lifecycle: Lifecycle | None = None,
    rule_id: str | None = None,
    scope: str | None = None,
) -> list[FindingRow]:
    """Stored findings, newest window first."""
    with Store.open(_store_url(config_path, store_url)) as store:
        rows = store.findings.find(status=status, lifecycle=lifecycle, rule_id=rule_id, scope=scope)
    return rows[::-1]


@dataclass
class Outbox:
    pending: list[OutboxRow]  # after sending, if asked
    delivery: Delivery | None = None  # with `send`
    written: list[Path] = field(default_factory=list)  # with `eml_dir`


def eml_name(message_id: str) -> str:
    """A file name from a Message-ID (angle brackets, @ and the like become _)."""
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in message_id) + ".eml"


def work_outbox(
    config_path: Path,
    store_url: str | None = None,
    *,
    now: datetime,
    send: bool = False,
    eml_dir: Path | None = None,
    retry_now: bool = False,
) -> Outbox:
    """The e-mail outbox: with `send`, deliver what is due first (a failure stays queued and
    backs off); with `eml_dir`, write each pending message there as an .eml file (dry run)."""
    if send and eml_dir:
        raise UsageError("give --send or --eml-dir, not both")
    if retry_now and not send:
        raise UsageError("--retry-now goes with --send")
    config = load_config(config_path)
    with Store.open(store_url or config.app.store.resolved_url()) as store:
        delivery = None
        if send:
            if config.app.mail is None:
                raise UsageError(f"no mail: section in {config_path}")
            delivery = deliver_due(store, config.app.mail, now, retry_now=retry_now)
        out = Outbox(store.outbox.pending(), delivery)
    if eml_dir:
        eml_dir.mkdir(parents=True, exist_ok=True)
        out.written = [write_eml(parse(r), eml_dir / eml_name(r.message_id)) for r in out.pending]
    return out


def verify_report(
    bundle: Path,
    *,
    ledger_file: Path | None = None,
    store_url: str | None = None,
    public_key_env: str | None = None,
    anchors: tuple[str, ...] = (),
    require_signature: bool = False,
    require_store: bool = False,
) -> VerifyResult:
    """Check a bundle against its manifest, signature and ledgers (the file next to it, the
    given file, and the store's ledger when `store_url` is given). Strict mode refuses to run
    without what it requires, so its OK always rests on it."""
    if require_signature and not public_key_env:
        raise UsageError(
            "--require-signature needs --public-key-env VAR (the trusted Ed25519 public key): "
            "a signature checked only against the key it carries proves nothing"
        )
    if require_store and not store_url:
        raise UsageError("--require-store needs --store URL (the store holding the ledger)")
    bad = [a for a in anchors if len(a) != 64 or any(c not in "0123456789abcdef" for c in a)]
    if bad:
        raise UsageError(f"--anchor takes a ledger entry digest (64 hex digits), got {bad[0]!r}")
    key = load_public_key(public_key_env) if public_key_env else None
    if not store_url:
        return verify_bundle(bundle, ledger_file=ledger_file, public_key=key, anchors=anchors)
    with Store.open(store_url) as store:
        return verify_bundle(
            bundle, ledger_file=ledger_file, store=store, public_key=key, anchors=anchors
        )


def sealed_months(store: Store, now: datetime, grace: timedelta) -> list[tuple[Window, str]]:
    """Months a produced (sealed) report covers, produced at least `grace` ago and not yet
    compacted, oldest first, with the report that sealed each."""
    done = {c.month for c in store.retention.compacted()}
    out: dict[str, tuple[Window, str]] = {}
    for report in store.reports.produced():
        if report.produced_at > now - grace:
            continue
        for month in Window(report.period_start, report.period_end).calendar_months():
            if month.end <= now and month.month_label() not in done:
                out.setdefault(month.month_label(), (month, report.report_id))
    return [out[k] for k in sorted(out)]


def compact_store(
    config_path: Path | LoadedConfig,
    store_url: str | None = None,
    *,
    now: datetime,
    grace_days: int | None = None,
    dry_run: bool = False,
) -> list[Compaction]:
    """Compact every sealed month the retention policy allows (see `store.retention`); with
    `dry_run`, only say which months would be (as records with nothing deleted)."""
    config = (
        config_path if isinstance(config_path, LoadedConfig) else load_config(Path(config_path))
    )
    policy = config.app.store.retention
    days = policy.grace_days if grace_days is None else grace_days
    if days < 0:
        raise UsageError("--grace-days must be 0 or more")
    with Store.open(store_url or config.app.store.resolved_url()) as store:
        due = sealed_months(store, now, timedelta(days=days))
        if dry_run:
            return [Compaction(m.month_label(), now, rid, 0, 0, 0, 0) for m, rid in due]
        made = [store.retention.compact_month(month, rid, now) for month, rid in due]
    return [c for c in made if c is not None]
