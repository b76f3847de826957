"""What the printed audit shows and where: exceptions first, OK results as counts, long names
clipped with the full text in an appendix (and in the CSV/XLSX annex).

Built from the audit context only (nothing is recomputed). Every list the PDF prints in full is
either an exception (a crossing, an unknown, a gap) or bounded by `LISTING_LIMIT`, so the page
count grows with the exceptions, not with the fleet; the data annex and the JSON carry the rest.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from computewatch.reports.context import (
    AccountView,
    AuditContext,
    CustomerRollup,
    GapView,
    Reconciliation,
)
from computewatch.reports.finding_view import FindingView

NAME_WIDTH = 60  # display columns (a CJK character counts 2) before a name is clipped
TEXT_WIDTH = 240  # free text from outside (error messages, details) in table cells
LISTING_LIMIT = 100  # rows of a non-exception listing before the PDF refers to the annex
# Accounts given a detail block (about a third of a page each; 50 keeps the 1,000-account audit PDF
# and its print worker within bounds): those with the most breaches, then
# unknowns, then gaps. Every finding stays listed in the exceptions; the rest is in the annex.
DETAIL_LIMIT = 50
# Finding rows printed in section 2 (one line each, about 55 a page): beyond it the report says how
# many findings of how many customers are not printed, and that every one is in the annex.
FINDING_ROW_LIMIT = 1000
# A finding's detail ("coverage partial: the value is a lower bound; ...") is mostly the same for
# many rows: each distinct text of the listed rows is printed once under the table and the row
# names its note. Beyond this many distinct texts the rest are clipped to a line in their row.
DETAIL_NOTE_LIMIT = 50
APPENDIX_TEXT_LIMIT = 2000  # characters of one shortened name printed in the appendix
LEGAL_ORDER = ("in-force", "proposed", "bill", "internal-policy", "revoked")
NO_CUSTOMER = "Accounts without a registered customer"
ACROSS = "Across customers (country groups, organization)"


def char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def clip(text: str, width: int) -> str:
    """`text` cut to `width` display columns, with an ellipsis when anything was cut."""
    used = 0
    for i, ch in enumerate(text):
        used += char_width(ch)
        if used > width:
            return text[: max(i - 1, 0)] + "…"
    return text


@dataclass
class Names:
    """Clips names for tables and headings and remembers what it clipped, so the appendix can
    print each full text once, under the reference shown next to the clipped form."""

    width: int = NAME_WIDTH
    refs: dict[str, str] = field(default_factory=dict)  # full text -> "N1", "N2", ...

    def short(self, text: str | None, width: int | None = None) -> str:
        text = text or ""
        short = clip(text, width or self.width)
        if short == text:
            return text
        ref = self.refs.setdefault(text, f"N{len(self.refs) + 1}")
        return f"{short} [{ref}]"

    def appendix(self) -> list[tuple[str, list[str], int]]:
        """(ref, chunks of the full text, characters left out): chunks give the line breaker
        a break every 40 characters, so one unbroken 5,000-character name lays out linearly."""
        out = []
        for text, ref in self.refs.items():
            shown = text[:APPENDIX_TEXT_LIMIT]
            chunks = [shown[i : i + 40] for i in range(0, len(shown), 40)]
            out.append((ref, chunks, len(text) - len(shown)))
        return out


@dataclass(frozen=True, slots=True)
class StatusCount:
    legal_status: str
    breach: int
    unknown: int
    ok: int


@dataclass(frozen=True, slots=True)
class CustomerExceptions:
    """The crossings and unknowns of one customer (or of the accounts no customer owns)."""

    name: str
    country: str
    findings: tuple[FindingView, ...]

    @property
    def breaches(self) -> int:
        return sum(1 for f in self.findings if f.status == "BREACH")

    @property
    def unknowns(self) -> int:
        return sum(1 for f in self.findings if f.status == "UNKNOWN")


@dataclass(frozen=True, slots=True)
class GapGroup:
    """The units that failed with one error code and one message: one row for an account's
    regions x collectors, and one row for every account a daemon downtime or an outage touched
    alike (a sampling gap of the whole fleet costs a line, not 180 pages)."""

    provider: str
    accounts: tuple[str, ...]  # account ids, in order
    error_code: str
    units: int
    regions: tuple[str, ...]
    collectors: tuple[str, ...]
    message: str  # the first unit's message; the others are in the JSON report and the annex

    @property
    def account_id(self) -> str:
        """The one account of the row ("" when it holds several)."""
        return self.accounts[0] if len(self.accounts) == 1 else ""


@dataclass(frozen=True, slots=True)
class RuleText:
    """A rule with a crossing or an unknown result: its title and legal text, printed once."""

    rule_id: str
    title: str
    legal_basis: str
    citation: str
    legal_status: str
    breaches: int
    unknowns: int
    framings: tuple[
        str, ...
    ] = ()  # how its results are worded ("threshold crossed (bill, not law)")


@dataclass(frozen=True, slots=True)
class RuleCount:
    rule_id: str
    title: str
    ok: int


@dataclass(frozen=True, slots=True)
class PrintView:
    coverage_sentence: str
    headline_scope: str
    unread_sentence: str
    unread_codes: tuple[tuple[str, int], ...]
    gap_groups: tuple[GapGroup, ...]  # up to LISTING_LIMIT rows
    gap_rows_total: int
    by_legal_status: tuple[StatusCount, ...]
    exceptions: tuple[CustomerExceptions, ...]
    exceptions_listed: tuple[CustomerExceptions, ...]  # worst first, up to FINDING_ROW_LIMIT rows
    rules_crossed: tuple[RuleText, ...]
    ok_by_rule: tuple[RuleCount, ...]
    ok_listed: tuple[FindingView, ...]
    ok_total: int
    detail_accounts: tuple[AccountView, ...]
    detail_total: int
    other_accounts: tuple[AccountView, ...]
    other_total: int
    customers: tuple[CustomerRollup, ...]  # those with exceptions first, up to the limit
    customers_total: int
    reconciliation: tuple[tuple[AccountView, Reconciliation], ...]  # largest variance first
    reconciliation_total: int
    names: Names
    detail_notes: dict[str, int]  # a listed finding's detail -> its note number (1, 2, ...)

    @property
    def exception_total(self) -> int:
        return sum(len(c.findings) for c in self.exceptions)

    @property
    def unlisted(self) -> tuple[int, int, int]:
        """(BREACH, UNKNOWN, customers) of the findings section 2 does not print."""
        # exceptions_listed is a prefix of exceptions, its last customer possibly cut short
        shown = [len(c.findings) for c in self.exceptions_listed]
        shown += [0] * (len(self.exceptions) - len(shown))
        rest = [f for c, n in zip(self.exceptions, shown, strict=True) for f in c.findings[n:]]
        customers = sum(
            1 for c, n in zip(self.exceptions, shown, strict=True) if len(c.findings) > n
        )
        breaches = sum(1 for f in rest if f.status == "BREACH")
        return breaches, len(rest) - breaches, customers


def coverage_sentence(ctx: AuditContext) -> str:
    c = ctx.coverage
    if c.status == "complete":
        return f"All {c.accounts_total} configured accounts were read in full for the period."
    read = c.accounts_complete
    return (
        f"Coverage is {c.status}: {read} of {c.accounts_total} accounts were read in full, "
        f"{c.accounts_partial} in part and {c.accounts_failed} not at all; what was not read "
        "is unknown, not zero, so totals are lower bounds."
    )


def _unread(ctx: AuditContext) -> tuple[str, tuple[tuple[str, int], ...]]:
    gaps = ctx.coverage.gaps
    if not gaps:
        return "Nothing: every account, region and collector was read.", ()
    accounts = {(g.provider, g.account_id) for g in gaps}
    codes = Counter(g.error_code for g in gaps).most_common()
    sentence = (
        f"{len(gaps)} account/region/collector unit(s) in {len(accounts)} account(s) "
        "could not be read."
    )
    return sentence, tuple(codes)


def _gap_groups(ctx: AuditContext) -> tuple[GapGroup, ...]:
    """Gaps grouped by account and error, then the accounts whose rows say the same (error,
    message, regions, collectors) merged into one row."""
    per_account: dict[tuple[str, str, str], list[GapView]] = {}
    for g in ctx.coverage.gaps:
        per_account.setdefault((g.provider, g.account_id, g.error_code), []).append(g)
    Key = tuple[str, str, tuple[str, ...], tuple[str, ...], str]
    merged: dict[Key, list[tuple[str, list[GapView]]]] = {}
    for (provider, account, code), gs in per_account.items():
        regions = tuple(sorted({g.region for g in gs}))
        collectors = tuple(sorted({g.collector for g in gs}))
        key = (provider, code, regions, collectors, gs[0].error_message)
        merged.setdefault(key, []).append((account, gs))
    return tuple(
        GapGroup(
            provider,
            tuple(a for a, _ in members),
            code,
            sum(len(gs) for _, gs in members),
            regions,
            collectors,
            message,
        )
        for (provider, code, regions, collectors, message), members in merged.items()
    )


def _customer_of(ctx: AuditContext) -> dict[str, tuple[str, str]]:
    """scope key -> (customer name, country) for every key a finding can name."""
    out: dict[str, tuple[str, str]] = {}
    for a in ctx.accounts:
        key = f"{a.provider}:{a.account_id}"
        out[key] = (a.customer.legal_name, a.customer.country) if a.customer else (NO_CUSTOMER, "")
    for c in ctx.customers:
        out[f"customer:{c.customer.id}"] = (c.customer.legal_name, c.customer.country)
        out[f"intermediary:{c.customer.id}"] = (c.customer.legal_name, c.customer.country)
    return out


def _exceptions(ctx: AuditContext) -> tuple[CustomerExceptions, ...]:
    owner = _customer_of(ctx)
    groups: dict[tuple[str, str], list[FindingView]] = {}
    for f in ctx.findings:
        if f.status == "OK":
            continue
        groups.setdefault(owner.get(f.scope_key, (ACROSS, "")), []).append(f)
    rank = {"BREACH": 0, "UNKNOWN": 1}
    legal = {s: i for i, s in enumerate(LEGAL_ORDER)}

    def order(f: FindingView) -> tuple[int, int, str]:
        return (rank.get(f.status, 2), legal.get(f.legal_status, 99), f.rule_id)

    out = [
        CustomerExceptions(name, country, tuple(sorted(fs, key=order)))
        for (name, country), fs in groups.items()
    ]
    out.sort(key=lambda c: (-c.breaches, -c.unknowns, c.name in (NO_CUSTOMER, ACROSS), c.name))
    return tuple(out)


def _listed(
    exceptions: tuple[CustomerExceptions, ...], limit: int | None = None
) -> tuple[CustomerExceptions, ...]:
    """The customers' findings in order until `limit` rows (the last customer cut short)."""
    out, left = [], FINDING_ROW_LIMIT if limit is None else limit
    for c in exceptions:
        if left <= 0:
            break
        out.append(
            c if len(c.findings) <= left else dataclasses.replace(c, findings=c.findings[:left])
        )
        left -= len(c.findings)
    return tuple(out)


