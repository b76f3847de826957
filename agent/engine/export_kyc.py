"""Know-your-customer from billing exports (pure): an Azure CSP's FOCUS export names the reseller
and the customer tenant on every row. Where they disagree with the registry, or the registry has
no entry for the subscription, that is a finding; where they agree, an OK one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from computewatch.config.customers import Registry
from computewatch.domain import Finding, FindingStatus, Window
from computewatch.domain.deliveries import AccountClaim, ExportDelivery
from computewatch.engine.kyc import UNREGISTERED

EXPORT_CLAIMS = replace(
    UNREGISTERED,
    id="kyc-export-claims",
    title="The billing export names a customer or reseller the registry does not",
    metric="export_claim_mismatches",
)


def _same(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[\W_]+", " ", s.casefold()).strip()

    return norm(a) == norm(b)


def claims_of(deliveries: Sequence[ExportDelivery]) -> list[AccountClaim]:
    """One claim per account: the latest delivery's, where it names a customer or reseller."""
    out: dict[tuple[str, str], AccountClaim] = {}
    for d in sorted(deliveries, key=lambda d: d.billing_period):
        for c in d.accounts:
            if c.customer_name or c.reseller_name:
                out[(c.provider, c.account_id)] = c
    return [out[k] for k in sorted(out)]


def export_claim_findings(
    deliveries: Sequence[ExportDelivery], registry: Registry, window: Window
) -> list[Finding]:
    findings = []
    for c in claims_of(deliveries):
        problems = []
        customer = registry.customer_of(c.provider, c.account_id)
        said = (
            f"customer {c.customer_name or '(none)'} through reseller {c.reseller_name or '(none)'}"
        )
        if customer is None:
            problems.append(f"export names {said}; the registry has no entry")
        else:
            if c.customer_name and not _same(c.customer_name, customer.legal_name):
                problems.append(
                    f"export customer {c.customer_name!r} != registry {customer.legal_name!r}"
                )
            middle = registry.intermediary_of(customer)
            if c.reseller_name and (
                middle is None or not _same(c.reseller_name, middle.legal_name)
            ):
                registered = middle.legal_name if middle else "no intermediary"
                problems.append(f"export reseller {c.reseller_name!r} != registry {registered!r}")
        findings.append(
            Finding(
                rule=EXPORT_CLAIMS,
                status=FindingStatus.BREACH if problems else FindingStatus.OK,
                scope_kind="account",
                scope_key=f"{c.provider}:{c.account_id}",
                window=window,
                value=float(len(problems)),
                threshold=EXPORT_CLAIMS.threshold,
                detail="; ".join(problems) or f"export agrees with the registry: {said}",
                evidence=(
                    f"billing export: {said} (ids {c.customer_id or '-'}, {c.reseller_id or '-'})",
                ),
                members=(f"{c.provider}:{c.account_id}",),
            )
        )
    return findings
