"""Rules x usage -> findings. Pure: no I/O, no clock; windows and the registry are passed in.

Status logic for a 'more than' rule: BREACH when the usage read already crosses the threshold
(missing data can only add usage); otherwise UNKNOWN when coverage is incomplete or part of the
usage is of uncertain size or membership (unknown chips, unconfirmed figures, accounts with no
registered customer) that could still cross it; else OK. 'Less than' rules are the mirror image.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import timedelta

from computewatch.config.customers import Registry
from computewatch.domain import CoverageLevel, Finding, FindingStatus, Rule, ScopeKind, Window
from computewatch.domain.catalog import Catalog
from computewatch.engine.measures import Measured, measure
from computewatch.engine.scopes import ScopeUsage, scope_usage, scopes_for
from computewatch.engine.stored_coverage import unread_stretch
from computewatch.engine.usage import AccountUsage

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def judge(rule: Rule, m: Measured | None, complete: bool) -> FindingStatus:
    """Decide BREACH / OK / UNKNOWN from a lower bound and how much it might still grow."""
    cmp = COMPARE[rule.comparison]
    if m is None:
        return FindingStatus.UNKNOWN
    if rule.comparison in (">", ">="):
        if cmp(m.value, rule.threshold):
            return FindingStatus.BREACH
        if not complete or cmp(m.value + m.uncertain, rule.threshold):
            return FindingStatus.UNKNOWN  # with incomplete coverage there is no upper bound at all
        return FindingStatus.OK
    # '<' / '<=': breach when usage is below the threshold; the true value is >= m.value.
    if not cmp(m.value, rule.threshold):
        return FindingStatus.OK
    if complete and cmp(m.value + m.uncertain, rule.threshold):
        return FindingStatus.BREACH
    return FindingStatus.UNKNOWN


def _provider_filtered(rule: Rule, usages: Sequence[AccountUsage]) -> list[AccountUsage]:
    return [u for u in usages if not rule.provider or u.account.provider == rule.provider]


def evaluate_window(
    rules: Sequence[Rule],
    usages: Sequence[AccountUsage],
    window: Window,
    catalog: Catalog,
    registry: Registry | None = None,
) -> list[Finding]:
    registry = registry or Registry([])
    findings: list[Finding] = []
    for rule in rules:
        for scope in scopes_for(
            rule.scope, _provider_filtered(rule, usages), registry, rule.country_groups
        ):
            findings.append(_judge_scope(rule, scope_usage(scope), window, catalog))
    return findings


def _judge_scope(rule: Rule, su: ScopeUsage, window: Window, catalog: Catalog) -> Finding:
    usage = su.usage
    failed = usage.coverage is CoverageLevel.FAILED and bool(su.scope.members)
    m = None if failed else measure(rule, usage, catalog)
    notes: list[str] = []
    if m is not None and su.uncertain is not None:
        extra = measure(rule, su.uncertain, catalog)
        m = Measured(m.value, m.uncertain + extra.value + extra.uncertain, m.note)
        notes.append(
            f"{len(su.scope.uncertain)} account(s) with no registered customer might belong to this scope"
        )
    status = judge(rule, m, su.complete)
    if m is None:
        notes.insert(0, "no usage could be read for this scope")
    elif not su.complete:
        notes.insert(0, f"coverage {usage.coverage}: the value is a lower bound")
    if m is not None and m.note:
        notes.append(m.note)
    if su.scope.basis:
        notes.append(su.scope.basis)
    return make_finding(rule, status, su, window, m, "; ".join(notes), evidence_of(usage))


def evidence_of(usage: AccountUsage) -> list[str]:
    """How each metric was measured, and every unit that could not be read."""
    methods = [
        f"{metric}: {', '.join(sorted(ms))}" for metric, ms in sorted(usage.methods.items()) if ms
    ]
    gaps = sorted(
        f"gap {g.account_id} {g.region} {g.collector}: {g.error_code}{unread_stretch(g)}"
        for g in usage.gaps
    )
    return methods + gaps


def make_finding(
    rule: Rule,
    status: FindingStatus,
    su: ScopeUsage,
    window: Window,
    m: Measured | None,
    detail: str,
    evidence: list[str],
) -> Finding:
    kind = ScopeKind(su.scope.kind)
    return Finding(
        rule=rule,
        status=status,
        scope_kind=str(kind),
        scope_key=su.scope.key if kind is ScopeKind.ACCOUNT else f"{kind}:{su.scope.key}",
        window=window,
        value=None if m is None else m.value,
        threshold=rule.threshold,
        detail=detail,
        evidence=tuple(evidence),
        members=tuple(u.label for u in su.scope.members),
        uncertain_members=tuple(u.label for u in su.scope.uncertain),
    )


def rule_windows(rule: Rule, audit: Window) -> list[Window]:
    """The windows a rule is judged over (calendar months are clipped to the audited period; a
    quarter is read from its first day, since its thresholds are cumulative over the quarter, up to
    the audit's end; a rolling window ends where the audited period ends). A window that starts
    before the audited period is judged on what the store holds there (see judge_rules)."""
    if rule.window == "audit_period":
        return [audit]
    if rule.window == "rolling_days":
        return [Window(audit.end - timedelta(days=rule.window_days), audit.end)]
    if rule.window == "quarter":
        return [
            Window(q.start, min(q.end, audit.end))
            for q in audit.calendar_quarters()
            if audit.intersection(q) is not None
        ]
    periods = audit.calendar_months()
    return [part for period in periods if (part := audit.intersection(period)) is not None]