def _rules_crossed(ctx: AuditContext) -> tuple[RuleText, ...]:
    rules: dict[str, RuleText] = {}
    for f in ctx.findings:
        if f.status == "OK":
            continue
        r = rules.get(f.rule_id) or RuleText(
            f.rule_id, f.title, f.legal_basis, f.citation, f.legal_status, 0, 0
        )
        breach = f.status == "BREACH"
        framings = (
            r.framings if not f.framing or f.framing in r.framings else (*r.framings, f.framing)
        )
        rules[f.rule_id] = dataclasses.replace(
            r,
            breaches=r.breaches + breach,
            unknowns=r.unknowns + (not breach),
            framings=framings,
        )
    return tuple(sorted(rules.values(), key=lambda r: (-r.breaches, -r.unknowns, r.rule_id)))


def _by_legal_status(ctx: AuditContext) -> tuple[StatusCount, ...]:
    counts: dict[str, Counter[str]] = {}
    for f in ctx.findings:
        counts.setdefault(f.legal_status, Counter())[f.status] += 1
    order = {s: i for i, s in enumerate(LEGAL_ORDER)}
    return tuple(
        StatusCount(s, c["BREACH"], c["UNKNOWN"], c["OK"])
        for s, c in sorted(counts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
    )


def _customers(ctx: AuditContext, concerned: set[str]) -> tuple[CustomerRollup, ...]:
    return tuple(sorted(ctx.customers, key=lambda c: c.customer.legal_name not in concerned))


def _reconciliation(ctx: AuditContext) -> tuple[tuple[AccountView, Reconciliation], ...]:
    rows = [(a, r) for a in ctx.accounts for r in a.reconciliation]
    return tuple(sorted(rows, key=lambda ar: -abs(ar[1].variance_pct or 0.0)))


def _detail_rank(ctx: AuditContext) -> dict[str, tuple[int, int]]:
    """scope key -> (breaches, unknowns) of the findings naming it (the keys: every scope a
    BREACH or UNKNOWN finding concerns)."""
    rank: dict[str, tuple[int, int]] = {}
    for f in ctx.findings:
        if f.status == "OK":
            continue
        for key in {f.scope_key, *f.members}:
            b, u = rank.get(key, (0, 0))
            rank[key] = (b + (f.status == "BREACH"), u + (f.status != "BREACH"))
    return rank


def build_print_view(ctx: AuditContext) -> PrintView:
    rank = _detail_rank(ctx)
    detail = [a for a in ctx.accounts if f"{a.provider}:{a.account_id}" in rank or a.gaps]
    chosen = {id(a) for a in detail}

    def worst_first(a: AccountView) -> tuple[int, int, int]:
        breaches, unknowns = rank.get(f"{a.provider}:{a.account_id}", (0, 0))
        return (-breaches, -unknowns, -len(a.gaps))

    shown = sorted(detail, key=worst_first)[:DETAIL_LIMIT]
    keep = {id(a) for a in shown}
    others = [a for a in ctx.accounts if id(a) not in chosen]
    oks = [f for f in ctx.findings if f.status == "OK"]
    per_rule: dict[str, RuleCount] = {}
    for f in oks:
        prev = per_rule.get(f.rule_id)
        per_rule[f.rule_id] = RuleCount(f.rule_id, f.title, (prev.ok if prev else 0) + 1)
    sentence, codes = _unread(ctx)
    gaps = _gap_groups(ctx)
    exceptions = _exceptions(ctx)
    listed = _listed(exceptions)
    recon = _reconciliation(ctx)
    complete = ctx.coverage.status == "complete"
    return PrintView(
        coverage_sentence=coverage_sentence(ctx),
        headline_scope="all accounts read"
        if complete
        else "accounts read only; the totals are lower bounds",
        unread_sentence=sentence,
        unread_codes=codes,
        gap_groups=gaps[:LISTING_LIMIT],
        gap_rows_total=len(gaps),
        by_legal_status=_by_legal_status(ctx),
        exceptions=exceptions,
        exceptions_listed=listed,
        rules_crossed=_rules_crossed(ctx),
        ok_by_rule=tuple(per_rule.values()),
        ok_listed=tuple(oks[:LISTING_LIMIT]),
        ok_total=len(oks),
        detail_accounts=tuple(a for a in detail if id(a) in keep),  # in the report's order
        detail_total=len(detail),
        other_accounts=tuple(others[:LISTING_LIMIT]),
        other_total=len(others),
        customers=_customers(ctx, {c.name for c in exceptions})[:LISTING_LIMIT],
        customers_total=len(ctx.customers),
        reconciliation=recon[:LISTING_LIMIT],
        reconciliation_total=len(recon),
        names=Names(),
        detail_notes=_detail_notes(listed),
    )


def _detail_notes(listed: tuple[CustomerExceptions, ...]) -> dict[str, int]:
    """The detail texts of the listed findings, most frequent first, numbered from 1."""
    counts: dict[str, int] = {}
    for c in listed:
        for f in c.findings:
            if f.detail:
                counts[f.detail] = counts.get(f.detail, 0) + 1
    ranked = sorted(counts, key=lambda d: -counts[d])[:DETAIL_NOTE_LIMIT]
    return {d: i for i, d in enumerate(ranked, 1)}
