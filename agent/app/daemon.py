"""`computewatch daemon`: scheduled collection, breach notices, and monthly/quarterly reports.

Job functions are plain module-level functions taking a config (or its path) and a clock, so
tests call them directly. What was produced lives in the store (`produced_reports`), never in
the scheduler's memory: a restart after downtime produces every report that fell due, once.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from computewatch.app.locking import DaemonLock
from computewatch.app.ops import default_state_file, serve, write_state
from computewatch.collectors.registry import builtin
from computewatch.config.loader import LoadedConfig
from computewatch.config.settings import ReportKind
from computewatch.delivery.mail import deliver_due, enqueue
from computewatch.domain import FindingStatus, Lifecycle, Window
from computewatch.domain.errors import ComputewatchError, UsageError
from computewatch.pipeline.audit import AuditOutcome, AuditRequest, run_audit
from computewatch.pipeline.loading import load_config
from computewatch.reports.context import report_id_for
from computewatch.store import FindingRow, ProducedReport, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ABANDON_AFTER = timedelta(hours=12)  # no single run takes this long
ScheduledKind = Literal["monthly", "quarterly"]
ConfigLike = LoadedConfig | Path | str


def utcnow() -> datetime:
    return datetime.now(UTC)


def _config(config: ConfigLike) -> LoadedConfig:
    return config if isinstance(config, LoadedConfig) else load_config(Path(config))


def _month_start(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _add_months(at: datetime, n: int) -> datetime:
    index = at.year * 12 + at.month - 1 + n
    return at.replace(year=index // 12, month=index % 12 + 1)


def current_month(now: datetime) -> Window:
    """The whole calendar month of `now`: data exists only up to now, and the window (hence each
    finding id) stays the same all month, so a breach is one finding, not one per hour."""
    start = _month_start(now)
    return Window(start, _add_months(start, 1))


def period_label(kind: ScheduledKind, window: Window) -> str:
    if kind == "monthly":
        return f"{window.start:%Y-%m}"
    return f"{window.start.year}-Q{(window.start.month - 1) // 3 + 1}"


def _trigger(expr: str) -> CronTrigger:
    return CronTrigger.from_crontab(expr, timezone=UTC)


def due_periods(
    kind: ScheduledKind,
    cron: str,
    now: datetime,
    produced: list[ProducedReport],
    catch_up_months: int,
) -> list[Window]:
    """Periods of `kind` whose scheduled time (the first cron fire after the period ended) has
    passed, newer than the last produced one and ending within `catch_up_months` months.
    With nothing produced yet, only the most recent due period (a first start is no backfill)."""
    trigger = _trigger(cron)
    bound = _add_months(_month_start(now), -catch_up_months)
    step = 1 if kind == "monthly" else 3
    start = _add_months(_month_start(bound), -((bound.month - 1) % step) - step)
    done = {p.period for p in produced}
    last = max((p.period_start for p in produced), default=None)
    out: list[Window] = []
    while start <= now:
        window = Window(start, _add_months(start, step))
        fire = trigger.get_next_fire_time(None, window.end)
        if (
            window.end > bound
            and fire is not None
            and fire <= now
            and period_label(kind, window) not in done
            and (last is None or window.start > last)
        ):
            out.append(window)
        start = window.end
    return out if produced else out[-1:]


def _request(config: LoadedConfig, window: Window, now: datetime, **kw: Any) -> AuditRequest:
    values: dict[str, Any] = {"formats": [str(f) for f in config.app.reports.formats]} | kw
    return AuditRequest(
        window=window, now=now, out_dir=config.relative(config.app.reports.out_dir), **values
    )


def collect_job(
    config: ConfigLike, clock: Clock = utcnow, collectors: list[str] | None = None
) -> AuditOutcome:
    """Collect (all collectors, or only `collectors`) and evaluate the current month (no report
    files, no bundle), then notify."""
    cfg = _config(config)
    now = clock()
    only = None if collectors is None else set(collectors)
    # A collector on its own schedule runs along until it has read the month, so a new month
    # is not UNKNOWN until its own time comes round.
    own = set(cfg.app.daemon.collector_schedules)
    request = _request(
        cfg, current_month(now), now, formats=[], bundle=False, collectors=only, until_read=own
    )
    outcome = run_audit(cfg, request)
    log.info(
        "collected run %d (%s): %d record(s), coverage %s, %d breach(es)",
        outcome.run_id,
        "all collectors" if collectors is None else ", ".join(collectors),
        outcome.records_written,
        outcome.context.coverage.status,
        outcome.context.breaches,
        extra={"job": "collect", "run_id": outcome.run_id},
    )
    notify_breaches(cfg, now)
    return outcome


def notice_message(config: LoadedConfig, finding: FindingRow, now: datetime) -> EmailMessage:
    """A short threshold notice; its Message-ID derives from the finding id (queued once ever)."""
    settings = config.app.mail
    assert settings is not None
    sender = Address(display_name=settings.sender_name, addr_spec=settings.sender)
    value = "unknown" if finding.value is None else f"{finding.value:,.4g}"
    msg = EmailMessage(policy=policy.SMTP)
    subject = f"BREACH {finding.rule_id} {finding.scope_key}"
    msg["Subject"] = " ".join(f"{subject} — {config.app.reporting_entity.name}".split())
    msg["From"] = sender
    msg["To"] = [Address(addr_spec=r) for r in settings.recipients.get("notice", [])]
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<notice.{finding.id}@{sender.domain}>"
    msg["X-Computewatch-Finding"] = finding.id
    msg.set_content(
        f"Rule {finding.rule_id} is in BREACH for {finding.scope_key}.\n\n"
        f"Value: {value} (threshold {finding.threshold:,.4g})\n"
        f"Window: {finding.window_start:%Y-%m-%d} to {finding.window_end:%Y-%m-%d}\n"
        f"Severity: {finding.severity}\nFirst seen: {finding.first_seen:%Y-%m-%d %H:%M} UTC\n"
        f"Finding id: {finding.id}\n\n{finding.detail}\n"
    )
    return msg


def notify_breaches(config: ConfigLike, now: datetime) -> list[str]:
    """Queue a notice for every new BREACH finding, then deliver what is due."""
    cfg = _config(config)
    settings = cfg.app.mail
    if settings is None or not settings.recipients.get("notice"):
        return []
    with Store.open(cfg.app.store.resolved_url()) as store:
        queued = []
        for finding in store.findings.find(status=FindingStatus.BREACH, lifecycle=Lifecycle.NEW):
            msg = notice_message(cfg, finding, now)
            if enqueue(store, msg, "notice", now):
                queued.append(str(msg["Message-ID"]))
                log.info("breach notice queued for finding %s", finding.id)
        result = deliver_due(store, settings, now)
        for message_id, error in result.failed:
            log.warning("e-mail %s not sent yet: %s (retried later)", message_id, error)
        return queued


def produce_due_reports(
    config: ConfigLike, kind: ScheduledKind, clock: Clock = utcnow
) -> list[ProducedReport]:
    """Produce (full audit, bundle, mail) every `kind` report that is due and not yet produced."""
    cfg = _config(config)
    cron = cfg.app.daemon.monthly_report if kind == "monthly" else cfg.app.daemon.quarterly_report
    if cron is None:
        return []
    now = clock()
    with Store.open(cfg.app.store.resolved_url()) as store:
        produced = store.reports.produced(kind)
    periods = due_periods(kind, cron, now, produced, cfg.app.daemon.catch_up_months)
    made = []
    for window in periods:
        label = period_label(kind, window)
        key = f"{kind}:{label}"
        sealed = cfg.relative(cfg.app.reports.out_dir) / report_id_for(key)
        if (sealed / "manifest.json").exists():
            # Sealed before a crash kept it from being recorded: record it, never produce it twice.
            report_id, bundle = report_id_for(key), str(sealed)
        else:
            mail_kind: ReportKind = kind
            mailing = cfg.app.mail is not None and bool(cfg.app.mail.recipients.get(mail_kind))
            request = _request(cfg, window, now, mail="send" if mailing else "off", report_key=key)
            outcome = run_audit(cfg, request)
            report_id, bundle = outcome.context.report_id, str(outcome.bundle or "")
        report = ProducedReport(
            kind=kind,
            period=label,
            period_start=window.start,
            period_end=window.end,
            produced_at=now,
            report_id=report_id,
            bundle=bundle,
        )
        with Store.open(cfg.app.store.resolved_url()) as store:
            store.reports.record(report)
        log.info(
            "%s report %s produced: %s",
            kind,
            label,
            report.bundle,
            extra={"job": kind, "kind": kind, "period": label},
        )
        made.append(report)
    return made


def mail_job(config: ConfigLike, clock: Clock = utcnow) -> int:
    """Retry queued e-mail that is due; returns how many went out."""
    cfg = _config(config)
    if cfg.app.mail is None:
        return 0
    with Store.open(cfg.app.store.resolved_url()) as store:
        return len(deliver_due(store, cfg.app.mail, clock()).sent)


def _jobs(config: LoadedConfig) -> dict[str, tuple[str, str, list[Any]]]:
    """Job id -> (cron, textual function reference, args). A collector with a schedule of its own
    gets a `collect:<name>` job and is left out of the main `collect` job."""
    d = config.app.daemon
    own = sorted(d.collector_schedules)
    rest = None
    if own:
        rest = [n for n in builtin().collector_names() if n not in own]
    jobs: dict[str, tuple[str, str, list[Any]]] = {
        "collect": (d.collect, "computewatch.app.daemon:collect_job", [config, utcnow, rest]),
        "monthly_report": (
            d.monthly_report,
            "computewatch.app.daemon:produce_due_reports",
            [config, "monthly"],
        ),
        "deliver_mail": (d.deliver_mail, "computewatch.app.daemon:mail_job", [config]),
    }
    for name in own:
        jobs[f"collect:{name}"] = (
            d.collector_schedules[name],
            "computewatch.app.daemon:collect_job",
            [config, utcnow, [name]],
        )
    if d.quarterly_report is not None:
        jobs["quarterly_report"] = (
            d.quarterly_report,
            "computewatch.app.daemon:produce_due_reports",
            [config, "quarterly"],
        )
    return jobs


def build_scheduler(config: LoadedConfig, collect_now: bool = False) -> BackgroundScheduler:
    """One worker thread: jobs never overlap (a report never races a collection). With
    `collect_now`, the collect jobs also run once as soon as the scheduler starts."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    for job_id, (cron, func, args) in _jobs(config).items():
        first: dict[str, Any] = {}
        if collect_now and func == "computewatch.app.daemon:collect_job":
            first["next_run_time"] = datetime.now(UTC)  # the scheduler's own (wall) clock
        scheduler.add_job(func, _trigger(cron), args=args, id=job_id, name=job_id, **first)
    return scheduler


