"""Runs every collector over every target with a bounded worker pool.

A SourceError in one unit becomes a failed CoverageEntry; the other units go on. A run limited to
some collectors (`CollectContext.only`) still discovers every account, and reports each skipped
unit's latest coverage of the window as `carried`, so the evaluation never mistakes "not read in
this run" for "nothing there".
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from computewatch.collectors.base import (
    CollectContext,
    Collector,
    Provider,
    Target,
    unit_coverage,
)
from computewatch.collectors.registry import Registry, builtin
from computewatch.collectors.sampling import carried_entries, gap_entries
from computewatch.domain import Account, CoverageEntry, Observation, UsageRecord
from computewatch.domain.errors import SourceError
from computewatch.domain.timing import StageTiming

log = logging.getLogger(__name__)

Progress = Callable[[int, int, Target, str, CoverageEntry], None]
# Receives each unit's records and observations as the unit finishes (e.g. writes them to the
# store), so a run holds one unit's items at a time, not the organization's.
Sink = Callable[[Sequence[UsageRecord | Observation]], None]


@dataclass
class CollectionResult:
    # Without a sink: every unit's items (with one: none, the sink has had them).
    records: list[UsageRecord] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    coverage: list[CoverageEntry] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    # Units this run skipped (other schedule): their latest entry, not stored again.
    carried: list[CoverageEntry] = field(default_factory=list)
    # Discovery per provider; per collector, wall and CPU time summed over its units.
    stages: list[StageTiming] = field(default_factory=list)


def _coverage(
    target: Target, collector: str, ctx: CollectContext, error: SourceError | None
) -> CoverageEntry:
    period = (ctx.window.start, ctx.window.end)
    if error is None:
        return unit_coverage(target, collector, period)
    return unit_coverage(target, collector, period, error.code, error.message)


def run_collection(
    provider_list: list[Provider],
    ctx: CollectContext,
    only_accounts: set[str] | None = None,
    progress: Progress | None = None,
    registry: Registry | None = None,
    sink: Sink | None = None,
) -> CollectionResult:
    """Every enabled collector of every provider over its targets (`registry`: the built-in
    collectors unless given); each unit's items go to `sink` when given, else into the result."""
    known = registry or builtin()
    result = CollectionResult()
    for provider in provider_list:
        names = provider.enabled_collectors(known.collectors_for(provider.name))
        instances: list[Collector] = [known.collector(n)() for n in names]
        per_unit = [c.name for c in instances if c.scope == "account-region"]
        wall, cpu = time.perf_counter(), time.process_time()  # no worker runs yet
        discovery = provider.discover(ctx, per_unit)
        result.stages.append(
            StageTiming(
                f"discovery {provider.name}",
                time.perf_counter() - wall,
                time.process_time() - cpu,
            )
        )
        targets = discovery.targets
        if only_accounts is not None:
            targets = [t for t in targets if t.account.account_id in only_accounts]
            for t in discovery.targets:
                if t.account.account_id not in only_accounts:
                    _release(t)
            discovery.failures = [f for f in discovery.failures if f.account_id in only_accounts]
            discovery.accounts = [a for a in discovery.accounts if a.account_id in only_accounts]
        result.accounts.extend(discovery.accounts)
        result.coverage.extend(discovery.failures)
        overrides = provider.concurrency_limits()
        limits = {
            c.name: threading.Semaphore(n)
            for c in instances
            if (n := overrides.get(c.name, c.max_concurrency or 0)) > 0
        }
        every = [(t, c) for t in targets for c in instances if c.scope == "account-region"]
        every += [
            (t, c) for t in discovery.org_targets for c in instances if c.scope == "organization"
        ]
        skip = {c.name for c in instances if ctx.only is not None and c.name not in ctx.only}
        units = [(t, c) for t, c in every if c.name not in skip]
        for t, c in every:
            if c.name in skip:
                result.carried += carried_entries(t, c.name, ctx)
        # A target's clients are released as soon as its last unit finishes (memory per account
        # stays bounded however large the organization); targets with no unit at the end.
        pending = Counter(id(t) for t, _ in units)
        done = 0
        busy: dict[str, list[float]] = {c.name: [0.0, 0.0] for c in instances}
        workers = provider.max_workers()
        # Units are handed to the pool a window at a time, in order (an account's units together):
        # finished units wait for this thread (which writes their items to the sink), so workers
        # never run more than the window ahead of it and the items, clients and futures held at
        # once do not grow with the organization.
        todo = iter(units)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect") as pool:
            futures: dict[Future[_UnitResult], tuple[Target, Collector]] = {}
            while True:
                while len(futures) < workers * _WINDOW_PER_WORKER:
                    unit = next(todo, None)
                    if unit is None:
                        break
                    t, c = unit
                    futures[pool.submit(_timed_unit, t, c, ctx, limits.get(c.name))] = unit
                if not futures:
                    break
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    target, collector = futures.pop(fut)  # the futures map keeps no items
                    items, entries, unit_wall, unit_cpu = fut.result()
                    busy[collector.name][0] += unit_wall
                    busy[collector.name][1] += unit_cpu
                    if sink is not None:
                        if items:
                            sink(items)
                    else:
                        for item in items:
                            if isinstance(item, Observation):
                                result.observations.append(item)
                            else:
                                result.records.append(item)
                    result.coverage.extend(entries)
                    entry = entries[-1]
                    done += 1
                    pending[id(target)] -= 1
                    if not pending[id(target)]:
                        _release(target)
                    if progress:
                        progress(done, len(units), target, collector.name, entry)
                    del items, fut
        for t in [*discovery.targets, *discovery.org_targets]:
            _release(t)
        result.stages += [
            StageTiming(f"collection {name}", w, c) for name, (w, c) in busy.items() if w
        ]
    return result


_UnitResult = tuple[Sequence[UsageRecord | Observation], list[CoverageEntry], float, float]
# Units in flight (running or waiting for a worker) per worker thread.
_WINDOW_PER_WORKER = 4


def _timed_unit(
    target: Target, collector: Collector, ctx: CollectContext, limit: threading.Semaphore | None
) -> _UnitResult:
    """`collect_unit`, with its wall time and its worker thread's CPU time."""
    wall, cpu = time.perf_counter(), time.thread_time()
    items, entries = collect_unit(target, collector, ctx, limit)
    return items, entries, time.perf_counter() - wall, time.thread_time() - cpu


def _release(target: Target) -> None:
    if target.clients is not None:  # a test provider may give none
        target.clients.release()


def collect_unit(
    target: Target,
    collector: Collector,
    ctx: CollectContext,
    limit: threading.Semaphore | None = None,
) -> tuple[Sequence[UsageRecord | Observation], list[CoverageEntry]]:
    """One unit's items and coverage: sampling gaps first, the read's own entry last. A
    SourceError is the unit's failed entry (with the source's error code) and no items."""
    try:
        if limit is None:
            records = collector.collect(target, ctx)
        else:
            with limit:
                records = collector.collect(target, ctx)
    except SourceError as exc:
        log.info(
            "%s %s %s: %s %s",
            collector.name,
            target.account.account_id,
            target.region,
            exc.code,
            exc.message,
        )
        return [], [_coverage(target, collector.name, ctx, exc)]
    gaps = gap_entries(target, collector.name, ctx) if collector.samples else []
    return records, [*gaps, _coverage(target, collector.name, ctx, None)]
