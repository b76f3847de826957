"""Azure GPU VMs and VM scale sets: accelerator-hours and peak concurrency (method `activity-log`).

Inventory: `virtual_machines.list_all(status_only="true")` (size, power state, creation time)
and `virtual_machine_scale_sets.list_all()` (`sku.name`, `sku.capacity`; AKS GPU node pools are
scale sets). Size -> chip x count from the catalog (fractional NVadsA10_v5 sizes stay fractions);
an N-family size the catalog lacks takes its count from the resource SKUs' `GPUs` capability with
chip "unknown", and failing that counts as one unknown accelerator, never as none.

History: Activity Log power events paired per resource (collectors.azure.activity). The log
keeps 90 days: an older window is a failed coverage entry (RetentionExceeded), never a zero.
Scale sets are assumed to have run at their current capacity whenever running (scale-out and
scale-in events are not replayed); Flexible scale sets are skipped because their instances are
listed as ordinary VMs.

A VM listed without a size is looked up in a second, full listing; one that still has none (or
a scale set with instances and no size) makes the unit a coverage gap (`UnclassifiedResource`).
A VM stopped without deallocation holds its GPUs and is billed, but computes nothing: its
stopped time is not accelerator-hours (as for a stopped EC2 instance, which is not billed
either); see the methodology note "Stopped virtual machines".
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from computewatch.collectors.azure.activity import RETENTION_DAYS, power_events, running_spans
from computewatch.collectors.azure.common import require_retention, translate_errors
from computewatch.collectors.base import CollectContext, Collector, Permissions, Target
from computewatch.collectors.intervals import INTERVAL_METRICS, Interval, interval_records
from computewatch.domain import Method, UsageRecord
from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog
from computewatch.domain.errors import SourceError

log = logging.getLogger(__name__)

GPU_FAMILY = re.compile(r"^standard_n", re.IGNORECASE)  # NC, ND, NV, NG: the GPU families
RUNNING_POWER_STATES = {"running", "starting", "stopping", "deallocating"}  # GPUs still held


@dataclass(frozen=True, slots=True)
class GpuShape:
    chip: str
    count: float
    source: str  # "catalog" | "resource-skus" | "family-prefix"


class SkuGpus:
    """`GPUs` capability per VM size and location, read once per run and only when needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_location: dict[str, dict[str, float]] = {}

    def get(self, compute: Any, location: str) -> dict[str, float] | None:
        with self._lock:
            if location in self._by_location:
                return self._by_location[location]
            table: dict[str, float] = {}
            try:
                with translate_errors("compute"):
                    for sku in compute.resource_skus.list(filter=f"location eq '{location}'"):
                        if str(sku.resource_type or "").lower() != "virtualmachines":
                            continue
                        for cap in sku.capabilities or []:
                            if cap.name == "GPUs" and cap.value:
                                table[str(sku.name).lower()] = float(cap.value)
            except SourceError as exc:
                # Not cached: another subscription may be allowed to read the SKUs.
                log.warning(
                    "resource SKUs unreadable in %s (%s); using the catalog only", location, exc
                )
                return None
            self._by_location[location] = table
            return table


def classify(
    size: str, location: str, catalog: Catalog, skus: SkuGpus, compute: Any
) -> GpuShape | None:
    """Accelerators of one VM size, or None when it carries none."""
    shape = catalog.shape("azure", size)
    if shape is not None:
        return GpuShape(shape.chip, shape.count, "catalog")
    if not GPU_FAMILY.match(size):
        return None
    table = skus.get(compute, location)
    if table is not None and size.lower() in table:
        gpus = table[size.lower()]
        return GpuShape(UNKNOWN_CHIP, gpus, "resource-skus") if gpus > 0 else None
    return GpuShape(UNKNOWN_CHIP, 1, "family-prefix")


@dataclass(frozen=True, slots=True)
class Machine:
    """A VM, or a scale set of `instances` identical VMs, that carries accelerators."""

    resource_id: str
    size: str
    location: str
    shape: GpuShape
    instances: int
    created: datetime | None
    running_now: bool


def _power_state(statuses: Any) -> str | None:
    for status in statuses or []:
        code = str(status.code or "")
        if code.startswith("PowerState/"):
            return code.split("/", 1)[1].lower()
    return None


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


