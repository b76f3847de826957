"""What an operator asks: the daemon's state file, health, the figures /metrics exports, and the
`status` summary.

Everything is read from the store on request, so a scrape or a `status` reflects what was
committed, whichever process committed it. Formatting is the app's; these are the data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs

from computewatch.config.loader import LoadedConfig
from computewatch.domain import CoverageEntry, CoverageStatus, FindingStatus, RunStatus
from computewatch.pipeline.loading import load_config
from computewatch.store import ProducedReport, RunRow, Store
from computewatch.store.runs import RunningRun

# Runs that read something: coverage may have gaps, but not every unit failed.
GOOD_RUNS = (RunStatus.COMPLETE, RunStatus.PARTIAL, RunStatus.BREACH)
GapKey = tuple[str, str, str]  # provider, collector, error code


# -- the daemon's state file --------------------------------------------------------------------
def default_state_file() -> Path:
    return Path(platformdirs.user_state_dir("computewatch")) / "daemon-state.json"


def state_file(config: LoadedConfig) -> Path:
    """Where the daemon of this config writes its state (pid, start, next runs)."""
    given = config.app.daemon.state_file
    return config.relative(given) if given else default_state_file()


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically replace the state file (never a half-written one for `status` to read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- health and the figures /metrics exports ----------------------------------------------------
@dataclass(frozen=True)
class Health:
    healthy: bool
    last_success: datetime | None
    reason: str


def _health(last: datetime | None, now: datetime, stale_after: timedelta) -> Health:
    if last is None:
        return Health(False, None, "no successful collection yet")
    if now - last > stale_after:
        return Health(False, last, f"last successful collection {last.isoformat()} is stale")
    return Health(True, last, "ok")


def health(store: Store, now: datetime, stale_after: timedelta) -> Health:
    """Healthy while the last successful collection is at most `stale_after` old."""
    return _health(store.runs.stats(GOOD_RUNS).last_success, now, stale_after)


def check_health(store_url: str, now: datetime, stale_after: timedelta) -> Health:
    with Store.open(store_url) as store:
        return health(store, now, stale_after)


@dataclass(frozen=True)
class Figures:
    """The operator's numbers at one moment (what /metrics exports)."""

    runs_by_status: dict[RunStatus, int]
    api_calls: dict[str, int]  # by operation, over all runs
    api_errors: dict[GapKey, int]  # every failed read, over all runs
    coverage_gaps: dict[GapKey, int]  # units whose latest read failed
    open_findings: dict[FindingStatus, int]
    outbox_pending: int
    health: Health


def latest_gaps(coverage: list[tuple[CoverageEntry, datetime]]) -> dict[GapKey, int]:
    gaps: dict[GapKey, int] = {}
    for entry, _ in coverage:
        if entry.status is not CoverageStatus.OK:
            key = (entry.provider, entry.collector, entry.error_code or "unknown")
            gaps[key] = gaps.get(key, 0) + 1
    return gaps


def figures(store_url: str, now: datetime, stale_after: timedelta) -> Figures:
    with Store.open(store_url) as store:
        stats = store.runs.stats(GOOD_RUNS)
        return Figures(
            runs_by_status=stats.by_status,
            api_calls=stats.api_calls,
            api_errors=store.coverage.api_errors(),
            coverage_gaps=latest_gaps(store.coverage.latest()),
            open_findings=store.findings.open_by_status(),
            outbox_pending=len(store.outbox.pending()),
            health=_health(stats.last_success, now, stale_after),
        )


# -- `computewatch status` ----------------------------------------------------------------------
@dataclass(frozen=True)
class Status:
    last_run: RunRow | None
    last_success: datetime | None
    coverage: list[tuple[CoverageEntry, datetime]]  # each unit's latest read, when recorded
    open_findings: dict[FindingStatus, int]
    outbox_pending: int
    reports: list[ProducedReport]
    daemon: dict[str, Any] | None  # the state file, if a daemon runs (or ran) here
    runs_by_status: dict[RunStatus, int] = field(default_factory=dict)
    abandoned: list[RunRow] = field(default_factory=list)  # newest first: processes that died
    running: list[RunningRun] = field(default_factory=list)  # newest first, with their host


def status_of(store: Store, daemon: dict[str, Any] | None) -> Status:
    stats = store.runs.stats(GOOD_RUNS)
    return Status(
        runs_by_status=stats.by_status,
        abandoned=store.runs.latest_with_status(RunStatus.ABANDONED),
        running=store.runs.running(),
        last_run=stats.last_run,
        last_success=stats.last_success,
        coverage=store.coverage.latest(),
        open_findings=store.findings.open_by_status(),
        outbox_pending=len(store.outbox.pending()),
        reports=store.reports.produced(),
        daemon=daemon,
    )


def read_status(config_path: Path, store_url: str | None = None) -> Status:
    """The store of a config (or `store_url`) and the state file of its daemon."""
    config = load_config(config_path)
    daemon = read_state(state_file(config))
    with Store.open(store_url or config.app.store.resolved_url()) as store:
        return status_of(store, daemon)
