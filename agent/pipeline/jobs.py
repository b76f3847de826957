"""The daemon's jobs: plain functions of a config (or its path) and a clock, wiring the pipeline,
the store and delivery. The daemon schedules them by textual reference
(`computewatch.pipeline.jobs:collect_job`); tests call them directly.

What was produced lives in the store (`produced_reports`), never in the scheduler's memory: a
restart after downtime produces every report that fell due, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger

from computewatch.config.loader import LoadedConfig
from computewatch.config.settings import ReportKind
from computewatch.delivery.mail import deliver_due, enqueue, notice_message
from computewatch.domain import FindingStatus, Lifecycle, Window
from computewatch.domain.errors import StoreError
from computewatch.domain.window import month_start, shift_months
from computewatch.pipeline.audit import AuditOutcome, AuditRequest, run_audit
from computewatch.pipeline.loading import load_config
from computewatch.pipeline.operations import compact_store
from computewatch.reports.context import report_id_for
from computewatch.store import Compaction, ProducedReport, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ScheduledKind = Literal["monthly", "quarterly"]
SCHEDULED_KINDS: tuple[ScheduledKind, ...] = ("monthly", "quarterly")
ConfigLike = LoadedConfig | Path | str
ABANDON_AFTER = timedelta(hours=12)  # no single run takes this long
MONTHS: dict[ScheduledKind, int] = {"monthly": 1, "quarterly": 3}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _config(config: ConfigLike) -> LoadedConfig:
    return config if isinstance(config, LoadedConfig) else load_config(Path(config))


def cron_trigger(expr: str) -> CronTrigger:
    """A crontab line, in UTC (the config's schedules are UTC)."""
    return CronTrigger.from_crontab(expr, timezone=UTC)


def period_label(kind: ScheduledKind, window: Window) -> str:
    """'2026-10' for a monthly report, '2026-Q4' for a quarterly one."""
    return window.month_label() if kind == "monthly" else window.quarter_label()


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
    trigger = cron_trigger(cron)
    months = MONTHS[kind]
    bound = shift_months(month_start(now), -catch_up_months)
    first = Window.period_of(bound, months).shifted(-months)
    done = {p.period for p in produced}
    last = max((p.period_start for p in produced), default=None)
    out: list[Window] = []
    for window in Window(first.start, now).calendar_periods(months):
        fire = trigger.get_next_fire_time(None, window.end)
        if (
            window.end > bound
            and fire is not None
            and fire <= now
            and period_label(kind, window) not in done
            and (last is None or window.start > last)
        ):
            out.append(window)
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
        cfg,
        Window.current_month(now),
        now,
        formats=[],
        bundle=False,
        collectors=only,
        until_read=own,
        series=False,
    )
    outcome = run_audit(cfg, request)
    log.info(
        "collected run %d (%s): %d record(s), coverage %s, %d breach(es)",
        outcome.run_id,
        "all collectors" if collectors is None else ", ".join(collectors),
        outcome.records_written,
        outcome.assessment.coverage.level,
        outcome.assessment.breaches,
        extra={"job": "collect", "run_id": outcome.run_id},
    )
    for downtime in outcome.assessment.coverage.downtime:
        log.warning(
            "sampling gap: %s: %s",
            downtime.describe(),
            ", ".join(downtime.accounts[:10]) + (" ..." if len(downtime.accounts) > 10 else ""),
            extra={"job": "collect", "run_id": outcome.run_id},
        )
    notify_breaches(cfg, now)
    try:
        compact_job(cfg, clock)
    except StoreError:  # the collection stands; the next hour tries again
        log.exception("compaction failed; retried with the next collection")
    return outcome


def notify_breaches(config: ConfigLike, now: datetime) -> list[str]:
    """Queue a notice for every new BREACH finding, then deliver what is due."""
    cfg = _config(config)
    settings = cfg.app.mail
    if settings is None or not settings.recipients.get("notice"):
        return []
    entity = cfg.app.reporting_entity.name
    with Store.open(cfg.app.store.resolved_url()) as store:
        queued = []
        for finding in store.findings.find(status=FindingStatus.BREACH, lifecycle=Lifecycle.NEW):
            msg = notice_message(finding, settings, entity, now)
            if enqueue(store, msg, "notice", now):
                queued.append(str(msg["Message-ID"]))
                log.info("breach notice queued for finding %s", finding.id)
        result = deliver_due(store, settings, now)
        for message_id, error in result.failed:
            log.warning("e-mail %s not sent yet: %s (retried later)", message_id, error)
        return queued


def _produce(
    cfg: LoadedConfig, kind: ScheduledKind, window: Window, now: datetime
) -> ProducedReport:
    """Produce one scheduled report (full audit, bundle, mail) and record it as produced."""
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
    return report


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
    made = [_produce(cfg, kind, window, now) for window in periods]
    compact_job(cfg, lambda: now)
    return made


def compact_job(config: ConfigLike, clock: Clock = utcnow) -> list[Compaction]:
    """Compact the sealed months the retention policy allows (none if it is off)."""
    cfg = _config(config)
    if not cfg.app.store.retention.compact:
        return []
    done = compact_store(cfg, now=clock())
    for c in done:
        log.info(
            "compacted %s: %d observation(s), %d superseded coverage row(s) deleted",
            c.month,
            c.observations_deleted,
            c.coverage_deleted,
            extra={"job": "compact", "period": c.month},
        )
    return done


def catch_up(config: ConfigLike, clock: Clock = utcnow) -> list[ProducedReport]:
    """Every report that fell due while the daemon was down; a failure is logged and the
    schedule retries it."""
    made: list[ProducedReport] = []
    for kind in SCHEDULED_KINDS:
        try:
            made += produce_due_reports(config, kind, clock)
        except Exception:  # logged with traceback; the cron job retries
            log.exception("catch-up of %s reports failed; the schedule retries it", kind)
    return made


def mail_job(config: ConfigLike, clock: Clock = utcnow) -> int:
    """Retry queued e-mail that is due; returns how many went out."""
    cfg = _config(config)
    if cfg.app.mail is None:
        return 0
    with Store.open(cfg.app.store.resolved_url()) as store:
        return len(deliver_due(store, cfg.app.mail, clock()).sent)


def abandon_interrupted_runs(store_url: str, now: datetime) -> int:
    """Runs still marked running that are older than any run takes were killed with their
    process: mark them abandoned (at daemon start, under the daemon lock)."""
    with Store.open(store_url) as store:
        return store.runs.abandon_running(now - ABANDON_AFTER, now)


def abandon_dead_runs_job(config: ConfigLike, clock: Clock = utcnow) -> int:
    """Mark runs whose process on this host died as abandoned (the daemon's periodic re-check;
    runs of other hosts are left for `status` to report); returns how many."""
    cfg = _config(config)
    with Store.open(cfg.app.store.resolved_url()) as store:
        dead = store.runs.abandon_dead(clock())
    if dead:
        log.warning("run(s) %s marked abandoned: their process died", ", ".join(map(str, dead)))
    return len(dead)
