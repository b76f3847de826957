"""Rules x account usage -> findings. Pure: no I/O, no clock; windows are passed in.

Status logic for a 'more than' rule: BREACH when the usage read already crosses the threshold
(missing data can only add usage); otherwise UNKNOWN when coverage is incomplete or part of the
usage is of uncertain size (unknown chips, unconfirmed figures) that could still cross it; else OK.
'Less than' rules are the mirror image.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from agent.catalog import UNKNOWN_CHIP, Catalog
from agent.models import Finding, FindingStatus, Rule, Window
from agent.usage import AccountUsage

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class Measured:
    value: float  # what was read: a lower bound of the truth
    uncertain: float  # how much more the truth could be, from data read but not sizeable
    note: str = ""


def _chip_selected(rule: Rule, chip: str, catalog: Catalog) -> bool | None:
    """True/False when the chip is (not) in the rule's filter; None when that cannot be known."""
    if rule.chips and chip not in rule.chips:
        return None if chip == UNKNOWN_CHIP else False
    if rule.chip_class == "3A090":
        if chip == UNKNOWN_CHIP:
            return None
        info = catalog.chip(chip)
        if info is None or info.eccn_3a090 == "unconfirmed":
            return None
        return info.eccn_3a090 == "yes"
    return True


def _per_chip(rule: Rule, values: Mapping[str, float], catalog: Catalog) -> Measured:
    value = uncertain = 0.0
    unsure: list[str] = []
    for chip, qty in values.items():
        sel = _chip_selected(rule, chip, catalog)
        if sel is True:
            value += qty
        elif sel is None and qty > 0:
            uncertain += qty
            unsure.append(chip)
    note = f"chips of uncertain class: {', '.join(sorted(unsure))}" if unsure else ""
    return Measured(value, uncertain, note)


def measure(rule: Rule, usage: AccountUsage, catalog: Catalog) -> Measured:
    if rule.metric == "accelerator_hours":
        return _per_chip(rule, usage.accelerator_hours, catalog)
    if rule.metric == "peak_concurrent_accelerators":
        return _per_chip(rule, usage.peak_concurrent, catalog)
    if rule.metric == "instance_hours":
        return Measured(sum(usage.instance_hours.values()), 0.0)
    if rule.metric == "estimated_training_flop":
        if usage.flop is None:
            return Measured(0.0, 0.0)
        note = ""
        if usage.flop.excluded_hours:
            note = "hours without a usable FLOP/s figure: " + ", ".join(
                f"{c} {h:,.1f} h" for c, h in sorted(usage.flop.excluded_hours.items())
            )
        return Measured(usage.flop.value(rule.band), usage.flop.excluded_upper_bound, note)
    field = {
        "model_input_tokens": "input",
        "model_output_tokens": "output",
        "model_invocations": "invocations",
    }
    key = field[rule.metric]
    return Measured(sum(t[key] for t in usage.tokens.values()), 0.0)


def judge(rule: Rule, m: Measured | None, complete: bool) -> FindingStatus:
    """Decide BREACH / OK / UNKNOWN from a lower bound and how much it might still grow."""
    cmp = COMPARE[rule.comparison]
    if m is None:
        return FindingStatus.UNKNOWN
    upper_known = complete  # with incomplete coverage there is no upper bound at all
    if rule.comparison in (">", ">="):
        if cmp(m.value, rule.threshold):
            return FindingStatus.BREACH
        if not upper_known or cmp(m.value + m.uncertain, rule.threshold):
            return FindingStatus.UNKNOWN
        return FindingStatus.OK
    # '<' / '<=': breach when usage is below the threshold; the true value is >= m.value.
    if not cmp(m.value, rule.threshold):
        return FindingStatus.OK
    if upper_known and cmp(m.value + m.uncertain, rule.threshold):
        return FindingStatus.BREACH
    return FindingStatus.UNKNOWN


def evaluate_window(
    rules: Sequence[Rule], usages: Sequence[AccountUsage], window: Window, catalog: Catalog
) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        for usage in usages:
            m = None if usage.coverage_status == "failed" else measure(rule, usage, catalog)
            status = judge(rule, m, usage.complete)
            findings.append(_finding(rule, usage, window, m, status))
    return findings


def _finding(
    rule: Rule, usage: AccountUsage, window: Window, m: Measured | None, status: FindingStatus
) -> Finding:
    parts: list[str] = []
    if m is None:
        parts.append("no usage could be read for this account")
    elif not usage.complete:
        parts.append(f"coverage {usage.coverage_status}: the value is a lower bound")
    if m is not None and m.note:
        parts.append(m.note)
    evidence = [
        f"{metric}: {', '.join(sorted(methods))}"
        for metric, methods in sorted(usage.methods.items())
        if methods
    ]
    evidence += [f"gap {g.region} {g.collector}: {g.error_code}" for g in usage.gaps]
    return Finding(
        rule=rule,
        status=status,
        scope_kind="account",
        scope_key=f"{usage.account.provider}:{usage.account.account_id}",
        window=window,
        value=None if m is None else m.value,
        threshold=rule.threshold,
        detail="; ".join(parts),
        evidence=tuple(evidence),
    )


def rule_windows(rule: Rule, audit: Window) -> list[Window]:
    """The windows a rule is judged over within the audited period (calendar months are clipped)."""
    if rule.window == "audit_period":
        return [audit]
    out = []
    for month in audit.calendar_months():
        clipped = audit.clip(month.start, month.end)
        if clipped:
            out.append(Window(*clipped))
    return out
