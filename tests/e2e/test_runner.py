"""The collection runner: bounded concurrency per collector, and one failure never aborts the rest."""

import threading
import time
from typing import Any, ClassVar

from computewatch.collectors.base import (
    ApiCallCounter,
    CollectContext,
    Collector,
    Discovery,
    Permissions,
    Provider,
    Target,
)
from computewatch.collectors.registry import Registry
from computewatch.collectors.runner import run_collection
from computewatch.domain import (
    Account,
    CoverageStatus,
    Dimensions,
    Method,
    Metric,
    UsageRecord,
    Window,
)
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import SourceError

OCT = Window.month("2026-10")


class SlowCollector(Collector):
    """Records how many of its units run at the same moment."""

    name = "test.slow"
    provider = "test"
    permissions = Permissions(member=("test:Read",))
    metrics = (Metric.ACCELERATOR_HOURS,)
    max_concurrency: ClassVar[int | None] = 2
    lock = threading.Lock()
    running = 0
    peak = 0

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        cls = type(self)
        with cls.lock:
            cls.running += 1
            cls.peak = max(cls.peak, cls.running)
        time.sleep(0.05)
        with cls.lock:
            cls.running -= 1
        if target.account.account_id == "bad":
            raise SourceError("test", "AccessDenied", "no")
        return []


class FleetProvider(Provider):
    name = "test"
    permissions = Permissions()

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits

    @classmethod
    def from_config(cls, section: Any, counter: ApiCallCounter) -> "FleetProvider":
        return cls({})

    def discover(self, ctx: CollectContext, collector_names: list[str]) -> Discovery:
        accounts = [Account("test", a) for a in ("a", "b", "bad", "c", "d", "e")]
        return Discovery(
            targets=[Target(a, "r1", clients=None) for a in accounts], accounts=accounts
        )  # type: ignore[arg-type]

    def max_workers(self) -> int:
        return 8

    def concurrency_limits(self) -> dict[str, int]:
        return self.limits


def run(limits: dict[str, int], catalog: Catalog) -> int:
    SlowCollector.peak = 0
    ctx = CollectContext(window=OCT, now=OCT.end, catalog=catalog)
    registry = Registry.of([FleetProvider, SlowCollector])
    result = run_collection([FleetProvider(limits)], ctx, registry=registry)
    failed = [c for c in result.coverage if c.status is CoverageStatus.FAILED]
    assert [c.account_id for c in failed] == ["bad"]
    assert len(result.coverage) == 6  # every other unit was still read
    return SlowCollector.peak


def test_collector_concurrency_is_bounded(catalog: Catalog) -> None:
    assert run({}, catalog) == 2  # the collector's own limit under an 8-worker pool
    assert run({"test.slow": 1}, catalog) == 1  # a configured override
    assert run({"test.slow": 6}, catalog) > 2


class CountingCollector(Collector):
    """One record per unit, so what reaches the sink can be checked unit by unit."""

    name = "test.count"
    provider = "test"
    permissions = Permissions(member=("test:Read",))
    metrics = (Metric.ACCELERATOR_HOURS,)

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        if target.account.account_id == "bad":
            raise SourceError("test", "AccessDenied", "no")
        return [
            UsageRecord(
                "test",
                target.account.account_id,
                target.region,
                self.name,
                Metric.ACCELERATOR_HOURS,
                "accelerator-hours",
                Dimensions(sku="x", accelerator="H100"),
                OCT.start,
                OCT.end,
                1.0,
                Method.BILLING,
            )
        ]


def test_a_sink_receives_each_units_items_and_the_result_keeps_none(catalog: Catalog) -> None:
    ctx = CollectContext(window=OCT, now=OCT.end, catalog=catalog)
    registry = Registry.of([FleetProvider, CountingCollector])
    batches: list[list[str]] = []
    result = run_collection(
        [FleetProvider({})],
        ctx,
        registry=registry,
        sink=lambda items: batches.append([i.account_id for i in items]),
    )
    assert result.records == [] and result.observations == []
    # One call per unit read (the failed unit has none), each with that unit's record only.
    assert sorted(batches) == [["a"], ["b"], ["c"], ["d"], ["e"]]
    assert len(result.coverage) == 6


class BigFleetProvider(FleetProvider):
    """Many small targets on a two-worker pool."""

    def discover(self, ctx: CollectContext, collector_names: list[str]) -> Discovery:
        accounts = [Account("test", f"acct-{i:03d}") for i in range(300)]
        return Discovery(
            targets=[Target(a, "r1", clients=None) for a in accounts], accounts=accounts
        )  # type: ignore[arg-type]

    def max_workers(self) -> int:
        return 2


class StartCounter(CountingCollector):
    started = 0
    lock = threading.Lock()

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        with StartCounter.lock:
            StartCounter.started += 1
        return super().collect(target, ctx)


def test_workers_never_run_more_than_a_window_ahead_of_the_sink(catalog: Catalog) -> None:
    """Units go to the pool a window at a time: whatever the organization's size, the items
    waiting for the sink (and the clients and futures behind them) stay bounded."""
    ctx = CollectContext(window=OCT, now=OCT.end, catalog=catalog)
    registry = Registry.of([BigFleetProvider, StartCounter])
    StartCounter.started = 0
    ahead: list[int] = []

    def sink(items: object) -> None:
        with StartCounter.lock:
            ahead.append(StartCounter.started - len(ahead))

    run_collection([BigFleetProvider({})], ctx, registry=registry, sink=sink)
    assert len(ahead) == 300
    assert max(ahead) <= 2 * 4  # the window: four units per worker
