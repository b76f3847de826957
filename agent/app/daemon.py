"""`computewatch daemon`: the long-running process around the jobs of
`computewatch.pipeline.jobs`: one daemon per store (lock), signals, the scheduler built from
config, catch-up at start, the HTTP endpoint and the state file.

Jobs are scheduled by textual reference (`module:function`, as APScheduler 3.x stores them), so
the scheduler holds no function objects and tests can inspect what is scheduled.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from computewatch.app.endpoint import serve
from computewatch.app.locking import DaemonLock
from computewatch.config.loader import LoadedConfig
from computewatch.domain.errors import ComputewatchError, UsageError
from computewatch.pipeline.jobs import (
    Clock,
    abandon_interrupted_runs,
    catch_up,
    cron_trigger,
    utcnow,
)
from computewatch.pipeline.loading import known_collectors, load_config
from computewatch.pipeline.operations import check_store_writable
from computewatch.pipeline.status import state_file, write_state
from computewatch.store import ProducedReport, Store

log = logging.getLogger(__name__)

JOBS = "computewatch.pipeline.jobs"
COLLECT = f"{JOBS}:collect_job"
REPORTS = f"{JOBS}:produce_due_reports"
MAIL = f"{JOBS}:mail_job"
DEAD_RUNS = f"{JOBS}:abandon_dead_runs_job"
# Runs of processes that died (SIGKILL, OOM) while the daemon runs: re-checked this often, not
# only at start, so `status` and /metrics stop showing them as running within minutes.
DEAD_RUNS_CRON = "*/10 * * * *"


def _jobs(config: LoadedConfig) -> dict[str, tuple[str, str, list[Any]]]:
    """Job id -> (cron, textual function reference, args). A collector with a schedule of its own
    gets a `collect:<name>` job and is left out of the main `collect` job."""
    d = config.app.daemon
    own = sorted(d.collector_schedules)
    rest = [n for n in sorted(known_collectors()) if n not in own] if own else None
    jobs: dict[str, tuple[str, str, list[Any]]] = {
        "collect": (d.collect, COLLECT, [config, utcnow, rest]),
        "monthly_report": (d.monthly_report, REPORTS, [config, "monthly"]),
        "deliver_mail": (d.deliver_mail, MAIL, [config]),
        "abandon_dead_runs": (DEAD_RUNS_CRON, DEAD_RUNS, [config]),
    }
    for name in own:
        jobs[f"collect:{name}"] = (d.collector_schedules[name], COLLECT, [config, utcnow, [name]])
    if d.quarterly_report is not None:
        jobs["quarterly_report"] = (d.quarterly_report, REPORTS, [config, "quarterly"])
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
        if collect_now and func == COLLECT:
            first["next_run_time"] = datetime.now(UTC)  # the scheduler's own (wall) clock
        scheduler.add_job(func, cron_trigger(cron), args=args, id=job_id, name=job_id, **first)
    return scheduler


def apply_config(scheduler: BackgroundScheduler, config: LoadedConfig) -> None:
    """SIGHUP: give every job the new config and schedule; jobs that appeared or vanished too."""
    wanted = _jobs(config)
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            job.remove()
    for job_id, (cron, func, args) in wanted.items():
        if scheduler.get_job(job_id) is None:
            scheduler.add_job(func, cron_trigger(cron), args=args, id=job_id, name=job_id)
        else:
            scheduler.modify_job(job_id, args=args)
            scheduler.reschedule_job(job_id, trigger=cron_trigger(cron))


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
        return state_file(self.config)

    def catch_up(self) -> list[ProducedReport]:
        """Reports that fell due while down; a failure is logged and the schedule retries it."""
        return catch_up(self.config, self.clock)

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
            check_store_writable(url)  # a read-only role fails here, not in every job
            stale = abandon_interrupted_runs(url, started)
            if stale:
                log.warning("%d interrupted run(s) marked abandoned", stale)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, self._signal)
            server = None
            if d.http_port is not None:
                stale_after = timedelta(minutes=d.stale_after_minutes)
                server = serve(url, d.http_host, d.http_port, stale_after, self.clock)
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
