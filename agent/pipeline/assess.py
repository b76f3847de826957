"""Assess: the store's aggregates for every window the rules need, judged once by the engine;
the findings' lifecycle is carried forward and persisted."""

from __future__ import annotations

from datetime import UTC, datetime

from computewatch.collectors.registry import builtin
from computewatch.config.loader import LoadedConfig
from computewatch.domain import Metric, Window
from computewatch.domain.catalog import Catalog
from computewatch.engine import lifecycle
from computewatch.engine.assess import Aggregates, Assessment, assess, extra_windows
from computewatch.engine.usage import BILLED_METRICS
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


def assess_run(
    config: LoadedConfig,
    store: Store,
    run_id: int,
    collected: Collected,
    *,
    window: Window,
    now: datetime,
    catalog: Catalog,
) -> Assessment:
    keys = [(a.provider, a.account_id) for a in collected.accounts]
    windows = [window, *extra_windows(config.rules.rules, window)]
    aggregates = {
        w: Aggregates(
            totals=store.usage.totals(w, keys),
            daily=store.usage.daily_totals(w, BILLED_METRICS, keys),
            peaks=store.usage.peaks(w, keys),
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
        # Every stored observation is evidence of running time in the window, including those
        # made after an as-of `now` (a re-audit of a past month); hence no cut-off at `now`.
        observations=store.usage.observations(window, before=datetime.max.replace(tzinfo=UTC)),
    )
    assessment = assessment.with_exports(store.exports.for_window(window))
    previous = store.findings.states(f.id for f in assessment.findings)
    states = lifecycle.advance(assessment.findings, previous, now)
    store.findings.save(assessment.findings, states, run_id)
    return assessment.with_states(states)
