"""CSV data annex: per-account usage and the findings, for auditors who open it in a spreadsheet.

Every cell a spreadsheet could read as a formula is neutralised (OWASP "CSV injection"), and the
files are UTF-8 with a BOM so Excel shows non-Latin names correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from computewatch.reports.context import AccountView, AuditContext

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
USAGE_HEADER = (
    "provider",
    "account_id",
    "account_name",
    "customer_id",
    "customer",
    "customer_country",
    "coverage_status",
    "units_read",
    "units_total",
    "metric",
    "key_kind",
    "key",
    "quantity",
    "unit",
)
FINDINGS_HEADER = (
    "finding_id",
    "status",
    "severity",
    "rule_id",
    "title",
    "scope_kind",
    "scope_key",
    "metric",
    "comparison",
    "value",
    "threshold",
    "window_start",
    "window_end",
    "legal_basis",
    "citation",
    "legal_status",
    "detail",
)


def neutralise(value: object) -> str:
    """Text a spreadsheet shows as typed: a leading formula character gets a `'` in front.

    Numbers are written by us, not users, and are left as numbers (negative values included).
    """
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _account_rows(a: AccountView) -> Iterable[tuple[object, ...]]:
    """One row per measured quantity of every metric in the metric table; an account with
    nothing measured still gets a row, so a failed account shows as `failed` with an empty
    quantity, never as zero."""
    c = a.customer
    head = (
        a.provider,
        a.account_id,
        a.name,
        c.id if c else "",
        c.legal_name if c else "",
        c.country if c else "",
        a.coverage_status,
        a.units_read,
        a.units_total,
    )
    rows = [
        (*head, m.metric, str(m.d.key), key, m.shown(qty), m.d.unit)
        for m in a.metrics
        for key, qty in m.values
    ]
    return rows or [(*head, "", "", "", None, "")]


def usage_rows(ctx: AuditContext) -> list[tuple[object, ...]]:
    return [row for a in ctx.accounts for row in _account_rows(a)]


def finding_rows(ctx: AuditContext) -> list[tuple[object, ...]]:
    return [
        (
            f.id,
            f.status,
            f.severity,
            f.rule_id,
            f.title,
            f.scope_kind,
            f.scope_key,
            f.metric,
            f.comparison,
            f.value,
            f.threshold,
            f.window_start.isoformat(),
            f.window_end.isoformat(),
            f.legal_basis,
            f.citation,
            f.legal_status,
            f.detail,
        )
        for f in ctx.findings
    ]


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows([neutralise(v) for v in row] for row in rows)
    return buf.getvalue()


def write_annex(ctx: AuditContext, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write `<stem>-usage.csv` and `<stem>-findings.csv` (keys `csv` and `csv-findings`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = {
        "csv": (f"{stem}-usage.csv", to_csv(USAGE_HEADER, usage_rows(ctx))),
        "csv-findings": (f"{stem}-findings.csv", to_csv(FINDINGS_HEADER, finding_rows(ctx))),
    }
    paths = {}
    for key, (name, text) in docs.items():
        path = out_dir / name
        tmp = path.with_name(name + ".tmp")
        tmp.write_text(text, encoding="utf-8-sig", newline="")
        tmp.replace(path)
        paths[key] = path
    return paths
