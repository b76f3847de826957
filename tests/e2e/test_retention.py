"""Retention: compacting a sealed month (its raw observations and superseded per-read coverage)
changes no figure the store gives afterwards, and the daemon collecting on into the next month
stores exactly what a twin store that was never compacted stores; a process SIGKILLed in the
middle of compacting leaves the month as it was. On both backends."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from computewatch.domain import Window, utc
from computewatch.pipeline.jobs import collect_job
from computewatch.pipeline.operations import compact_store
from computewatch.store import ProducedReport, Store
from computewatch.store.schema import coverage, observations, usage
from tests.helpers.fleet import Fleet, SimClock, fleet_config, install
from tests.helpers.paths import REPO

OCT, NOV = Window.month("2026-10"), Window.month("2026-11")
H = timedelta(hours=1)
RULES = REPO / "config" / "rules" / "example.yaml"


def snapshot(store: Store) -> dict[str, object]:
    """Everything later runs and reports read of the store."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(usage.c.key, usage.c.quantity, usage.c.method)).all()
    return {
        "usage": sorted(rows),
        "totals": store.usage.totals(OCT),
        "peaks": store.usage.peaks(OCT),
        "billed": store.usage.billed(OCT, ["accelerator_hours"]),
        "history": store.intervals.history(NOV, utc(2026, 11, 2)),
        "carried": store.coverage.for_window(OCT),
        "reads": store.coverage.read_times(["aws.ec2"], NOV.start, utc(2026, 11, 2)),
        "latest": store.coverage.latest(),
        "errors": store.coverage.api_errors(),
    }


def count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def sealed(url: str) -> None:
    with Store.open(url) as store:
        store.reports.record(
            ProducedReport(
                "monthly", "2026-10", OCT.start, OCT.end, utc(2026, 11, 1, 6), "CW-OCT", ""
            )
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_compaction_loses_and_duplicates_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    url = str(request.getfixturevalue(f"{backend}_url"))
    twin = sqlite_url.replace("store.db", "twin.db")
    clock = SimClock(OCT.end - 12 * H)
    undo = install(Fleet(accounts=2, per_region=3, clock=clock))
    try:
        configs = [fleet_config(tmp_path / n, u, RULES) for n, u in (("a", url), ("b", twin))]
        hours = [OCT.end - 12 * H + h * H + timedelta(minutes=5) for h in range(0, 18)]
        for clock.now in hours[:14]:
            for config in configs:
                collect_job(config, clock)
        for u in (url, twin):
            sealed(u)
        with Store.open(url) as store:
            before = snapshot(store)
            obs = count(store, observations)
            rows = count(store, coverage)
        # Not yet: the grace period after the report has not passed.
        assert compact_store(configs[0], now=utc(2026, 11, 1, 7)) == []
        # A process killed halfway through compacting changes nothing.
        killed = subprocess.run(
            [sys.executable, "-c", KILLED_MIDWAY, str(configs[0])], cwd=REPO, check=False
        )
        assert killed.returncode == -9
        Store.dispose(url)
        with Store.open(url) as store:
            assert count(store, observations) == obs and count(store, coverage) == rows
            assert store.retention.compacted() == []
        done = compact_store(configs[0], now=utc(2026, 11, 9))
        assert [(c.month, c.report_id) for c in done] == [("2026-10", "CW-OCT")]
        assert done[0].observations_deleted > 0 and done[0].coverage_deleted > 0
        with Store.open(url) as store:
            assert snapshot(store) == before
            assert count(store, observations) < obs and count(store, coverage) < rows
            assert [c.month for c in store.retention.compacted()] == ["2026-10"]
        assert compact_store(configs[0], now=utc(2026, 11, 10)) == []  # once
        for clock.now in hours[14:]:  # the daemon carries on into November
            for config in configs:
                collect_job(config, clock)
        with Store.open(url) as store, Store.open(twin) as other:
            assert snapshot(store)["usage"] == snapshot(other)["usage"]
    finally:
        undo()


KILLED_MIDWAY = """
import os, signal, sys
from computewatch.domain import utc
from computewatch.pipeline.operations import compact_store
from computewatch.store import retention

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # after the deletes, before the commit

retention._count = die
compact_store(sys.argv[1], now=utc(2026, 11, 9))
"""
