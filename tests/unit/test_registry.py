"""The collector registry: found from declarations, lazy, frozen, and strict about names."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest

from computewatch.collectors.base import (
    ApiCallCounter,
    CollectContext,
    Collector,
    Discovery,
    Permissions,
    Provider,
    Target,
)
from computewatch.collectors.registry import BUILTIN_MODULES, DeclarationError, Registry, builtin
from computewatch.domain import Metric, Observation, UsageRecord
from tests.helpers.paths import REPO


class DemoProvider(Provider):
    name = "demo"
    permissions = Permissions(member=("demo:List",))

    @classmethod
    def from_config(cls, section: Any, counter: ApiCallCounter) -> Provider:
        return cls()

    def discover(self, ctx: CollectContext, collector_names: list[str]) -> Discovery:
        return Discovery()


class DemoCollector(Collector):
    name = "demo.reads"
    provider = "demo"
    permissions = Permissions(member=("demo:Read",))
    metrics = (Metric.ACCELERATOR_HOURS,)

    def collect(self, target: Target, ctx: CollectContext) -> Sequence[UsageRecord | Observation]:
        return []


def test_builtin_finds_every_provider_and_collector_once() -> None:
    reg = builtin()
    assert reg is builtin()  # built once
    assert reg.provider_names() == ["aws", "azure", "exports"]
    assert reg.collector_names() == [
        "aws.bedrock",
        "aws.costexplorer",
        "aws.ec2",
        "aws.sagemaker",
        "azure.openai",
        "azure.vms",
        "exports.billing",
    ]
    assert reg.collectors_for("azure") == ["azure.openai", "azure.vms"]
    assert reg.collector("aws.costexplorer").scope == "organization"


def test_the_registry_cannot_be_changed() -> None:
    reg = Registry.of([DemoProvider, DemoCollector])
    with pytest.raises(TypeError):
        reg.collectors["demo.other"] = DemoCollector  # type: ignore[index]
    with pytest.raises(AttributeError):
        reg.collectors = {}  # type: ignore[misc]


def test_two_classes_with_one_name_are_refused() -> None:
    class Again(DemoCollector):
        pass

    with pytest.raises(DeclarationError, match=r"'demo\.reads' is taken"):
        Registry.of([DemoProvider, DemoCollector, Again])


def test_a_collector_must_declare_permissions_metrics_and_a_known_provider() -> None:
    class NoPermissions(DemoCollector):
        name = "demo.nothing"
        permissions = Permissions()

    class NoMetrics(DemoCollector):
        name = "demo.nometrics"
        metrics = ()

    class Stray(DemoCollector):
        name = "other.reads"
        provider = "other"

    for cls, reason in (
        (NoPermissions, "permissions"),
        (NoMetrics, "metrics"),
        (Stray, "provider 'other' is not registered"),
    ):
        with pytest.raises(DeclarationError, match=reason):
            Registry.of([DemoProvider, cls])


def test_unknown_names_say_what_is_known() -> None:
    with pytest.raises(KeyError, match=r"unknown collector 'demo.x' \(known: demo.reads\)"):
        Registry.of([DemoProvider, DemoCollector]).collector("demo.x")


def test_importing_the_registry_and_permissions_imports_no_collector() -> None:
    code = (
        "import sys, computewatch.collectors.registry, computewatch.collectors.permissions\n"
        f"loaded = [m for m in {BUILTIN_MODULES!r} if m in sys.modules]\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.strip() == "[]"
