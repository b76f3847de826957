"""Built-in know-your-customer checks: usage with nobody registered behind the account, and
usage by a customer in a restricted country group (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from computewatch.config.customers import Registry
from computewatch.domain import CoverageLevel, Finding, LegalStatus, Rule, Window
from computewatch.engine.evaluate import judge, make_finding
from computewatch.engine.measures import Measured
from computewatch.engine.scopes import ScopeUsage, scope_usage, scopes_for
from computewatch.engine.usage import AccountUsage

KYC_BASIS = (
    "Customer Identification Program for IaaS providers and their foreign resellers (BIS proposed "
    "rule, not adopted; its foreign-person training-run report, proposed 15 CFR 7.308, rested on "
    "EO 14110 §4.2(c), revoked by EO 14148 on 20 Jan 2025)"
)
KYC_CITATION = "BIS proposed rule, 89 FR 5698 (29 Jan 2024), proposed 15 CFR 7.300-7.310"
# In force: BIS's policy statement of 13 May 2025 on the knowledge-based licence requirements of
# 15 CFR 744 for IaaS that helps train AI models for parties headquartered in D:5 or Macau.
RESTRICTED_BASIS = (
    "BIS policy statement of 13 May 2025 (controls that may apply to advanced computing ICs and "
    "other commodities used to train AI models) and its red-flag guidance: the knowledge-based "
    "licence requirements of 15 CFR 744.6, 744.22 and 744.23 reach US persons, including IaaS "
    "providers, that support training of AI models for or on behalf of parties headquartered in, or "
    "whose ultimate parent is headquartered in, D:5 or Macau, where there is knowledge of a WMD or "
    "military-intelligence end use. Usage here is a red flag calling for due diligence, not a "
    "violation by itself"
)
RESTRICTED_CITATION = "15 CFR 744.6, 744.22, 744.23; BIS policy statement and guidance, 13 May 2025"
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


def restricted_rule(restricted: Sequence[str]) -> Rule:
    return replace(
        UNREGISTERED,
        id="kyc-restricted-country-usage",
        title="Accelerator or frontier-model usage by a party headquartered (or with ultimate parent) "
        f"in country group {' / '.join(restricted)}: red flag for due diligence",
        legal_basis=RESTRICTED_BASIS,
        citation=RESTRICTED_CITATION,
        legal_status=LegalStatus.IN_FORCE,
        scope="customer",
        severity="critical",
        country_groups=tuple(restricted),
    )


def kyc_findings(
    usages: Sequence[AccountUsage], registry: Registry, restricted: Sequence[str], window: Window
) -> list[Finding]:
    out: list[Finding] = []
    for u in usages:
        if registry.customer_of(u.account.provider, u.account.account_id) is not None:
            continue
        failed = u.coverage is CoverageLevel.FAILED
        m = None if failed else Measured(u.usage_total(), 0.0)
        account_scope = ScopeUsage(scopes_for("account", [u], registry)[0], u)
        out.append(_finding(UNREGISTERED, account_scope, window, m))
    if restricted:
        rule = restricted_rule(restricted)
        for customer_scope in scopes_for("customer", usages, registry, restricted):
            su = scope_usage(customer_scope)
            failed = su.usage.coverage is CoverageLevel.FAILED
            m = None if failed else Measured(su.usage.usage_total(), 0.0)
            out.append(_finding(rule, su, window, m))
    return out


def _finding(rule: Rule, su: ScopeUsage, window: Window, m: Measured | None) -> Finding:
    status = judge(rule, m, su.complete)
    detail = "" if m is not None else "no usage could be read"
    if m is not None and not su.complete:
        detail = f"coverage {su.usage.coverage}: usage may be missing"
    if su.scope.basis:
        detail = "; ".join(filter(None, [detail, su.scope.basis]))
    return make_finding(rule, status, su, window, m, detail, [])
