"""The only place that wires the stages: collect -> store -> evaluate -> report (DESIGN §1)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from computewatch import __version__
from computewatch.collectors.base import ApiCallCounter, CollectContext, Provider
from computewatch.collectors.registry import builtin
from computewatch.collectors.runner import CollectionResult, Progress, run_collection
from computewatch.collectors.sampling import close_billed_gaps
from computewatch.config.loader import LoadedConfig
from computewatch.config.settings import ReportKind
from computewatch.delivery.evidence import bundle_reports
from computewatch.delivery.mail import (
    build_message,
    deliver_due,
    enqueue_report,
    report_attachments,
    write_eml,
)
from computewatch.domain import (
    SAMPLING_GAP,
    CoverageEntry,
    Finding,
    FindingStatus,
    Metric,
    Observation,
    Window,
)
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import UsageError
from computewatch.engine.estimates import methodology
from computewatch.engine.evaluate import evaluate_window, kyc_findings, rule_windows
from computewatch.engine.usage import (
    HOURS_METRICS,
    AccountUsage,
    build_account_usage,
    daily_accelerator_hours,
)
from computewatch.reports.context import AuditContext, build_audit_context
from computewatch.reports.notices import write_notices
from computewatch.reports.quarterly import write_quarterly
from computewatch.reports.render import make_environment, write_reports
from computewatch.store import Store

log = logging.getLogger(__name__)

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_BREACH, EXIT_INCOMPLETE = 0, 1, 2, 3, 4


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
    mail: Literal["off", "send", "dry-run"] = "off"


@dataclass
class AuditOutcome:
    run_id: int
    context: AuditContext
    paths: dict[str, Path]
    records_written: int
    api_calls: dict[str, int] = field(default_factory=dict)
    bundle: Path | None = None
    notices: list[Path] = field(default_factory=list)
    eml: Path | None = None
    mail_sent: list[str] = field(default_factory=list)
    mail_failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.context.breaches:
            return EXIT_BREACH
        if self.context.coverage.status != "complete":
            return EXIT_INCOMPLETE
        return EXIT_OK


def build_providers(
    config: LoadedConfig, wanted: set[str] | None, counter: ApiCallCounter
) -> list[Provider]:
    """Every registered provider whose config section is present (and that was asked for)."""
    known = builtin().provider_names()
    if wanted:
        unknown = wanted - set(known)
        if unknown:
            raise UsageError(
                f"unknown provider(s) {', '.join(sorted(unknown))} (known: {', '.join(known)})"
            )
    built = []
    for name, cls in builtin().providers.items():
        section = getattr(config.app, name, None)
        if section is None or (wanted and name not in wanted):
            continue
        built.append(cls.from_config(section, counter))
    if not built:
        raise UsageError(
            f"no provider to audit: configure one of {', '.join(known)} in {config.path}"
        )
    return built


def evaluate_all(
    config: LoadedConfig,
    usages: list[AccountUsage],
    usage_for: Callable[[Window], list[AccountUsage]],
    audit: Window,
    catalog: Catalog,
) -> list[Finding]:
    """Every configured rule over each of its windows, plus the built-in know-your-customer checks."""
    findings: list[Finding] = []
    cache: dict[Window, list[AccountUsage]] = {audit: usages}
    for rule in config.rules.rules:
        for w in rule_windows(rule, audit):
            if w not in cache:
                cache[w] = usage_for(w)
                if w.start < audit.start:
                    # Reaches before what this run read: totals there are only what the store holds.
                    for u in cache[w]:
                        if u.coverage_status == "complete":
                            u.coverage_status = "partial"
            findings.extend(evaluate_window([rule], cache[w], w, catalog, config.registry))
    if config.registry.customers:
        # Without any registry there is nobody to compare against; the report says so instead.
        findings.extend(
            kyc_findings(usages, config.registry, config.app.restricted_country_groups, audit)
        )
    return findings


def deliver(config: LoadedConfig, req: AuditRequest, store: Store, outcome: AuditOutcome) -> None:
    """Notices and the quarterly report next to the audit, all sealed into one evidence bundle,
    then the e-mail queued, sent or previewed."""
    env = make_environment(config.templates_dir)
    extra = {
        **write_notices(outcome.context, req.out_dir, env),
        **write_quarterly(outcome.context, req.out_dir, env),
    }
    outcome.notices = [
        p for name, p in extra.items() if name.startswith("notice-") and p.suffix == ".html"
    ]
    bundle = bundle_reports(
        {**outcome.paths, **extra},
        outcome.context,
        store,
        req.out_dir,
        created_at=req.now,
        signing_key_env=config.app.reports.signing_key_env,
    )
    outcome.bundle = bundle.directory
    if req.mail == "off":
        return
    settings = config.app.mail
    if settings is None:
        raise UsageError(f"e-mail asked for, but {config.path} has no 'mail' section")
    kind: ReportKind = "quarterly" if req.window.hours > 24 * 62 else "monthly"
    if req.mail == "dry-run":
        attachments = report_attachments(bundle.files)
        built = build_message(outcome.context, settings, kind, attachments, req.now)
        eml = bundle.directory.parent / f"{outcome.context.report_id}.eml"
        outcome.eml = write_eml(built.message, eml)
        return
    enqueue_report(store, settings, outcome.context, bundle.files, kind, req.now)
    result = deliver_due(store, settings, req.now)  # a failure stays in the outbox and retries
    outcome.mail_sent, outcome.mail_failed = result.sent, result.failed


def _check_collectors(wanted: set[str] | None) -> frozenset[str] | None:
    if wanted is None:
        return None
    unknown = wanted - set(builtin().collector_names())
    if unknown:
        raise UsageError(
            f"unknown collector(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(builtin().collector_names())})"
        )
    return frozenset(wanted)


def collect_context(
    config: LoadedConfig,
    req: AuditRequest,
    store: Store,
    catalog: Catalog,
    only: frozenset[str] | None,
) -> CollectContext:
    """What collectors need from earlier runs: final days, sampled history, read times, and for
    a run limited to `only` some collectors, the others' latest coverage of the window (those of
    `req.until_read` that have none run too)."""
    carried = store.window_coverage(req.window) if only is not None else {}
    if only is not None:
        read = {unit[3] for unit in carried}
        only = only | {name for name in req.until_read if name not in read}
    final_days = {
        name: store.final_days(cls.provider, name, cls.final_after)
        for name, cls in builtin().collectors.items()
        if cls.final_after is not None
    }
    history: dict[tuple[str, str, str, str], list[Observation]] = defaultdict(list)
    for o in store.observations(req.window, before=req.now):
        history[(o.provider, o.account_id, o.region, o.collector)].append(o)
    sampling = [name for name, cls in builtin().collectors.items() if cls.samples]
    return CollectContext(
        window=req.window,
        now=req.now,
        catalog=catalog,
        final_days=final_days,
        history=history,
        reads=store.read_times(sampling, req.window.start, req.now),
        max_sample_gap=timedelta(minutes=config.app.collection.max_sample_gap_minutes),
        only=only,
        carried=carried,
    )


def final_billing(store: Store) -> dict[str, dict[str, frozenset[date]]]:
    """Per provider, the billing collectors and the days the store holds in final form."""
    out: dict[str, dict[str, frozenset[date]]] = defaultdict(dict)
    for name, cls in builtin().collectors.items():
        if cls.bills_hours and cls.final_after is not None:
            out[cls.provider][name] = store.final_days(cls.provider, name, cls.final_after)
    return out


def write_coverage(
    store: Store, run_id: int, result: CollectionResult, now: datetime
) -> list[CoverageEntry]:
    """Store the run's coverage; sampling gaps last, once this run's own billing reads count
    towards closing them. Returns the coverage to judge by (with units carried over)."""
    reads = [e for e in result.coverage if e.error_code != SAMPLING_GAP]
    store.write_coverage(run_id, reads, now)
    billed = final_billing(store)
    gaps = close_billed_gaps([e for e in result.coverage if e.error_code == SAMPLING_GAP], billed)
    store.write_coverage(run_id, gaps, now)
    result.coverage = [*reads, *gaps]
    return [*result.coverage, *close_billed_gaps(result.carried, billed)]


def run_audit(
    config: LoadedConfig, req: AuditRequest, catalog: Catalog | None = None
) -> AuditOutcome:
    catalog = catalog or Catalog.load()
    counter = ApiCallCounter()
    provider_list = build_providers(config, req.providers, counter)
    # Checked before a run is recorded: bad input is no run.
    only = _check_collectors(req.collectors)
    _check_collectors(req.until_read)
    store = Store.open(req.store_url or config.app.store.resolved_url())
    try:
        run_id = store.start_run(req.window, req.now, __version__, config.digest)
        try:
            ctx = collect_context(config, req, store, catalog, only)
            result = run_collection(provider_list, ctx, req.accounts, req.progress)
            written = store.write_usage(run_id, result.records, req.now)
            store.write_observations(run_id, result.observations)
            coverage = write_coverage(store, run_id, result, req.now)
            store.upsert_accounts(result.accounts)
            keys = [(a.provider, a.account_id) for a in result.accounts]
            util = config.app.estimates.utilization
            band = (util.low, util.central, util.high)

            def usage_for(window: Window) -> list[AccountUsage]:
                return build_account_usage(
                    result.accounts,
                    store.totals(window, keys),
                    store.daily_totals(window, HOURS_METRICS, keys),
                    store.peaks(window, keys),
                    coverage,
                    catalog,
                    band,
                )

            usages = usage_for(req.window)
            findings = evaluate_all(config, usages, usage_for, req.window, catalog)
            states = store.record_findings(findings, req.now, run_id)
            api_calls = counter.snapshot()
            context = build_audit_context(
                usages=usages,
                coverage=coverage,
                findings=findings,
                window=req.window,
                generated_at=req.now,
                reporting_entity=config.app.reporting_entity.name,
                catalog=catalog,
                methodology=methodology(catalog, *band),
                run_id=run_id,
                tool_version=__version__,
                config_digest=config.digest,
                api_calls=api_calls,
                registry=config.registry,
                finding_states=states,
                report_key=req.report_key,
                daily_hours=daily_accelerator_hours(
                    store.daily_totals(req.window, [str(Metric.ACCELERATOR_HOURS)], keys)
                ),
            )
            paths = write_reports(
                context, req.formats, req.out_dir, make_environment(config.templates_dir)
            )
            outcome = AuditOutcome(run_id, context, paths, written, api_calls)
            if req.bundle:
                deliver(config, req, store, outcome)
                # Only findings that went out in a report move from "new" to "ongoing".
                store.mark_reported(
                    [f.id for f in findings if f.status is not FindingStatus.OK], req.now
                )
        except BaseException:
            store.finish_run(run_id, req.now, "failed", counter.snapshot())
            raise
        breaches = sum(1 for f in findings if f.status is FindingStatus.BREACH)
        store.finish_run(
            run_id, req.now, "breach" if breaches else context.coverage.status, api_calls
        )
        return outcome
    finally:
        store.close()
