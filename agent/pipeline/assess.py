"""Assess: the store's aggregates for every window the rules need, judged once by the engine;
the findings' lifecycle is carried forward and persisted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from computewatch.collectors.registry import builtin
from computewatch.config.loader import LoadedConfig
from computewatch.domain import CoverageEntry, Metric, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.concurrency import SimultaneousPeak, simultaneous_peaks
from computewatch.domain.window import day_start
from computewatch.engine import lifecycle
from computewatch.engine.assess import Aggregates, Assessment, assess, extra_windows
from computewatch.engine.stored_coverage import window_coverage
from computewatch.engine.usage import BILLED_METRICS, EXPORT_MODEL_METRICS
from computewatch.pipeline.collect import Collected
from computewatch.store import Store


def hour_sources() -> frozenset[str]:
    """The collectors whose records carry accelerator-hours: estimates rest on them."""
    reg = builtin()
    return frozenset(
        name
        for name in reg.collector_names()
        if Metric.ACCELERATOR_HOURS in reg.collector(name).metrics
    )


def account_scope(store: Store, collected: Collected) -> list[tuple[str, str]] | None:
    """The run's accounts for the aggregates' filter, or None when they are every account the
    store knows (no IN list of a thousand accounts; the engine ignores rows of other accounts)."""
    keys = [(a.provider, a.account_id) for a in collected.accounts]
    return None if set(store.usage.account_names()) <= set(keys) else keys


def earlier_coverage(
    store: Store,
    collected: Collected,
    windows: list[Window],
    audit: Window,
    tolerance: timedelta = timedelta(0),
) -> dict[Window, list[CoverageEntry]]:
    """The coverage of each window reaching before `audit`: the run's reads, and before the
    audit what the stored history vouches for (a year of daemon reads can make a quarter or a
    rolling twelve months complete; a stretch no read covers makes it partial)."""
    earlier = [w for w in windows if w.start < audit.start]
    if not earlier:
        return {}
    stored = store.coverage.vouched(Window(min(w.start for w in earlier), audit.start))
    return {w: window_coverage(collected.coverage, stored, w, audit, tolerance) for w in earlier}


def simultaneous(store: Store, window: Window) -> dict[tuple[str, str], SimultaneousPeak]:
    """True simultaneous peaks per account. Every stored interval is evidence of running time in
    the window, including those observed after an as-of `now` (a re-audit of a past month);
    hence no cut-off at `now`. A window of whole days takes the largest of the daily peaks the
    store keeps; another sweeps the window's stored intervals."""
    if window.start == day_start(window.start) and window.end == day_start(window.end):
        return store.peaks.for_window(window)
    history = store.intervals.history(window, before=datetime.max.replace(tzinfo=UTC))
    return simultaneous_peaks([o for per_unit in history.values() for o in per_unit], window)


def assess_run(
    config: LoadedConfig,
    store: Store,
    run_id: int,
    collected: Collected,
    *,
    window: Window,
    now: datetime,
    catalog: Catalog,
    series: bool = True,
) -> Assessment:
    """Assess the run's window once and save the findings. Without `series` the per-day
    accelerator-hours (daily chart, chip hours, training runs: report content only, no finding
    reads them) are not read: an hourly collection would otherwise sum every day of its windows
    again each hour."""
    keys = account_scope(store, collected)
    extra = extra_windows(config.rules.rules, window)
    windows = [window, *extra]
    aggregates = {
        w: Aggregates(
            totals=store.usage.totals(w, keys),
            peaks=store.usage.peaks(w, keys),
            # Summed in SQL with the day-by-day choice of the best billing source (export >
            # billing > inventory) and both reconciliations; the per account × chip × day series
            # feeds the chart and training-run detection (no per-day rows per sku and method).
            billed=store.usage.billed(w, BILLED_METRICS, keys),
            daily_hours=store.usage.daily_hours(w, keys) if series else (),
            daily_tokens=store.usage.daily_model_totals(w, EXPORT_MODEL_METRICS, keys),
        )
        for w in windows
    }
    util = config.app.estimates.utilization
    assessment = assess(
        window=window,
        now=now,
        accounts=collected.accounts,
        coverage=collected.coverage,
        aggregates=aggregates,
        rules=config.rules.rules,
        registry=config.registry,
        restricted=config.app.restricted_country_groups,
        catalog=catalog,
        band=(util.low, util.central, util.high),
        hour_sources=hour_sources(),
        coverage_by_window=earlier_coverage(
            store,
            collected,
            extra,
            window,
            timedelta(minutes=config.app.collection.max_sample_gap_minutes),
        ),
        simultaneous=simultaneous(store, window),
    )
    assessment = assessment.with_exports(store.exports.for_window(window))
    previous = store.findings.states(f.id for f in assessment.findings)
    states = lifecycle.advance(assessment.findings, previous, now)
    store.findings.save(assessment.findings, states, run_id)
    return assessment.with_states(states)
