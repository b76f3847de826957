"""EC2 accelerator instances: accelerator-hours and peak concurrency from the live inventory.

Accelerator instance types are resolved once per region with DescribeInstanceTypes (GpuInfo /
NeuronInfo), with the shipped catalog as fallback; DescribeInstances is then asked for exact type
values only (EC2 filters accept wildcards, the emulator does not, and exact values are cheaper).

Method `launch-time-estimate`: EC2's inventory only knows the *last* launch (start) time, and, for a
stopped or terminated instance, the time in its StateTransitionReason. Hours are counted from that
launch to now (running) or to the transition time, clipped to the window. Anything the instance ran
before its last start is invisible, so these figures are a LOWER BOUND.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.catalog import UNKNOWN_CHIP, Catalog
from agent.errors import SourceError
from agent.models import Dimensions, Method, Metric, UsageRecord, Window
from collectors.aws.common import translate_errors
from collectors.base import CollectContext, Collector, Target, collectors

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
    """Accelerators of one DescribeInstanceTypes entry, or None if it carries none."""
    devices: list[dict[str, Any]] = []
    devices += (info.get("GpuInfo") or {}).get("Gpus") or []
    devices += (info.get("NeuronInfo") or {}).get("NeuronDevices") or []
    devices += (info.get("InferenceAcceleratorInfo") or {}).get("Accelerators") or []
    if not devices:
        return None
    dev = devices[0]
    api_name = str(dev.get("Name", ""))
    count = float(sum(int(d.get("Count", 0)) for d in devices))
    chip = catalog.canonical_chip(api_name) or UNKNOWN_CHIP
    shape = catalog.shape("aws", info["InstanceType"])
    if chip == UNKNOWN_CHIP and shape is not None:
        chip = shape.chip
    return Accelerators(chip, count, "ec2:DescribeInstanceTypes", api_name)


class _RegionTypes:
    """Accelerator types per region, resolved once and shared by every account in the run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_region: dict[str, dict[str, Accelerators]] = {}

    def get(self, ec2: Any, region: str, catalog: Catalog) -> dict[str, Accelerators]:
        with self._lock:
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
                            elif _ACCEL_FAMILY.match(info["InstanceType"]) and info["InstanceType"] not in types:
                                # An accelerator family the catalog does not know and the API does not
                                # describe: report it as an unknown accelerator (at least one), never drop it.
                                types[info["InstanceType"]] = Accelerators(UNKNOWN_CHIP, 1, "family-prefix")
            except SourceError as exc:
                # Not cached: the next account may be allowed to read the metadata.
                log.warning("DescribeInstanceTypes failed in %s (%s); using the catalog only", region, exc)
                return types
            self._by_region[region] = types
            return types


def _transition_time(reason: str) -> datetime | None:
    m = _TRANSITION.search(reason or "")
    if not m:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Interval:
    instance_id: str
    instance_type: str
    acc: Accelerators
    start: datetime
    end: datetime


def instance_interval(inst: dict[str, Any], acc: Accelerators, now: datetime) -> Interval | None:
    """When the instance ran since its last launch, as far as the inventory tells."""
    launch: datetime = inst["LaunchTime"].astimezone(UTC)
    state = inst.get("State", {}).get("Name", "")
    if state in RUNNING_STATES:
        end: datetime | None = now
    else:
        end = _transition_time(inst.get("StateTransitionReason", ""))
    if end is None or end <= launch:
        if end is None:
            log.warning("instance %s is %s with no transition time; its hours are not counted", inst["InstanceId"], state)
        return None
    return Interval(inst["InstanceId"], inst["InstanceType"], acc, launch, end)


def peak_concurrency(intervals: list[Interval], day: Window) -> dict[str, float]:
    """Largest number of accelerators per chip running at the same moment within `day`."""
    events: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for iv in intervals:
        clipped = day.clip(iv.start, iv.end)
        if clipped:
            events[iv.acc.chip].append((clipped[0], iv.acc.count))
            events[iv.acc.chip].append((clipped[1], -iv.acc.count))
    peaks: dict[str, float] = {}
    for chip, evs in events.items():
        current = best = 0.0
        for _, delta in sorted(evs, key=lambda e: (e[0], e[1])):  # ends before starts at the same instant
            current += delta
            best = max(best, current)
        peaks[chip] = best
    return peaks


def interval_records(
    target: Target, collector: str, intervals: list[Interval], window: Window
) -> list[UsageRecord]:
    """Daily accelerator-hours and instance-hours per instance, and daily peak concurrency per chip."""
    method = Method.LAUNCH_TIME_ESTIMATE
    out: list[UsageRecord] = []

    def rec(metric: Metric, unit: str, dims: Dimensions, day: Window, qty: float) -> UsageRecord:
        return UsageRecord(
            "aws", target.account.account_id, target.region, collector, metric, unit, dims, day.start, day.end, qty, method
        )

    for day in window.day_windows():
        for iv in intervals:
            clipped = day.clip(iv.start, iv.end)
            if not clipped:
                continue
            hours = (clipped[1] - clipped[0]).total_seconds() / 3600
            dims = Dimensions(sku=iv.instance_type, accelerator=iv.acc.chip, resource_id=iv.instance_id)
            out.append(rec(Metric.ACCELERATOR_HOURS, "accelerator-hours", dims, day, hours * iv.acc.count))
            out.append(rec(Metric.INSTANCE_HOURS, "hours", dims, day, hours))
        for chip, peak in peak_concurrency(intervals, day).items():
            if peak > 0:
                out.append(rec(Metric.PEAK_CONCURRENT_ACCELERATORS, "accelerators", Dimensions(accelerator=chip), day, peak))
    return out


@collectors.register("aws.ec2")
class Ec2AcceleratorCollector(Collector):
    name = "aws.ec2"
    provider = "aws"
    description = "EC2 GPU/accelerator instances (DescribeInstanceTypes + DescribeInstances)"

    def __init__(self) -> None:
        self._types = _RegionTypes()

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        ec2 = target.clients.client("ec2")
        types = self._types.get(ec2, target.region, ctx.catalog)
        names = sorted(types)
        intervals: list[Interval] = []
        with translate_errors("ec2"):
            paginator = ec2.get_paginator("describe_instances")
            for i in range(0, len(names), FILTER_VALUES_PER_CALL):
                chunk = names[i : i + FILTER_VALUES_PER_CALL]
                pages = paginator.paginate(
                    Filters=[{"Name": "instance-type", "Values": chunk}], PaginationConfig={"PageSize": 1000}
                )
                for page in pages:
                    for reservation in page["Reservations"]:
                        for inst in reservation["Instances"]:
                            acc = types.get(inst["InstanceType"]) or Accelerators(UNKNOWN_CHIP, 1, "none")
                            iv = instance_interval(inst, acc, ctx.now)
                            if iv is not None:
                                intervals.append(iv)
        return interval_records(target, self.name, intervals, ctx.window)
