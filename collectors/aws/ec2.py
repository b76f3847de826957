"""EC2 accelerator instances: accelerator-hours and peak concurrency from the live inventory.

Accelerator instance types are resolved once per region with DescribeInstanceTypes (GpuInfo /
NeuronInfo), with the shipped catalog as fallback; DescribeInstances is then asked for exact type
values only (EC2 filters accept wildcards, the emulator does not, and exact values are cheaper).

Method `launch-time-estimate` (first collection) or `sampled` (later ones): EC2's inventory only
knows an instance's *last* launch and, once stopped, the time in its StateTransitionReason. Each
collection stores what it observed; each observation proves the instance ran from that launch to
the moment observed (or to its stop), and the union of those proven intervals is what is counted.
Time before the earliest known launch, and between an unseen stop and the next start, is
invisible: these figures are a LOWER BOUND. Terminated instances keep what earlier samples proved.
Reads further apart than the allowed sampling gap make the time between them a coverage gap
(`collectors.sampling`), unless final Cost Explorer billing covers those days.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from computewatch.collectors.aws.common import translate_errors
from computewatch.collectors.base import (
    CollectContext,
    Collector,
    Permissions,
    Target,
    unit_key,
)
from computewatch.collectors.incremental import days_to_derive, enough_history
from computewatch.collectors.intervals import INTERVAL_METRICS, Interval, interval_records
from computewatch.collectors.intervals import peak_concurrency as peak_concurrency
from computewatch.domain import Method, Observation, UsageRecord
from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog
from computewatch.domain.errors import SourceError

log = logging.getLogger(__name__)

FILTER_VALUES_PER_CALL = 150
_TRANSITION = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")
RUNNING_STATES = {"pending", "running"}
# Families that carry GPUs / AI accelerators. DescribeInstanceTypes accepts wildcards in this filter
# (DescribeInstances does not, in the emulator), so type metadata is fetched for these families only.
ACCELERATOR_FAMILIES = ("p*", "g*", "trn*", "inf*", "dl*")
_ACCEL_FAMILY = re.compile(r"^(p\d|g\d|gr\d|trn\d|inf\d|dl\d)[a-z0-9-]*\.")


@dataclass(frozen=True, slots=True)
class Accelerators:
    chip: str
    count: float
    source: str  # "ec2:DescribeInstanceTypes" or "catalog"
    api_name: str = ""


def classify_type_info(info: dict[str, Any], catalog: Catalog) -> Accelerators | None:
    """Accelerators of one DescribeInstanceTypes entry, or None if it carries none.

    The count is the API's; the chip is the catalog's where the catalog knows the shape, because
    the API's device name is coarser than the shape (it may report p6e-gb200's GPU as "B200",
    while the shape is GB200, a higher peak). The API name is kept beside it as `api_name` and
    decides the chip only for a shape the catalog does not know."""
    devices: list[dict[str, Any]] = []
    devices += (info.get("GpuInfo") or {}).get("Gpus") or []
    devices += (info.get("NeuronInfo") or {}).get("NeuronDevices") or []
    devices += (info.get("InferenceAcceleratorInfo") or {}).get("Accelerators") or []
    if not devices:
        return None
    dev = devices[0]
    api_name = str(dev.get("Name", ""))
    count = float(sum(int(d.get("Count", 0)) for d in devices))
    shape = catalog.shape("aws", info["InstanceType"])
    chip = shape.chip if shape is not None else catalog.canonical_chip(api_name) or UNKNOWN_CHIP
    return Accelerators(chip, count, "ec2:DescribeInstanceTypes", api_name)


class _RegionTypes:
    """Accelerator types per region, resolved once and shared by every account in the run.

    One lock per region: the first unit of each region asks while the others of that region
    wait, and units of other regions go on (one lock for all would run the regions' first
    calls one after another)."""

    def __init__(self) -> None:
        self._locks_lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._by_region: dict[str, dict[str, Accelerators]] = {}

    def get(self, ec2: Any, region: str, catalog: Catalog) -> dict[str, Accelerators]:
        found = self._by_region.get(region)
        if found is not None:
            return found
        with self._locks_lock:
            lock = self._locks.setdefault(region, threading.Lock())
        with lock:
            if region in self._by_region:
                return self._by_region[region]
            types = {
                s.name: Accelerators(s.chip, s.count, "catalog") for s in catalog.shapes("aws")
            }
            try:
                with translate_errors("ec2"):
                    pages = ec2.get_paginator("describe_instance_types").paginate(
                        Filters=[{"Name": "instance-type", "Values": list(ACCELERATOR_FAMILIES)}],
                        PaginationConfig={"PageSize": 100},
                    )
                    for page in pages:
                        for info in page["InstanceTypes"]:
                            acc = classify_type_info(info, catalog)
                            if acc is not None:
                                types[info["InstanceType"]] = acc
                            elif (
                                _ACCEL_FAMILY.match(info["InstanceType"])
                                and info["InstanceType"] not in types
                            ):
                                # An accelerator family the catalog does not know and the API does not
                                # describe: report it as an unknown accelerator (at least one), never drop it.
                                types[info["InstanceType"]] = Accelerators(
                                    UNKNOWN_CHIP, 1, "family-prefix"
                                )
            except SourceError as exc:
                # Not cached: the next account may be allowed to read the metadata.
                log.warning(
                    "DescribeInstanceTypes failed in %s (%s); using the catalog only", region, exc
                )
                return types
            self._by_region[region] = types
            return types


def _transition_time(reason: str) -> datetime | None:
    m = _TRANSITION.search(reason or "")
    if not m:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def observe(
    target: Target, collector: str, inst: dict[str, Any], acc: Accelerators, now: datetime
) -> Observation:
    """What the inventory shows of one instance now: its last launch, and its stop time if known."""
    state = inst.get("State", {}).get("Name", "")
    ended = (
        None if state in RUNNING_STATES else _transition_time(inst.get("StateTransitionReason", ""))
    )
    if state not in RUNNING_STATES and ended is None:
        # Not counted: without a transition time nothing proves how long it ran.
        log.warning("instance %s is %s with no transition time", inst["InstanceId"], state)
        ended = inst["LaunchTime"].astimezone(UTC)
    return Observation(
        provider=target.provider,
        account_id=target.account.account_id,
        region=target.region,
        collector=collector,
        resource_id=inst["InstanceId"],
        observed_at=now,
        sku=inst["InstanceType"],
        accelerator=acc.chip,
        count=acc.count,
        state=state,
        started_at=inst["LaunchTime"].astimezone(UTC),
        ended_at=ended,
    )


def proven_intervals(observations: Iterable[Observation]) -> list[Interval]:
    """Per instance, the union of the intervals its observations prove it was running.

    One observation proves [last launch, observed or stopped]; a stop and restart between two
    samples leaves the unseen part uncounted (a lower bound), and an instance that has since
    vanished (terminated) keeps what its earlier samples proved.
    """
    by_resource: dict[str, list[Observation]] = defaultdict(list)
    for o in observations:
        by_resource[o.resource_id].append(o)
    out: list[Interval] = []
    for rid, obs in sorted(by_resource.items()):
        latest = max(obs, key=lambda o: o.observed_at)
        acc = Accelerators(latest.accelerator, latest.count, "observation")
        spans = sorted(p for p in (o.proven for o in obs) if p is not None)
        merged: list[list[datetime]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        out.extend(Interval(rid, latest.sku, acc, lo, hi) for lo, hi in merged)
    return out


class Ec2AcceleratorCollector(Collector):
    name = "aws.ec2"
    provider = "aws"
    permissions = Permissions(member=("ec2:DescribeInstanceTypes", "ec2:DescribeInstances"))
    metrics = INTERVAL_METRICS
    description = "EC2 GPU/accelerator instances (DescribeInstanceTypes + DescribeInstances)"
    samples = True

    def __init__(self) -> None:
        self._types = _RegionTypes()

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord | Observation]:
        ec2 = target.clients.client("ec2")
        types = self._types.get(ec2, target.region, ctx.catalog)
        names = sorted(types)
        seen: list[Observation] = []
        with translate_errors("ec2"):
            paginator = ec2.get_paginator("describe_instances")
            for i in range(0, len(names), FILTER_VALUES_PER_CALL):
                pages = paginator.paginate(
                    Filters=[
                        {"Name": "instance-type", "Values": names[i : i + FILTER_VALUES_PER_CALL]}
                    ],
                    PaginationConfig={"PageSize": 1000},
                )
                for page in pages:
                    for reservation in page["Reservations"]:
                        for inst in reservation["Instances"]:
                            acc = types.get(inst["InstanceType"]) or Accelerators(
                                UNKNOWN_CHIP, 1, "none"
                            )
                            seen.append(observe(target, self.name, inst, acc, ctx.now))
        key = unit_key(target, self.name)
        history = ctx.history_for(target, self.name)
        through = ctx.derived_through.get(key)
        horizon = ctx.history_since.get(key)
        if horizon is not None and ctx.older_history is not None:
            load = ctx.older_history
            history = enough_history(history, seen, through, horizon, lambda r: load(key, r))
        method = Method.SAMPLED if history else Method.LAUNCH_TIME_ESTIMATE
        intervals = proven_intervals([*history, *seen])
        records: list[UsageRecord | Observation] = []
        days = days_to_derive(ctx.window, history, seen, through)
        if days is not None:
            records.extend(interval_records(target, self.name, intervals, days, method))
        records.extend(seen)
        return records