class _Inventory:
    """Reads the GPU machines of one subscription."""

    def __init__(self, compute: Any, catalog: Catalog, skus: SkuGpus) -> None:
        self.compute = compute
        self.catalog = catalog
        self.skus = skus

    def vms(self) -> list[Machine]:
        out: list[Machine] = []
        unsized: dict[str, Any] = {}  # VMs listed without a size, by id
        for vm in self.compute.virtual_machines.list_all(status_only="true"):
            props = vm.properties
            size = props.hardware_profile.vm_size if props and props.hardware_profile else None
            if not size:
                unsized[str(vm.id).lower()] = vm
                continue
            self._add_vm(out, vm, size, vm)
        if unsized:
            self._fill_unsized(out, unsized)
        return out

    def _fill_unsized(self, out: list[Machine], unsized: dict[str, Any]) -> None:
        """A second, full listing (which carries hardware profiles) sizes the VMs the status-only
        listing gave without one; a VM still without a size cannot be classified, so the unit is a
        coverage gap rather than a silent drop (it may hold GPUs)."""
        for vm in self.compute.virtual_machines.list_all():
            key = str(vm.id).lower()
            props = vm.properties
            size = props.hardware_profile.vm_size if props and props.hardware_profile else None
            if key in unsized and size:
                self._add_vm(out, vm, size, unsized.pop(key))
        if unsized:
            names = ", ".join(sorted(v.id.rsplit("/", 1)[-1] for v in unsized.values())[:5])
            raise SourceError(
                "compute",
                "UnclassifiedResource",
                f"{len(unsized)} VM(s) listed without a size, so whether they hold GPUs is "
                f"unknown: {names}",
            )

    def _add_vm(self, out: list[Machine], vm: Any, size: str, status_vm: Any) -> None:
        """`status_vm`: the same VM as the status-only listing gave it (its power state)."""
        shape = classify(size, vm.location, self.catalog, self.skus, self.compute)
        if shape is None:
            return
        view = status_vm.properties.instance_view if status_vm.properties else None
        power = _power_state(view.statuses if view else None)
        if power is None:
            log.warning("VM %s reports no power state; taken as not running now", vm.id)
        running = power in RUNNING_POWER_STATES
        created = _utc(vm.properties.time_created) if vm.properties else None
        out.append(Machine(vm.id, size, vm.location, shape, 1, created, running))

    def scale_sets(self) -> list[Machine]:
        out: list[Machine] = []
        for ss in self.compute.virtual_machine_scale_sets.list_all():
            props = ss.properties
            if props is not None and str(props.orchestration_mode or "").lower() == "flexible":
                continue  # its instances are ordinary VMs, counted by vms()
            size = ss.sku.name if ss.sku else None
            capacity = int(ss.sku.capacity or 0) if ss.sku else 0
            if capacity > 0 and not size:
                raise SourceError(
                    "compute",
                    "UnclassifiedResource",
                    f"scale set {ss.id.rsplit('/', 1)[-1]} lists {capacity} instance(s) without "
                    "a size, so whether they hold GPUs is unknown",
                )
            if not size or capacity <= 0:
                continue
            shape = classify(size, ss.location, self.catalog, self.skus, self.compute)
            if shape is None:
                continue
            created = _utc(props.time_created) if props else None
            out.append(
                Machine(ss.id, size, ss.location, shape, capacity, created, self._running(ss.id))
            )
        return out

    def _running(self, scale_set_id: str) -> bool:
        """Is any instance of the scale set running now (its instance view's status summary)?"""
        parts = scale_set_id.split("/")
        group, name = parts[4], parts[-1]
        view = self.compute.virtual_machine_scale_sets.get_instance_view(group, name)
        summary = view.virtual_machine.statuses_summary if view.virtual_machine else None
        return any(
            str(s.code or "").lower().removeprefix("powerstate/") in RUNNING_POWER_STATES
            and (s.count or 0) > 0
            for s in summary or []
        )


class AzureVmCollector(Collector):
    name = "azure.vms"
    provider = "azure"
    permissions = Permissions(
        member=(
            # list_all(status_only) returns the instance view (power state) with each VM
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/instanceView/read",
            "Microsoft.Compute/virtualMachineScaleSets/read",
            "Microsoft.Compute/virtualMachineScaleSets/instanceView/read",
            "Microsoft.Compute/skus/read",
            "Microsoft.Insights/eventtypes/values/read",  # the Activity Log
        )
    )
    metrics = INTERVAL_METRICS
    description = "Azure GPU VMs and scale sets (inventory + Activity Log power events)"

    def __init__(self) -> None:
        self._skus = SkuGpus()

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        require_retention("insights", "the Activity Log", ctx.window, ctx.now, RETENTION_DAYS)
        if ctx.now <= ctx.window.start:
            return []
        inventory = _Inventory(target.clients.client("compute"), ctx.catalog, self._skus)
        with translate_errors("compute"):
            machines = inventory.vms() + inventory.scale_sets()
        if not machines:
            return []
        events = power_events(target.clients.client("monitor"), ctx.window.start, ctx.now)
        intervals: list[Interval] = []
        for m in machines:
            spans = running_spans(
                events.get(m.resource_id.lower(), []),
                m.running_now,
                m.created,
                ctx.window.start,
                ctx.now,
            )
            acc = GpuShape(m.shape.chip, m.shape.count * m.instances, m.shape.source)
            intervals.extend(
                Interval(m.resource_id, m.size, acc, start, end, m.location, m.instances)
                for start, end in spans
            )
        return interval_records(target, self.name, intervals, ctx.window, Method.ACTIVITY_LOG)
