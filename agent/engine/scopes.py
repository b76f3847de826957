"""Roll account usage up to the scopes rules speak of: customer, intermediary, country group,
organization (pure). One customer on AWS through a reseller and on Azure directly is one total."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from computewatch.config.customers import Registry
from computewatch.domain import Account
from computewatch.engine.estimates import FlopBand
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


def _add_into(target: dict[str, float], source: dict[str, float]) -> None:
    for k, v in source.items():
        target[k] = target.get(k, 0.0) + v


def combine(label: Account, usages: Sequence[AccountUsage]) -> AccountUsage:
    """One usage view over several accounts; coverage is complete only if every member's is."""
    gaps = [g for u in usages for g in u.gaps]
    statuses = [u.coverage_status for u in usages]
    if not usages or all(s == "failed" for s in statuses):
        status = "failed" if usages else "complete"
    elif all(s == "complete" for s in statuses):
        status = "complete"
    else:
        status = "partial"
    out = AccountUsage(
        label, status, gaps, sum(u.units_read for u in usages), sum(u.units_total for u in usages)
    )
    flops: list[FlopBand] = []
    for u in usages:
        _add_into(out.accelerator_hours, u.accelerator_hours)
        _add_into(out.instance_hours, u.instance_hours)
        _add_into(out.peak_concurrent, u.peak_concurrent)  # an upper bound across accounts
        _add_into(out.training_hours, u.training_hours)
        _add_into(out.customization_jobs, u.customization_jobs)
        for model, t in u.tokens.items():
            slot = out.tokens.setdefault(model, {"input": 0.0, "output": 0.0, "invocations": 0.0})
            for k, v in t.items():
                slot[k] += v
        for metric, methods in u.methods.items():
            out.methods[metric] |= methods
        if u.flop is not None:
            flops.append(u.flop)
    if flops and status != "failed":
        excluded: dict[str, float] = {}
        for f in flops:
            _add_into(excluded, dict(f.excluded_hours))
        out.flop = FlopBand(
            sum(f.low for f in flops),
            sum(f.central for f in flops),
            sum(f.high for f in flops),
            excluded,
            sum(f.excluded_upper_bound for f in flops),
        )
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
        Scope(kind, key, registry.customers[key].legal_name, tuple(members))
        for key, members in sorted(grouped.items())
    ]


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