def apply_config(scheduler: BackgroundScheduler, config: LoadedConfig) -> None:
    """SIGHUP: give every job the new config and schedule; jobs that appeared or vanished too."""
    wanted = _jobs(config)
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            job.remove()
    for job_id, (cron, func, args) in wanted.items():
        if scheduler.get_job(job_id) is None:
            scheduler.add_job(func, _trigger(cron), args=args, id=job_id, name=job_id)
        else:
            scheduler.modify_job(job_id, args=args)
            scheduler.reschedule_job(job_id, trigger=_trigger(cron))


def writable_out_dir(config: LoadedConfig) -> Path:
    """The report directory, created and proven writable now: a daemon whose config sits on a
    read-only /etc (systemd ProtectSystem, a container mount) would otherwise fail every job."""
    path = config.relative(config.app.reports.out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UsageError(
            f"reports.out_dir {path} is not writable ({exc.strerror or exc}): set reports.out_dir "
            f"in {config.path} to a writable directory, e.g. /var/lib/computewatch/reports"
        ) from None
    return path


class Daemon:
    """The long-running process: lock, catch-up, scheduler, HTTP endpoint, signals."""

    def __init__(self, config_path: Path, clock: Clock = utcnow) -> None:
        self.config_path = config_path
        self.clock = clock
        self.config = load_config(config_path)
        writable_out_dir(self.config)
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._wake = threading.Event()

    def state_path(self) -> Path:
        given = self.config.app.daemon.state_file
        return self.config.relative(given) if given else default_state_file()

    def catch_up(self) -> list[ProducedReport]:
        """Reports that fell due while down; a failure is logged and the schedule retries it."""
        made: list[ProducedReport] = []
        kinds: tuple[ScheduledKind, ...] = ("monthly", "quarterly")
        for kind in kinds:
            try:
                made += produce_due_reports(self.config, kind, self.clock)
            except Exception:  # logged with traceback; the cron job retries
                log.exception("catch-up of %s reports failed; the schedule retries it", kind)
        return made

    def _signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload.set()
        else:
            log.info("%s received: stopping after the current job", signal.Signals(signum).name)
            self._stop.set()
        self._wake.set()

    def reload(self, scheduler: BackgroundScheduler) -> None:
        try:
            new = load_config(self.config_path)
            writable_out_dir(new)
        except ComputewatchError as exc:
            log.error("config reload refused, keeping the running config: %s", exc)
            return
        if new.app.store.resolved_url() != self.config.app.store.resolved_url():
            log.error("config reload: the store changed; restart the daemon to switch stores")
            return
        self.config = new
        apply_config(scheduler, new)
        log.info("config reloaded from %s", self.config_path)

    def _save_state(self, scheduler: BackgroundScheduler, started: datetime) -> None:
        next_runs = {j.id: j.next_run_time for j in scheduler.get_jobs()}
        write_state(
            self.state_path(),
            {"pid": os.getpid(), "started_at": started, "next_runs": next_runs},
        )

    def run(self) -> int:
        url = self.config.app.store.resolved_url()
        d = self.config.app.daemon
        with DaemonLock(url):
            log.info("daemon started (pid %d); catching up on reports", os.getpid())
            started = self.clock()
            with Store.open(url) as store:
                # A run older than this that still says "running" was killed with its process.
                stale = store.runs.abandon_running(started - ABANDON_AFTER, started)
            if stale:
                log.warning("%d interrupted run(s) marked abandoned", stale)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, self._signal)
            server = (
                serve(
                    url,
                    d.http_host,
                    d.http_port,
                    timedelta(minutes=d.stale_after_minutes),
                    self.clock,
                )
                if d.http_port is not None
                else None
            )
            scheduler = build_scheduler(self.config, collect_now=d.collect_on_start)
            try:
                self.catch_up()
                if not self._stop.is_set():  # a SIGTERM during the catch-up: stop there
                    scheduler.start()
                while not self._stop.is_set():
                    self._save_state(scheduler, started)
                    self._wake.wait(60)
                    self._wake.clear()
                    if self._reload.is_set():
                        self._reload.clear()
                        self.reload(scheduler)
            finally:
                if scheduler.running:
                    scheduler.shutdown(wait=True)  # the running job finishes; its writes commit
                if server is not None:
                    server.shutdown()
                    server.server_close()
                Store.dispose_all()
                log.info("daemon stopped")
        return 0
