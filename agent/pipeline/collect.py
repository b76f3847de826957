"""Collect: providers discover accounts, collectors read them, the store keeps what was read."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from computewatch.collectors.base import ApiCallCounter, CollectContext, Provider, UnitKey
from computewatch.collectors.exports.provider import ExportedRecords
from computewatch.collectors.registry import builtin
from computewatch.collectors.runner import CollectionResult, Progress, run_collection
from computewatch.collectors.sampling import close_billed_gaps
from computewatch.config.loader import LoadedConfig
from computewatch.domain import (
    SAMPLING_GAP,
    Account,
    CoverageEntry,
    Method,
    Observation,
    UsageRecord,
    Window,
)
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import UsageError
from computewatch.domain.timing import StageTiming
from computewatch.domain.window import day_start
from computewatch.pipeline.stages import record, stage
from computewatch.store import Store
from computewatch.store.sql import BATCH


@dataclass(frozen=True)
class Collected:
    """What a run read: the accounts, the coverage to judge by (units carried over included)."""

    accounts: tuple[Account, ...]
    coverage: tuple[CoverageEntry, ...]
    records_written: int


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


def check_collectors(wanted: set[str] | None) -> frozenset[str] | None:
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
    window: Window,
    now: datetime,
    store: Store,
    catalog: Catalog,
    only: frozenset[str] | None,
    until_read: set[str],
    writing: threading.Lock | None = None,
) -> CollectContext:
    """What collectors need from earlier runs: final days, sampled history, read times, and for
    a run limited to `only` some collectors, the others' latest coverage of the window (those of
    `until_read` that have none run too)."""
    carried = store.coverage.for_window(window) if only is not None else {}
    if only is not None:
        read = {unit[3] for unit in carried}
        only = only | {name for name in until_read if name not in read}
    final_days = {
        name: store.coverage.final_days(cls.provider, name, cls.final_after)
        for name, cls in builtin().collectors.items()
        if cls.final_after is not None
    }
    sampling = [name for name, cls in builtin().collectors.items() if cls.samples]
    reads, known_gaps = sampling_reads(store, sampling, window, now)
    derived = derived_through(store, window, sampling)
    history, since = recent_history(store, window, now, derived, set(reads))
    horizon = day_start(now) - timedelta(days=1)
    return CollectContext(
        window=window,
        now=now,
        catalog=catalog,
        final_days=final_days,
        history=history,
        history_since=since,
        older_history=lambda unit, ids: _locked(
            writing, lambda: store.intervals.older(window, now, horizon, unit, ids)
        ),
        derived_through=derived,
        reads=reads,
        known_gaps=known_gaps,
        max_sample_gap=timedelta(minutes=config.app.collection.max_sample_gap_minutes),
        only=only,
        carried=carried,
    )


def _locked(
    lock: threading.Lock | None, read: Callable[[], list[Observation]]
) -> list[Observation]:
    """A read a worker thread makes while the sink may be writing: SQLite may hold its
    exclusive lock for a whole large write (its page cache spills), longer than a reader waits,
    so the read waits for the write in this process instead."""
    if lock is None:
        return read()
    with lock:
        return read()


def recent_history(
    store: Store,
    window: Window,
    now: datetime,
    derived: dict[UnitKey, datetime],
    units: set[UnitKey],
) -> tuple[dict[UnitKey, list[Observation]], dict[UnitKey, datetime]]:
    """The sampled history a run starts from, without reading the whole month back: every
    unit's intervals observed since the start of yesterday, and for units an earlier read has
    not derived since then (`units`: every unit ever read) their older ones as well. Returns it
    with, per unit holding only the recent part, where that part starts."""
    horizon = day_start(now) - timedelta(days=1)
    recent = {u for u, at in derived.items() if at >= horizon}
    history = store.intervals.history(window, before=now, since=horizon)
    behind = {u[1] for u in units - recent}
    if behind:
        wanted = behind if len(behind) <= BATCH else None
        for unit, older in store.intervals.older_of(window, now, horizon, wanted).items():
            if unit not in recent:
                history[unit] = [*older, *history.get(unit, [])]
    return history, {u: horizon for u in recent}


def sampling_reads(
    store: Store, sampling: list[str], window: Window, now: datetime
) -> tuple[dict[UnitKey, list[datetime]], dict[UnitKey, list[tuple[datetime, datetime]]]]:
    """Read times and already-found gaps per sampled unit. A unit whose latest read was a
    successful read of this window carries that read's gaps forward and is measured from it
    (the gaps between earlier reads cannot change); only the others read their history."""
    carried, stale = store.coverage.sampling_state(sampling, window, now)
    reads = {unit: [at] for unit, (at, _) in carried.items()}
    if stale:
        history = store.coverage.read_times(sampling, window.start, now, {u[1] for u in stale})
        reads |= {unit: times for unit, times in history.items() if unit in stale}
    return reads, {unit: gaps for unit, (_, gaps) in carried.items()}


def derived_through(store: Store, window: Window, sampling: list[str]) -> dict[UnitKey, datetime]:
    """Sampled units whose days of `window` an earlier read derived (and when), except those
    whose stored figures are still a first read's launch-time estimate."""
    estimated = store.intervals.estimated_units(window, sampling)
    reads = store.coverage.last_good_reads(window, sampling)
    return {unit: at for unit, at in reads.items() if unit not in estimated}


