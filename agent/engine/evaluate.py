"""Rules x usage -> findings. Pure: no I/O, no clock; windows and the registry are passed in.

Status logic for a 'more than' rule: BREACH when the usage read already crosses the threshold
(missing data can only add usage); otherwise UNKNOWN when coverage is incomplete or part of the
usage is of uncertain size or membership (unknown chips, unconfirmed figures, accounts with no
registered customer) that could still cross it; else OK. 'Less than' rules are the mirror image.
"""

from __future__ import annotations

import fnmatch
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from computewatch.config.customers import Registry
from computewatch.domain import Finding, FindingStatus, LegalStatus, Rule, Window
from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog
from computewatch.engine.estimates import implied_cluster_flops, max_usable_flops
from computewatch.engine.scopes import ScopeUsage, scope_usage, scopes_for
from computewatch.engine.usage import AccountUsage

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
TOKEN_FIELDS = {
    "model_input_tokens": ("input",),
    "model_output_tokens": ("output",),
    "model_tokens": ("input", "output"),
    "model_invocations": ("invocations",),
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


def _per_chip(
    rule: Rule, values: dict[str, float], catalog: Catalog, weight: Callable[[str], float]
) -> Measured:
    value = uncertain = 0.0
    unsure: list[str] = []
    for chip, qty in values.items():
        sel = _chip_selected(rule, chip, catalog)
        if sel is True:
            value += qty * weight(chip)
        elif sel is None and qty > 0:
            uncertain += qty * weight(chip)
            unsure.append(chip)
    note = f"chips of uncertain class: {', '.join(sorted(unsure))}" if unsure else ""
    return Measured(value, uncertain, note)


def measure(rule: Rule, usage: AccountUsage, catalog: Catalog) -> Measured:
    one: Callable[[str], float] = lambda _chip: 1.0  # noqa: E731
    if rule.metric == "accelerator_hours":
        return _per_chip(rule, usage.accelerator_hours, catalog, one)
    if rule.metric == "training_job_accelerator_hours":
        return _per_chip(rule, usage.training_hours, catalog, one)
    if rule.metric == "peak_concurrent_accelerators":
        return _per_chip(rule, usage.peak_concurrent, catalog, one)
    if rule.metric == "implied_cluster_flops":

        def flops(chip: str) -> float:
            known = implied_cluster_flops({chip: 1.0}, catalog)
            return known if known > 0 else max_usable_flops(catalog)  # unknown: assume the fastest

        m = _per_chip(rule, usage.peak_concurrent, catalog, flops)
        missing = [
            c for c in usage.peak_concurrent if implied_cluster_flops({c: 1.0}, catalog) == 0
        ]
        if missing:  # chips without a usable FLOP/s figure: at most the fastest chip's rate
            certain = implied_cluster_flops(
                {c: n for c, n in usage.peak_concurrent.items() if c not in missing}, catalog
            )
            sure = min(m.value, certain)
            return Measured(
                sure,
                m.value - sure + m.uncertain,
                f"no usable FLOP/s for {', '.join(sorted(missing))}",
            )
        return m
    if rule.metric == "instance_hours":
        return Measured(sum(usage.instance_hours.values()), 0.0)
    if rule.metric == "model_customization_jobs":
        jobs = {m: n for m, n in usage.customization_jobs.items() if _model_selected(rule, m)}
        return Measured(sum(jobs.values()), 0.0)
    if rule.metric == "estimated_training_flop":
        if usage.flop is None:
            return Measured(0.0, 0.0)
        note = ""
        if usage.flop.excluded_hours:
            note = "hours without a usable FLOP/s figure: " + ", ".join(
                f"{c} {h:,.1f} h" for c, h in sorted(usage.flop.excluded_hours.items())
            )
        return Measured(usage.flop.value(rule.band), usage.flop.excluded_upper_bound, note)
    fields = TOKEN_FIELDS[rule.metric]
    total = sum(t[f] for m, t in usage.tokens.items() if _model_selected(rule, m) for f in fields)
    return Measured(total, 0.0)


def _model_selected(rule: Rule, model: str) -> bool:
    return not rule.model_pattern or fnmatch.fnmatchcase(model, rule.model_pattern)


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
            su = scope_usage(scope)
            findings.append(_judge_scope(rule, su, window, catalog))
    return findings


def _judge_scope(rule: Rule, su: ScopeUsage, window: Window, catalog: Catalog) -> Finding:
    usage = su.usage
    failed = usage.coverage_status == "failed" and bool(su.scope.members)
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
        notes.insert(0, f"coverage {usage.coverage_status}: the value is a lower bound")
    if m is not None and m.note:
        notes.append(m.note)
    evidence = [
        f"{metric}: {', '.join(sorted(ms))}" for metric, ms in sorted(usage.methods.items()) if ms
    ]
    evidence += [f"gap {g.account_id} {g.region} {g.collector}: {g.error_code}" for g in usage.gaps]
    return _make_finding(rule, status, su, window, m, "; ".join(notes), evidence)


def _make_finding(
    rule: Rule,
    status: FindingStatus,
    su: ScopeUsage,
    window: Window,
    m: Measured | None,
    detail: str,
    evidence: list[str],
) -> Finding:
    members = [f"account {u.account.provider}:{u.account.account_id}" for u in su.scope.members]
    return Finding(
        rule=rule,
        status=status,
        scope_kind=su.scope.kind,
        scope_key=su.scope.key if su.scope.kind == "account" else f"{su.scope.kind}:{su.scope.key}",
        window=window,
        value=None if m is None else m.value,
        threshold=rule.threshold,
        detail=detail,
        evidence=tuple(evidence + members),
    )


KYC_BASIS = "Customer Identification Program for IaaS providers and their foreign resellers"
KYC_CITATION = "BIS proposed rule, 89 FR 5698 (29 Jan 2024), proposed 15 CFR 7.300-7.310"
UNREGISTERED = Rule(
    id="kyc-unregistered-account",
    title="Accelerator or frontier-model usage on an account with no registered customer",
    legal_basis=KYC_BASIS,
    citation=KYC_CITATION,
    legal_status=LegalStatus.PROPOSED,
    metric="any_usage",
    scope="account",
    window="audit_period",
    comparison=">",
    threshold=0,
    severity="high",
)


def _has_usage(u: AccountUsage) -> float:
    return (
        sum(u.accelerator_hours.values())
        + sum(u.training_hours.values())
        + sum(t["input"] + t["output"] + t["invocations"] for t in u.tokens.values())
    )


def kyc_findings(
    usages: Sequence[AccountUsage], registry: Registry, restricted: Sequence[str], window: Window
) -> list[Finding]:
    """Built-in know-your-customer checks: usage with nobody registered behind the account, and
    usage by a customer in a restricted country group."""
    out: list[Finding] = []
    for u in usages:
        if registry.customer_of(u.account.provider, u.account.account_id) is not None:
            continue
        m = None if u.coverage_status == "failed" else Measured(_has_usage(u), 0.0)
        account_scope = ScopeUsage(scopes_for("account", [u], registry)[0], u)
        out.append(_finding(UNREGISTERED, account_scope, window, m))
    if restricted:
        rule = replace(
            UNREGISTERED,
            id="kyc-restricted-country-usage",
            title=f"Accelerator or frontier-model usage by a customer in country group {' / '.join(restricted)}",
            legal_basis=KYC_BASIS
            + "; remote access to 3A090-class chips (Remote Access Security Act, H.R. 2683)",
            scope="customer",
            severity="critical",
            country_groups=tuple(restricted),
        )
        for customer_scope in scopes_for("customer", usages, registry, restricted):
            su = scope_usage(customer_scope)
            failed = su.usage.coverage_status == "failed"
            out.append(
                _finding(rule, su, window, None if failed else Measured(_has_usage(su.usage), 0.0))
            )
    return out


def _finding(rule: Rule, su: ScopeUsage, window: Window, m: Measured | None) -> Finding:
    status = judge(rule, m, su.complete)
    detail = "" if m is not None else "no usage could be read"
    if m is not None and not su.complete:
        detail = f"coverage {su.usage.coverage_status}: usage may be missing"
    return _make_finding(rule, status, su, window, m, detail, [])


def rule_windows(rule: Rule, audit: Window) -> list[Window]:
    """The windows a rule is judged over within the audited period (calendar periods are clipped;
    a rolling window ends where the audited period ends)."""
    if rule.window == "audit_period":
        return [audit]
    if rule.window == "rolling_days":
        return [Window(audit.end - timedelta(days=rule.window_days), audit.end)]
    periods = audit.calendar_months()
    if rule.window == "quarter":
        periods = []
        for month in audit.calendar_months():
            q = Window.quarter(f"{month.start.year}-Q{(month.start.month - 1) // 3 + 1}")
            if q not in periods:
                periods.append(q)
    out = []
    for period in periods:
        clipped = audit.clip(period.start, period.end)
        if clipped:
            out.append(Window(*clipped))
    return out
