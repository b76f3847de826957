"""Derived measures with their method: every estimate carries formula, constants and sources.

Compute capacity used = accelerator-hours x 3600 x peak dense FLOP/s x utilization, reported as a
band. It counts every accelerator-hour (training, inference, idle), so it is an upper-bound screen
for training compute, not a measurement of it. The band is grounded in published training runs
(tests/unit/test_flop_band.py): the low end must reach the least efficient documented run, the high
end the most efficient one at the chip's fastest training precision (FP8 where the chip has it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog, Chip

FLOP_FORMULA = (
    "accelerator-hours x 3600 s/h x peak dense BF16/FP16 FLOP/s x utilization (high end: the "
    "chip's dense FP8 peak where it has one)"
)
# Where each default bound of the utilization band comes from (published runs; see the README).
BAND_SOURCES = (
    "low 10 %: below the least efficient documented run, Llama 3.1 8B (1.46M H100-hours for "
    "~7.5e23 FLOP, ~14 % of BF16 peak; Meta model card); central 40 %: Llama 2 7B/70B (41-44 %, "
    "Meta model card) and Llama 3.1 405B (3.8e25 FLOP on 30.84M H100-hours, 35 %; Llama 3 paper); "
    "high 60 % of the fastest training precision: above the highest published MFU, 55.2 % "
    "(MegaScale, NSDI 2024), and above DeepSeek-V3's FP8 run (2.788M H800-hours, ~17 % of FP8 peak)"
)


@dataclass(frozen=True, slots=True)
class FlopBand:
    low: float
    central: float
    high: float
    # Accelerator-hours whose chip has no usable FLOP/s figure, and the most they could add (at the
    # fastest chip in the catalog, high utilization): lets a rule decide OK vs UNKNOWN honestly.
    excluded_hours: Mapping[str, float]
    excluded_upper_bound: float

    def value(self, band: str) -> float:
        return {"low": self.low, "central": self.central, "high": self.high}[band]


def sum_bands(bands: list[FlopBand]) -> FlopBand:
    """The band of several accounts together (estimates are linear in hours)."""
    excluded: dict[str, float] = {}
    for b in bands:
        for chip, hours in b.excluded_hours.items():
            excluded[chip] = excluded.get(chip, 0.0) + hours
    return FlopBand(
        sum(b.low for b in bands),
        sum(b.central for b in bands),
        sum(b.high for b in bands),
        excluded,
        sum(b.excluded_upper_bound for b in bands),
    )


@dataclass(frozen=True, slots=True)
class TppHours:
    """Accelerator-hours weighted by Total Processing Performance, and the chips left out."""

    value: float
    left_out: tuple[str, ...]


def training_flop(
    hours_by_chip: Mapping[str, float], catalog: Catalog, low: float, central: float, high: float
) -> FlopBand:
    total = fastest_total = 0.0
    excluded: dict[str, float] = {}
    for chip_name, hours in hours_by_chip.items():
        chip = catalog.chip(chip_name) if chip_name != UNKNOWN_CHIP else None
        if chip is None or not chip.peak_dense_flops.usable:
            excluded[chip_name] = excluded.get(chip_name, 0.0) + hours
            continue
        assert chip.peak_dense_flops.value is not None
        total += hours * 3600 * chip.peak_dense_flops.value
        fastest_total += hours * 3600 * training_peak(chip)
    upper = sum(excluded.values()) * 3600 * max_training_peak(catalog) * high
    return FlopBand(total * low, total * central, fastest_total * high, excluded, upper)


def training_peak(chip: Chip) -> float:
    """The chip's fastest dense training precision: FP8 where it has a usable figure, else BF16."""
    bf16 = chip.peak_dense_flops.value or 0.0
    fp8 = chip.peak_dense_fp8_flops
    return max(bf16, fp8.value) if fp8.usable and fp8.value is not None else bf16


def max_usable_flops(catalog: Catalog) -> float:
    values = [c.peak_dense_flops.value for c in catalog.chips() if c.peak_dense_flops.usable]
    return max(v for v in values if v is not None)


def max_training_peak(catalog: Catalog) -> float:
    return max(training_peak(c) for c in catalog.chips() if c.peak_dense_flops.usable)


def max_usable_ops(catalog: Catalog) -> float:
    """The fastest catalogued chip at its highest dense precision (bound for unknown chips)."""
    values = [
        f.value
        for c in catalog.chips()
        for f in (c.max_dense_ops, c.peak_dense_flops)
        if f.usable and f.value is not None
    ]
    return max(values)