def final_billing(store: Store) -> dict[str, dict[str, frozenset[date]]]:
    """Per provider, the billing collectors and the days the store holds in final form."""
    out: dict[str, dict[str, frozenset[date]]] = defaultdict(dict)
    for name, cls in builtin().collectors.items():
        if cls.bills_hours and cls.final_after is not None:
            out[cls.provider][name] = store.coverage.final_days(cls.provider, name, cls.final_after)
    return out


class StoreSink:
    """Writes units' records and observations as the units finish (the runner calls it from one
    thread), a bounded batch at a time: a run never holds more than `batch` items (plus one
    unit's), and a large organization is not one transaction per unit."""

    def __init__(
        self,
        store: Store,
        run_id: int,
        now: datetime,
        batch: int = 5000,
        writing: threading.Lock | None = None,
    ) -> None:
        self._store, self._run_id, self._now, self._batch = store, run_id, now, batch
        self._writing = writing or threading.Lock()
        self._records: list[UsageRecord] = []
        self._seen: list[Observation] = []
        # A billing export's records wait until its delivery has replaced the period's previous
        # figures (`write_exports`); they are bounded by accounts x days x chips/models.
        self._exported: list[UsageRecord] = []
        self.export_units: set[tuple[str, str]] = set()  # (region, account) of export units
        self.written = 0
        self.wall = self.cpu = 0.0  # time spent writing

    def __call__(self, items: Sequence[UsageRecord | Observation]) -> None:
        if isinstance(items, ExportedRecords):  # written in bulk once its period is replaced
            self.export_units.add((items.region, items.account_id))
            return
        for i in items:
            if isinstance(i, Observation):
                self._seen.append(i)
            elif i.method == Method.BILLING_EXPORT:
                self._exported.append(i)
            else:
                self._records.append(i)
        if len(self._records) + len(self._seen) >= self._batch:
            self.flush()

    def write_exports(self) -> None:
        """Write the billing exports' records, after `ExportRepo.replace_period`."""
        self._records, self._exported = [*self._records, *self._exported], []
        self.flush()

    def flush(self) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        with self._writing:
            if self._records:
                # Units never share a record key, so the sum over batches is the distinct count.
                self.written += self._store.usage.write(self._run_id, self._records, self._now)
            if self._seen:
                self._store.usage.write_observations(self._run_id, self._seen)
        self._records, self._seen = [], []
        self.wall += time.perf_counter() - wall
        self.cpu += time.thread_time() - cpu


def write_coverage(
    store: Store, run_id: int, result: CollectionResult, now: datetime
) -> list[CoverageEntry]:
    """Store the run's coverage; sampling gaps last, once this run's own billing reads count
    towards closing them. Returns the coverage to judge by (with units carried over)."""
    reads = [e for e in result.coverage if e.error_code != SAMPLING_GAP]
    store.coverage.write(run_id, reads, now)
    billed = final_billing(store)
    gaps = close_billed_gaps([e for e in result.coverage if e.error_code == SAMPLING_GAP], billed)
    store.coverage.write(run_id, gaps, now)
    result.coverage = [*reads, *gaps]
    return [*result.coverage, *close_billed_gaps(result.carried, billed)]


def collect(
    config: LoadedConfig,
    store: Store,
    run_id: int,
    *,
    window: Window,
    now: datetime,
    provider_list: list[Provider],
    catalog: Catalog,
    only: frozenset[str] | None,
    until_read: set[str],
    accounts: set[str] | None,
    progress: Progress | None,
) -> Collected:
    """Read every unit of the window and store records, observations, coverage and accounts."""
    writing = threading.Lock()
    ctx = collect_context(config, window, now, store, catalog, only, until_read, writing)
    sink = StoreSink(store, run_id, now, writing=writing)
    with stage("collection"):
        result = run_collection(provider_list, ctx, accounts, progress, sink=sink)
        sink.flush()
    for timing in result.stages:
        record(timing)
    wall, cpu = time.perf_counter(), time.process_time()
    for provider in provider_list:  # billing exports: a re-delivered period replaces its figures
        deliveries = provider.deliveries()
        if deliveries:
            figures = provider.figures(sink.export_units)
            sink.written += store.exports.replace(deliveries, run_id, now, accounts, figures)[1]
    sink.write_exports()
    coverage = write_coverage(store, run_id, result, now)
    store.usage.save_accounts(result.accounts)
    # Records were written unit by unit during the collection; coverage and accounts now.
    wall, cpu = sink.wall + time.perf_counter() - wall, sink.cpu + time.process_time() - cpu
    record(StageTiming("store", wall, cpu))
    return Collected(tuple(result.accounts), tuple(coverage), sink.written)
