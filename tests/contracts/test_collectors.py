"""The collector contract, for every registered collector, against the emulated clouds.

Parametrized over the registry, so a new collector is covered without touching this file, and
fails until it has a row in SCENARIOS (which emulator, which accounts). For each collector:
(a) a unit whose credentials are denied becomes one FAILED coverage entry carrying the cloud's own
    error code, and yields no records: unknown, never zero;
(b) collecting the same window twice yields the same record keys and quantities (idempotent);
(c) every API call is counted per operation (ApiCallCounter; as many as the cloud was sent) and
    is one of the collector's declared permissions;
(d) every metric it emits is one it declares.
The clouds are seeded once and only read; a collector is called directly on one unit, never
through a full audit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import pytest

from computewatch.collectors.azure.common import rbac_action
from computewatch.collectors.base import ApiCallCounter, CollectContext, Collector
from computewatch.collectors.registry import builtin
from computewatch.collectors.runner import collect_unit
from computewatch.demo.emulated_aws import EmulatedAws, aws_environment
from computewatch.demo.emulated_azure import EmulatedAzure
from computewatch.domain import CoverageEntry, CoverageStatus, Metric, UsageRecord
from computewatch.domain.catalog import Catalog
from tests.helpers.azure import NOW, SUB_AI, SUB_DENIED, SUB_GPU, TENANT, WINDOW
from tests.helpers.collector_units import AwsUnits, AzureUnits, Units
from tests.helpers.export_units import ExportUnits


@dataclass(frozen=True)
class Scenario:
    cloud: Literal["aws", "azure", "exports"]
    readable: str  # the account whose unit has usage to read
    denied: str  # the account whose credentials are refused every read
    denied_code: str  # what the emulated cloud answers a refused call


AWS_DENIED = "AccessDenied"
AZURE_DENIED = "AuthorizationFailed"
SCENARIOS: dict[str, Scenario] = {
    "aws.ec2": Scenario("aws", "reader", "denied", AWS_DENIED),
    "aws.costexplorer": Scenario("aws", "reader", "denied", AWS_DENIED),
    "aws.bedrock": Scenario("aws", "reader", "denied", AWS_DENIED),
    "aws.sagemaker": Scenario("aws", "reader", "denied", AWS_DENIED),
    "azure.vms": Scenario("azure", SUB_GPU, SUB_DENIED, AZURE_DENIED),
    "azure.openai": Scenario("azure", SUB_AI, SUB_DENIED, AZURE_DENIED),
    "exports.billing": Scenario("exports", "reader", "denied", AWS_DENIED),
}
COLLECTORS = builtin().collector_names()


@dataclass
class Run:
    records: list[UsageRecord]
    coverage: list[CoverageEntry]
    calls: dict[str, int]  # as counted, "service:Operation"
    sent: int  # requests the cloud received meanwhile


@pytest.fixture(scope="module")
def aws_units(moto_server: EmulatedAws) -> Iterator[AwsUnits]:
    moto_server.reset()
    with aws_environment(moto_server.endpoint, "unused", "unused"):
        yield AwsUnits(moto_server)
    moto_server.reset()


@pytest.fixture(scope="module")
def exports_units(aws_units: AwsUnits) -> ExportUnits:
    """A bucket with the CUR 2.0 fixture in the same emulated AWS (IAM enforced)."""
    return ExportUnits(aws_units.cloud)


@pytest.fixture(scope="module")
def azure_units() -> Iterator[AzureUnits]:
    with EmulatedAzure(TENANT) as emulator:
        yield AzureUnits(emulator, WINDOW, NOW)


def scenario_of(name: str) -> Scenario:
    if name not in SCENARIOS:
        pytest.fail(f"collector {name} has no scenario in {__name__}.SCENARIOS")
    return SCENARIOS[name]


def units_for(request: pytest.FixtureRequest, scenario: Scenario) -> Units:
    units: Units = request.getfixturevalue(f"{scenario.cloud}_units")
    return units


def run(units: Units, cls: type[Collector], account: str, catalog: Catalog) -> Run:
    """One collection of one unit by a fresh collector instance, its calls counted."""
    counter = ApiCallCounter()
    target = units.target(cls, account, counter)
    before = units.requests()
    items, coverage = collect_unit(target, cls(), CollectContext(units.window, units.now, catalog))
    records = [i for i in items if isinstance(i, UsageRecord)]
    return Run(records, coverage, counter.snapshot(), units.requests() - before)


def actions(cls: type[Collector], calls: dict[str, int]) -> set[str]:
    """The permissions the counted calls needed (an Azure call as the RBAC action ARM checks)."""
    if cls.provider == "azure":
        return {rbac_action(op.removeprefix("arm:")).lower() for op in calls}
    return set(calls)


def declared(cls: type[Collector]) -> set[str]:
    if cls.provider == "azure":
        return {a.lower() for a in cls.permissions.actions}
    return set(cls.permissions.actions)


@pytest.fixture(scope="module")
def readable_runs() -> dict[str, tuple[Run, Run]]:
    """Per collector, its two collections of the readable unit (computed once, then shared)."""
    return {}


def twice(
    name: str, request: pytest.FixtureRequest, catalog: Catalog, cache: dict[str, tuple[Run, Run]]
) -> tuple[Run, Run]:
    if name not in cache:
        scenario = scenario_of(name)
        units = units_for(request, scenario)
        cls = builtin().collector(name)
        cache[name] = (
            run(units, cls, scenario.readable, catalog),
            run(units, cls, scenario.readable, catalog),
        )
    return cache[name]


def test_every_collector_has_a_scenario() -> None:
    assert sorted(SCENARIOS) == COLLECTORS


@pytest.mark.parametrize("name", COLLECTORS)
def test_a_denied_unit_is_failed_coverage_with_the_clouds_code(
    name: str, request: pytest.FixtureRequest, catalog: Catalog
) -> None:
    scenario = scenario_of(name)
    cls = builtin().collector(name)
    result = run(units_for(request, scenario), cls, scenario.denied, catalog)
    assert result.records == []
    (entry,) = result.coverage
    assert (entry.collector, entry.status, entry.error_code) == (
        name,
        CoverageStatus.FAILED,
        scenario.denied_code,
    )
    # The refusal is the cloud's own, for an action the collector declares.
    assert any(a.lower() in entry.error_message.lower() for a in cls.permissions.actions), (
        entry.error_message
    )
    assert result.calls and actions(cls, result.calls) <= declared(cls)


@pytest.mark.parametrize("name", COLLECTORS)
def test_collecting_the_same_window_twice_gives_the_same_records(
    name: str,
    request: pytest.FixtureRequest,
    catalog: Catalog,
    readable_runs: dict[str, tuple[Run, Run]],
) -> None:
    first, second = twice(name, request, catalog, readable_runs)
    assert first.records, f"the {name} scenario must yield records"
    assert [c.status for c in first.coverage][-1] is CoverageStatus.OK
    keys = Counter(r.key for r in first.records)
    assert max(keys.values()) == 1, "one record per key: the store replaces by key"
    assert sorted((r.key, r.quantity) for r in first.records) == sorted(
        (r.key, r.quantity) for r in second.records
    )
    cls = builtin().collector(name)
    assert all(
        r.collector == name and r.provider in (cls.record_providers or (cls.provider,))
        for r in first.records
    )


@pytest.mark.parametrize("name", COLLECTORS)
def test_api_calls_are_counted_and_declared(
    name: str,
    request: pytest.FixtureRequest,
    catalog: Catalog,
    readable_runs: dict[str, tuple[Run, Run]],
) -> None:
    cls = builtin().collector(name)
    for result in twice(name, request, catalog, readable_runs):
        assert result.calls and min(result.calls.values()) > 0
        assert sum(result.calls.values()) == result.sent, "every request the cloud saw is counted"
        undeclared = actions(cls, result.calls) - declared(cls)
        assert not undeclared, f"{name} called what it does not declare: {sorted(undeclared)}"


@pytest.mark.parametrize("name", COLLECTORS)
def test_every_emitted_metric_is_declared(
    name: str,
    request: pytest.FixtureRequest,
    catalog: Catalog,
    readable_runs: dict[str, tuple[Run, Run]],
) -> None:
    first, _ = twice(name, request, catalog, readable_runs)
    emitted: set[Metric] = {r.metric for r in first.records}
    assert emitted <= set(builtin().collector(name).metrics)
    assert emitted, f"the {name} scenario must emit metrics"
