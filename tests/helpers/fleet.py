"""A fake AWS fleet for driving the daemon's real jobs hour by hour without a cloud.

Each instance runs in cycles (launched, running some hours, stopped some hours, launched again;
some are terminated when stopped and vanish from the inventory), as a function of the clock, so a
simulated month needs no state. `install(fleet)` replaces `AwsProvider.discover` with one that
returns the fleet's account-region targets over fake EC2 clients; everything after discovery (the
EC2 collector, the store, the assessment) is the real code. Used by tests and by bench/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from computewatch.collectors.aws.provider import AwsProvider
from computewatch.collectors.base import CollectContext, Discovery, Target
from computewatch.domain import Account, utc

TYPES = ("p5.48xlarge", "p4d.24xlarge", "g5.xlarge")
ANCHOR = utc(2026, 1, 1)


@dataclass(frozen=True)
class Cycle:
    """An instance launched every `period` hours from `offset`, running `running` hours each."""

    instance_id: str
    instance_type: str
    offset: int
    period: int
    running: int
    terminated_when_stopped: bool

    def describe(self, now: datetime) -> dict[str, Any] | None:
        hours = (now - ANCHOR) / timedelta(hours=1) - self.offset
        cycle = int(hours // self.period)
        launched = ANCHOR + timedelta(hours=self.offset + cycle * self.period)
        stopped = launched + timedelta(hours=self.running)
        inst: dict[str, Any] = {
            "InstanceId": self.instance_id,
            "InstanceType": self.instance_type,
            "LaunchTime": launched,
        }
        if now < stopped:
            return inst | {"State": {"Name": "running"}, "StateTransitionReason": ""}
        if self.terminated_when_stopped:
            return None
        reason = f"User initiated ({stopped:%Y-%m-%d %H:%M:%S} GMT)"
        return inst | {"State": {"Name": "stopped"}, "StateTransitionReason": reason}


class SimClock:
    """The simulated time: the fleet and the jobs read the same clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Fleet:
    accounts: int
    regions: tuple[str, ...] = ("us-east-1", "eu-west-1")
    per_region: int = 5
    clock: Callable[[], datetime] = lambda: ANCHOR

    def account_ids(self) -> list[str]:
        return [f"{100000000000 + a}" for a in range(self.accounts)]

    def instances(self, account: int, region: int) -> list[Cycle]:
        out = []
        for i in range(self.per_region):
            k = account * 7 + region * 3 + i
            out.append(
                Cycle(
                    f"i-{account:05d}{region:02d}{i:03d}",
                    TYPES[k % len(TYPES)],
                    offset=(k * 5) % 37,
                    period=20 + (k % 9) * 6,
                    running=8 + (k % 5) * 7,
                    terminated_when_stopped=k % 4 == 0,
                )
            )
        return out


class _Pages:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages

    def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
        return iter(self.pages)


class _Ec2:
    def __init__(self, cycles: list[Cycle], clock: Callable[[], datetime]) -> None:
        self.cycles = cycles
        self.clock = clock

    def get_paginator(self, name: str) -> Any:
        if name == "describe_instance_types":
            return _Pages([{"InstanceTypes": []}])  # the catalog knows the fleet's types
        now = self.clock()
        return _Describe(self.cycles, now)


class _Describe:
    def __init__(self, cycles: list[Cycle], now: datetime) -> None:
        self.cycles = cycles
        self.now = now

    def paginate(self, Filters: list[dict[str, Any]], **_: Any) -> Iterator[dict[str, Any]]:
        wanted = set(Filters[0]["Values"])
        found = [
            inst
            for c in self.cycles
            if c.instance_type in wanted and (inst := c.describe(self.now)) is not None
        ]
        yield {"Reservations": [{"Instances": found}]}


class _Clients:
    def __init__(self, cycles: list[Cycle], clock: Callable[[], datetime]) -> None:
        self.ec2 = _Ec2(cycles, clock)

    def client(self, service: str) -> Any:
        assert service == "ec2", service
        return self.ec2

    def release(self) -> None:
        """The runner is done with the account: nothing to drop in the fake."""


def install(fleet: Fleet) -> Callable[[], None]:
    """Make AwsProvider discover `fleet` (returns the undo)."""
    original = AwsProvider.discover

    def discover(self: AwsProvider, ctx: CollectContext, names: list[str]) -> Discovery:
        out = Discovery()
        for a, aid in enumerate(fleet.account_ids()):
            account = Account("aws", aid, f"member {a}")
            out.accounts.append(account)
            for r, region in enumerate(fleet.regions):
                clients = _Clients(fleet.instances(a, r), fleet.clock)
                out.targets.append(Target(account, region, clients))
        return out

    AwsProvider.discover = discover  # type: ignore[method-assign]

    def undo() -> None:
        AwsProvider.discover = original  # type: ignore[method-assign]

    return undo


def fleet_config(directory: Path, store_url: str, rules: Path, workers: int = 4) -> Path:
    """A daemon config reading only EC2 of the fake fleet."""
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "reporting_entity": {"name": "Fleet Ltd"},
        "store": {"url": store_url},
        "aws": {
            "regions": ["us-east-1", "eu-west-1"],
            "collectors": ["aws.ec2"],
            "max_workers": workers,
            "organization": {"role_name": "ComputewatchReadOnly"},  # discovered by `install`
        },
        "rules": [str(rules)],
    }
    path = directory / "computewatch.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
