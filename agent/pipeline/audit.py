"""The only place that wires the stages: collect -> assess -> deliver (DESIGN §1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from computewatch import __version__
from computewatch.collectors.base import ApiCallCounter
from computewatch.collectors.runner import Progress
from computewatch.config.loader import LoadedConfig
from computewatch.domain import CoverageLevel, RunInfo, RunStatus, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.timing import StageTiming
from computewatch.engine.assess import Assessment
from computewatch.pipeline.assess import assess_run
from computewatch.pipeline.collect import build_providers, check_collectors, collect
from computewatch.pipeline.deliver import Delivered, MailMode, deliver
from computewatch.pipeline.stages import StageClock, stage
from computewatch.reports.context import AuditContext
from computewatch.store import Store


@dataclass
class AuditRequest:
    window: Window
    now: datetime
    out_dir: Path
    formats: list[str]
    providers: set[str] | None = None
    accounts: set[str] | None = None
    collectors: set[str] | None = None  # only these; the others' latest coverage is carried
    # With `collectors`: also these, while nothing has read the window with them yet.
    until_read: set[str] = field(default_factory=set)
    store_url: str | None = None
    progress: Progress | None = None
    bundle: bool = True  # reports, notices, PDF + CSV annex, manifest, evidence-ledger entry
    report_key: str | None = None  # a stable report id for a scheduled report (daemon retries)
    mail: MailMode = "off"
    # The per-day series only a report or the summary shows (daily chart, chip hours, training
    # runs); the daemon's hourly collection produces neither and skips them.
    series: bool = True


@dataclass
class AuditOutcome:
    run_id: int
    assessment: Assessment
    delivered: Delivered
    records_written: int
    api_calls: dict[str, int] = field(default_factory=dict)
    stages: list[StageTiming] = field(default_factory=list)  # where the time and memory went

    @property
    def context(self) -> AuditContext:
        return self.delivered.context

    @property
    def paths(self) -> dict[str, Path]:
        return self.delivered.paths

    @property
    def bundle(self) -> Path | None:
        return self.delivered.bundle

    @property
    def notices(self) -> list[Path]:
        return self.delivered.notices

    @property
    def eml(self) -> Path | None:
        return self.delivered.eml

    @property
    def mail_sent(self) -> list[str]:
        return self.delivered.mail_sent

    @property
    def mail_failed(self) -> list[tuple[str, str]]:
        return self.delivered.mail_failed

    @property
    def run_status(self) -> RunStatus:
        """How the run ended, for the runs table."""
        if self.assessment.breaches:
            return RunStatus.BREACH
        return RunStatus(str(self.assessment.coverage.level))

    @property
    def complete(self) -> bool:
        return self.assessment.coverage.level is CoverageLevel.COMPLETE


def run_audit(
    config: LoadedConfig, req: AuditRequest, catalog: Catalog | None = None
) -> AuditOutcome:
    """Collect the window, assess it once, and deliver the reports (bundle and mail if asked)."""
    catalog = catalog or Catalog.load()
    counter = ApiCallCounter()
    provider_list = build_providers(config, req.providers, counter)
    # Checked before a run is recorded: bad input is no run.
    only = check_collectors(req.collectors)
    check_collectors(req.until_read)
    clock = StageClock()
    with Store.open(req.store_url or config.app.store.resolved_url()) as store, clock.active():
        run_id = store.runs.start(req.window, req.now, __version__, config.digest)
        try:
            collected = collect(
                config,
                store,
                run_id,
                window=req.window,
                now=req.now,
                provider_list=provider_list,
                catalog=catalog,
                only=only,
                until_read=req.until_read,
                accounts=req.accounts,
                progress=req.progress,
            )
            with stage("evaluation"):
                assessment = assess_run(
                    config,
                    store,
                    run_id,
                    collected,
                    window=req.window,
                    now=req.now,
                    catalog=catalog,
                    series=req.series,
                )
            api_calls = counter.snapshot()
            run = RunInfo(run_id, __version__, config.digest, tuple(sorted(api_calls.items())))
            delivered = deliver(
                config,
                store,
                assessment,
                run,
                window=req.window,
                now=req.now,
                out_dir=req.out_dir,
                formats=req.formats,
                catalog=catalog,
                bundle=req.bundle,
                mail=req.mail,
                report_key=req.report_key,
            )
        except BaseException:
            store.runs.finish(run_id, req.now, RunStatus.FAILED, counter.snapshot())
            store.runs.record_stages(run_id, clock.stages)
            raise
        outcome = AuditOutcome(
            run_id, assessment, delivered, collected.records_written, api_calls, clock.stages
        )
        store.runs.finish(run_id, req.now, outcome.run_status, api_calls)
        store.runs.record_stages(run_id, clock.stages)
        return outcome