def tpp_hours(hours_by_chip: Mapping[str, float], catalog: Catalog) -> TppHours:
    """Accelerator-hours weighted by Total Processing Performance (ECCN 3A090's measure), and the
    chips left out because their TPP is unconfirmed or unknown."""
    total, left_out = 0.0, []
    for chip_name, hours in sorted(hours_by_chip.items()):
        chip = catalog.chip(chip_name)
        if chip is None or not chip.tpp.usable or chip.tpp.value is None:
            left_out.append(chip_name)
        else:
            total += hours * chip.tpp.value
    return TppHours(total, tuple(left_out))


def implied_cluster_flops(peak_by_chip: Mapping[str, float], catalog: Catalog) -> float:
    """Peak concurrent accelerators x their theoretical maximum dense ops/s.

    The 702.7 proposal's cluster threshold counts theoretical maximum performance, so the chip's
    highest-throughput dense precision (FP8/FP4/INT8) is used where the catalog has it, else the
    BF16 figure (which can only understate)."""
    total = 0.0
    for chip_name, count in peak_by_chip.items():
        chip = catalog.chip(chip_name)
        if chip is None:
            continue
        for fig in (chip.max_dense_ops, chip.peak_dense_flops):
            if fig.usable and fig.value is not None:
                total += count * fig.value
                break
    return total


@dataclass(frozen=True, slots=True)
class MethodNote:
    """One line of the generated methodology section."""

    topic: str
    text: str


def methodology(catalog: Catalog, low: float, central: float, high: float) -> list[MethodNote]:
    notes = [
        MethodNote(
            "Compute capacity used (FLOP band)",
            f"{FLOP_FORMULA}; utilization band low {low:.0%}, central {central:.0%}, high {high:.0%}. "
            "All accelerator-hours count, including inference and idle time: this is compute "
            "capacity used, an upper-bound screen for training compute, not a measurement of it. "
            f"Default bounds: {BAND_SOURCES}.",
        ),
        MethodNote(
            "Chips left out of estimates",
            "Chips whose peak FLOP/s is unconfirmed are not multiplied into the estimate; their hours are "
            "listed, and a rule is only judged OK if they could not cross it even at the fastest catalogued "
            f"training peak ({max_training_peak(catalog):.3g} FLOP/s) and high utilization.",
        ),
        MethodNote(
            "EC2 accelerator-hours (launch-time-estimate)",
            "From the EC2 inventory: hours from each instance's last launch to now (running) or to its "
            "recorded state transition (stopped, terminated), clipped to the period. Time before an "
            "instance's last start is not visible, so these figures are a lower bound.",
        ),
        MethodNote(
            "TPP-hours",
            "accelerator-hours x Total Processing Performance (2 x MacTOPS x bit length, ECCN "
            "3A090) of the chip; chips whose TPP is unconfirmed are listed, not multiplied.",
        ),
        MethodNote(
            "Peak concurrent accelerators",
            "Per region and day, the largest number of accelerators running at one moment; an account's "
            "figure is the largest day of those summed over regions, which can overstate what ran at "
            "one moment when regional peaks fall at different times.",
        ),
        MethodNote(
            "Implied cluster rate",
            "peak concurrent accelerators x each chip's dense ops/s at its highest-throughput "
            "precision (the theoretical maximum the proposed 15 CFR 702.7 counts); summed over "
            "regions, so an upper bound: it need not be one cluster.",
        ),
        MethodNote(
            "Coverage",
            "An account or region that could not be read is a coverage gap, never a zero. A rule that "
            "depends on it is UNKNOWN unless the usage already read crosses the threshold.",
        ),
        MethodNote(
            "Estimates under partial coverage",
            "Where a collector that reads accelerator-hours failed for an account, its training "
            "compute and TPP-hours are unknown, not the smaller figure of the units read; so is "
            "every roll-up (customer, intermediary, country group, organization) that includes it.",
        ),
        MethodNote(
            "Stopped virtual machines",
            "Accelerator-hours count time a machine ran. An Azure VM stopped without deallocation "
            "keeps its GPUs and is billed for them but computes nothing, so that time is not "
            "counted: an Azure invoice can exceed these figures by it. A stopped EC2 instance is "
            "neither billed nor counted, so Cost Explorer and the inventory agree. A VM or scale "
            "set that cannot be classified (listed without a size) is a coverage gap.",
        ),
    ]
    for chip in catalog.chips():
        f = chip.peak_dense_flops
        if f.value is None:
            continue
        notes.append(
            MethodNote(
                f"Constant: {chip.name}",
                f"peak dense FLOP/s {f.value:.4g} ({f.status}; source: {catalog.sources.get(f.source, f.source)}); "
                f"TPP {chip.tpp.value if chip.tpp.value is not None else 'unconfirmed'}; "
                f"die area {chip.die_area_mm2.value if chip.die_area_mm2.value is not None else 'unpublished'} mm2; "
                f"3A090: {chip.eccn_3a090} (derived from the 774 thresholds)",
            )
        )
    return notes
