"""What a rule measures on a usage view: a lower bound, and how much more it could be.

Every metric of the metric table is measurable by its key (chips through the rule's chip filter,
models through its model pattern); the derived measures are the functions in `DERIVED`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

from computewatch.domain import Rule
from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog
from computewatch.domain.metrics import DERIVED_METRICS, METRICS, Key, metric_def
from computewatch.engine.estimates import implied_cluster_flops, max_usable_ops
from computewatch.engine.usage import AccountUsage


@dataclass(frozen=True, slots=True)
class Measured:
    value: float  # what was read: a lower bound of the truth
    uncertain: float  # how much more the truth could be, from data read but not sizeable
    note: str = ""


def chip_selected(rule: Rule, chip: str, catalog: Catalog) -> bool | None:
    """True/False when the chip is (not) in the rule's filter; None when that cannot be known."""
    if rule.chips and chip not in rule.chips:
        return None if chip == UNKNOWN_CHIP else False
    if rule.chip_class == "3A090":
        if chip == UNKNOWN_CHIP:
            return None
        info = catalog.chip(chip)
        return None if info is None else info.controlled_3a090
    return True


def model_selected(rule: Rule, model: str) -> bool:
    return not rule.model_pattern or fnmatch.fnmatchcase(model, rule.model_pattern)


def _per_chip(
    rule: Rule, values: dict[str, float], catalog: Catalog, weight: Callable[[str], float]
) -> Measured:
    value = uncertain = 0.0
    unsure: list[str] = []
    for chip, qty in values.items():
        sel = chip_selected(rule, chip, catalog)
        if sel is True:
            value += qty * weight(chip)
        elif sel is None and qty > 0:
            uncertain += qty * weight(chip)
            unsure.append(chip)
    note = f"chips of uncertain class: {', '.join(sorted(unsure))}" if unsure else ""
    return Measured(value, uncertain, note)


def _one(_chip: str) -> float:
    return 1.0


def _cluster_flops(rule: Rule, usage: AccountUsage, catalog: Catalog) -> Measured:
    peaks = usage.peak_concurrent

    def flops(chip: str) -> float:
        known = implied_cluster_flops({chip: 1.0}, catalog)
        return known if known > 0 else max_usable_ops(catalog)  # unknown: assume the fastest

    m = _per_chip(rule, peaks, catalog, flops)
    missing = [c for c in peaks if implied_cluster_flops({c: 1.0}, catalog) == 0]
    if not missing:
        return m
    # Chips without a usable FLOP/s figure: at most the fastest chip's rate.
    certain = implied_cluster_flops({c: n for c, n in peaks.items() if c not in missing}, catalog)
    sure = min(m.value, certain)
    note = f"no usable FLOP/s for {', '.join(sorted(missing))}"
    return Measured(sure, m.value - sure + m.uncertain, note)


def _training_flop(rule: Rule, usage: AccountUsage, catalog: Catalog) -> Measured:
    if usage.flop is None:
        return Measured(0.0, 0.0)
    note = ""
    if usage.flop.excluded_hours:
        note = "hours without a usable FLOP/s figure: " + ", ".join(
            f"{c} {h:,.1f} h" for c, h in sorted(usage.flop.excluded_hours.items())
        )
    return Measured(usage.flop.value(rule.band), usage.flop.excluded_upper_bound, note)


def _all_tokens(rule: Rule, usage: AccountUsage, catalog: Catalog) -> Measured:
    total = sum(
        qty
        for d in METRICS
        if d.counts_as_tokens
        for model, qty in usage.of(d.metric).items()
        if model_selected(rule, model)
    )
    return Measured(total, 0.0)


DERIVED: dict[str, Callable[[Rule, AccountUsage, Catalog], Measured]] = {
    "model_tokens": _all_tokens,
    "implied_cluster_flops": _cluster_flops,
    "estimated_training_flop": _training_flop,
}
assert set(DERIVED) == set(DERIVED_METRICS), "every derived metric needs its measure"


def measure(rule: Rule, usage: AccountUsage, catalog: Catalog) -> Measured:
    derived = DERIVED.get(rule.metric)
    if derived is not None:
        return derived(rule, usage, catalog)
    d = metric_def(rule.metric)
    values = usage.of(d.metric)
    if d.key is Key.CHIP:
        return _per_chip(rule, values, catalog, _one)
    if d.key is Key.MODEL:
        return Measured(sum(q for m, q in values.items() if model_selected(rule, m)), 0.0)
    return Measured(sum(values.values()), 0.0)
