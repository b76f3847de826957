"""Incremental collection: an hourly daemon that folds each read into the stored intervals and
re-derives only days a read can change stores exactly the figures of deriving the month at once
from every raw observation; on both backends, across day boundaries, a downtime and a restart."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from computewatch.collectors.aws.ec2 import proven_intervals
from computewatch.collectors.base import Target
from computewatch.collectors.intervals import interval_records
from computewatch.config.loader import load_config
from computewatch.domain import Account, Method, Observation, Window
from computewatch.engine.assess import Assessment
from computewatch.pipeline.audit import AuditRequest, run_audit
from computewatch.pipeline.jobs import collect_job
from computewatch.store import Store
from computewatch.store.schema import usage
from tests.helpers.fleet import Fleet, SimClock, fleet_config, install
from tests.helpers.paths import REPO

NOV = Window.month("2026-11")
H = timedelta(hours=1)


def stored(store: Store) -> dict[str, tuple[float, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(usage.c.key, usage.c.quantity, usage.c.method))
        return {k: (q, m) for k, q, m in rows}


def derived_at_once(store: Store, window: Window) -> dict[str, tuple[float, str]]:
    """The month derived in one go from every raw observation (what each hour used to do)."""
    by_unit: dict[tuple[str, str, str, str], list[Observation]] = defaultdict(list)
    for o in store.usage.observations(window, before=window.end + timedelta(days=1)):
        by_unit[(o.provider, o.account_id, o.region, o.collector)].append(o)
    out = {}
    for (provider, account, region, collector), obs in by_unit.items():
        target = Target(Account(provider, account, ""), region, None)  # type: ignore[arg-type]
        for r in interval_records(target, collector, proven_intervals(obs), window, Method.SAMPLED):
            out[r.key] = (r.quantity, str(r.method))
    return out


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_hour_by_hour_equals_the_month_at_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue(f"{'sqlite' if backend == 'sqlite' else 'postgres'}_url"))
    clock = SimClock(NOV.start + timedelta(minutes=5))
    undo = install(Fleet(accounts=3, per_region=4, clock=clock))
    try:
        config = fleet_config(tmp_path, url, REPO / "config" / "rules" / "example.yaml")
        # Hourly through three days, down from 30 h to 41 h (a restart: jobs keep no state).
        hours = [h for h in range(0, 72) if not 30 <= h < 41]
        for h in hours:
            clock.now = NOV.start + h * H + timedelta(minutes=5)
            collect_job(config, clock)
        with Store.open(url) as store:
            got = stored(store)
            want = derived_at_once(store, NOV)
            assert store.intervals.count() < len(store.usage.observations(NOV, NOV.end))
    finally:
        undo()
    assert want and got == want
    # Figures on days the runs re-derived many times and on days they left alone both match;
    # and nothing is left as a first read's estimate.
    assert {m for _, m in got.values()} == {"sampled"}


def test_the_hourly_job_finds_what_an_audit_finds_without_the_report_series(
    tmp_path: Path, sqlite_url: str
) -> None:
    """The hourly collection skips the per-day series only reports show (daily chart, training
    runs); its findings are an audit's of the same moment, figure for figure."""
    clock = SimClock(NOV.start + timedelta(minutes=5))
    undo = install(Fleet(accounts=3, per_region=4, clock=clock))
    try:
        config = fleet_config(tmp_path, sqlite_url, REPO / "config" / "rules" / "example.yaml")
        for h in range(0, 27):  # hourly, past a day boundary
            clock.now = NOV.start + h * H + timedelta(minutes=5)
            hourly = collect_job(config, clock).assessment
        request = AuditRequest(
            window=NOV, now=clock.now, out_dir=tmp_path / "out", formats=[], bundle=False
        )
        audit = run_audit(load_config(config), request).assessment
    finally:
        undo()

    def judged(a: Assessment) -> list[tuple[object, ...]]:
        return sorted((f.rule.id, f.scope_key, f.status, f.value, f.detail) for f in a.findings)

    assert hourly.findings and judged(hourly) == judged(audit)
    assert audit.daily_hours and not hourly.daily_hours
