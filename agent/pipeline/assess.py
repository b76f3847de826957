"""Assess: the store's aggregates for every window the rules need, judged once by the engine;
the findings' lifecycle is carried forward and persisted."""

from __future__ import annotations

from datetime import datetime

from computewatch.config.loader import LoadedConfig
from computewatch.domain import Window
from computewatch.domain.catalog import Catalog
from computewatch.engine import lifecycle
from computewatch.engine.assess import Aggregates, Assessment, assess, extra_windows
from computewatch.engine.usage import BILLED_METRICS
from computewatch.pipeline.collect import Collected
from computewatch.store import Store


def account_scope(store: Store, collected: Collected) -> list[tuple[str, str]] | None:
    """The run's accounts for the aggregates' filter, or None when they are every account the
    store knows (no IN list of a thousand accounts; the engine ignores rows of other accounts)."""
    keys = [(a.provider, a.account_id) for a in collected.accounts]
    return None if set(store.usage.account_names()) <= set(keys) else keys


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
    keys = account_scope(store, collected)
    windows = [window, *extra_windows(config.rules.rules, window)]
    aggregates = {
        w: Aggregates(
            totals=store.usage.totals(w, keys),
            peaks=store.usage.peaks(w, keys),
            billed=store.usage.billed(w, BILLED_METRICS, keys),
            daily_hours=store.usage.daily_hours(w, keys) if w == window else (),
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
    )
    previous = store.findings.states(f.id for f in assessment.findings)
    states = lifecycle.advance(assessment.findings, previous, now)
    store.findings.save(assessment.findings, states, run_id)
    return assessment.with_states(states)
