"""Roll account usage up to the scopes rules speak of: customer, intermediary, country group,
organization (pure). One customer on AWS through a reseller and on Azure directly is one total."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from computewatch.config.customers import Registry
from computewatch.domain import Account, CoverageLevel
from computewatch.engine.estimates import TppHours, sum_bands
from computewatch.engine.usage import AccountUsage


@dataclass(frozen=True)
class Scope:
    """What a rule is judged over: `members` surely belong to it; `uncertain` might (an account
    with no registered customer might be in any country group)."""

    kind: str
    key: str
    label: str
    members: tuple[AccountUsage, ...]
    uncertain: tuple[AccountUsage, ...] = ()
    basis: str = ""  # why the scope is in the rule's country groups, when not self-evident


def combine(label: Account, usages: Sequence[AccountUsage]) -> AccountUsage:
    """One usage view over several accounts, metric by metric as the metric table says (sums;
    peaks add up to an upper bound); coverage is complete only if every member's is."""
    levels = [u.coverage for u in usages]
    if not usages:
        level = CoverageLevel.COMPLETE
    elif all(lv is CoverageLevel.FAILED for lv in levels):
        level = CoverageLevel.FAILED
    elif all(lv is CoverageLevel.COMPLETE for lv in levels):
        level = CoverageLevel.COMPLETE
    else:
        level = CoverageLevel.PARTIAL
    out = AccountUsage(
        label,
        level,
        [g for u in usages for g in u.gaps],
        sum(u.units_read for u in usages),
        sum(u.units_total for u in usages),
    )
    for u in usages:
        for metric, by_key in u.values.items():
            for key, qty in by_key.items():
                out.add(metric, key, qty)
        for name, methods in u.methods.items():
            out.methods[name] |= methods
    # A roll-up is known only if every member's estimate is: one unknown makes the sum unknown.
    flops = [u.flop for u in usages if u.flop is not None]
    if flops and len(flops) == len(usages):
        out.flop = sum_bands(flops)
    tpps = [u.tpp for u in usages if u.tpp is not None]
    if tpps and len(tpps) == len(usages):
        left_out = tuple(sorted({c for x in tpps for c in x.left_out}))
        out.tpp = TppHours(sum(x.value for x in tpps), left_out)
    return out


def _in_groups(u: AccountUsage, groups: Iterable[str], registry: Registry) -> bool | None:
    """Is the account's customer in one of `groups`? None when nobody is registered for it."""
    customer = registry.customer_of(u.account.provider, u.account.account_id)
    if customer is None:
        return None
    return bool(registry.groups(customer) & set(groups))


def scopes_for(
    kind: str, usages: Sequence[AccountUsage], registry: Registry, groups: Sequence[str] = ()
) -> list[Scope]:
    """Scopes of one kind; with `groups`, only accounts of customers in those country groups."""

    def split(us: Iterable[AccountUsage]) -> tuple[list[AccountUsage], list[AccountUsage]]:
        sure, maybe = [], []
        for u in us:
            inside = True if not groups else _in_groups(u, groups, registry)
            if inside is True:
                sure.append(u)
            elif inside is None:
                maybe.append(u)
        return sure, maybe

    if kind == "account":
        out = []
        for u in usages:
            sure, maybe = split([u])
            if sure or maybe:
                key = f"{u.account.provider}:{u.account.account_id}"
                out.append(Scope("account", key, u.account.name or key, tuple(sure), tuple(maybe)))
        return out
    if kind == "organization":
        sure, maybe = split(usages)
        return [
            Scope("organization", "organization", "whole organization", tuple(sure), tuple(maybe))
        ]
    if kind == "country_group":
        names = list(groups) or sorted(registry_groups(registry))
        out = []
        for g in names:
            sure = [u for u in usages if _in_groups(u, [g], registry) is True]
            maybe = [u for u in usages if _in_groups(u, [g], registry) is None]
            out.append(Scope("country_group", g, f"country group {g}", tuple(sure), tuple(maybe)))
        return out
    grouped: dict[str, list[AccountUsage]] = defaultdict(list)
    for u in split(usages)[0]:
        customer = registry.customer_of(u.account.provider, u.account.account_id)
        if customer is None:
            continue  # unregistered accounts are a KYC finding of their own
        owner = customer.id if kind == "customer" else customer.intermediary
        if owner is not None:
            grouped[owner].append(u)
    return [
        Scope(
            kind,
            key,
            registry.customers[key].legal_name,
            tuple(members),
            basis=_basis(registry, key, groups),
        )
        for key, members in sorted(grouped.items())
    ]


def _basis(registry: Registry, customer_id: str, groups: Sequence[str]) -> str:
    """When the customer is in the rule's groups only through its ultimate parent's headquarters,
    that reason (the reader must see why a Singapore company is in D:5)."""
    c = registry.customers[customer_id]
    via = sorted(registry.groups_via_parent(c) & set(groups))
    if not via or c.ultimate_parent is None:
        return ""
    p = c.ultimate_parent
    return (
        f"headquarters test: in {', '.join(via)} through ultimate parent {p.name}, {p.country} "
        f"(own headquarters {c.country})"
    )


def registry_groups(registry: Registry) -> set[str]:
    return {g for c in registry.customers.values() for g in registry.groups(c)}


@dataclass
class ScopeUsage:
    """A scope with its combined usage (sure members) and what uncertain members could add."""

    scope: Scope
    usage: AccountUsage
    uncertain: AccountUsage | None = field(default=None)

    @property
    def complete(self) -> bool:
        return self.usage.complete and (self.uncertain is None or self.uncertain.complete)


def scope_usage(scope: Scope) -> ScopeUsage:
    label = Account("scope", scope.key, scope.label)
    usage = combine(label, scope.members)
    uncertain = combine(label, scope.uncertain) if scope.uncertain else None
    return ScopeUsage(scope, usage, uncertain)
