"""XLSX data annex: the CSV annex's rows, daily accelerator-hours, tokens and coverage in one
workbook, for compliance teams who work in spreadsheets.

Cells are typed (numbers as numbers, days and timestamps as dates, text as text); every sheet's
header row is frozen and filterable. Text is written with `write_string` and the workbook is opened
with formula/number/URL conversion off, so a name such as `=HYPERLINK(...)` is stored as a text
cell that a spreadsheet shows and never evaluates. An unknown quantity is an empty cell next to a
coverage status that says why, never a zero. XlsxWriter streams rows (constant memory), so the
workbook's cost is linear in the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from computewatch.reports.annex import FINDINGS_HEADER, USAGE_HEADER, finding_rows, usage_rows
from computewatch.reports.context import AuditContext

CELL_LIMIT = 32767  # characters Excel keeps in one cell
DATE_COLUMNS = frozenset({"day", "window_start", "window_end"})


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    header: tuple[str, ...]
    rows: Iterable[Sequence[object]]
    widths: tuple[int, ...] = ()


def _accounts(ctx: AuditContext) -> Sheet:
    header = (
        "provider",
        "account_id",
        "account_name",
        "customer_id",
        "customer",
        "coverage_status",
        "units_read",
        "units_total",
    )
    rows = [
        (
            a.provider,
            a.account_id,
            a.name,
            a.customer.id if a.customer else "",
            a.customer.legal_name if a.customer else "",
            a.coverage_status,
            a.units_read,
            a.units_total,
        )
        for a in ctx.accounts
    ]
    return Sheet("Coverage", header, rows, (9, 20, 30, 14, 30, 12, 10, 10))


def _gaps(ctx: AuditContext) -> Sheet:
    header = ("provider", "account_id", "region", "collector", "error_code", "error_message")
    rows = [
        (g.provider, g.account_id, g.region, g.collector, g.error_code, g.error_message)
        for g in ctx.coverage.gaps
    ]
    return Sheet("Gaps", header, rows, (9, 20, 14, 16, 20, 60))


def _daily(ctx: AuditContext) -> Sheet:
    """Accelerator-hours per account, chip and day (billing superseding inventory by day)."""
    names = {(a.provider, a.account_id): a for a in ctx.accounts}
    rows = []
    for provider, account_id, chip, day, hours in ctx.daily_chip_hours:
        a = names.get((provider, account_id))
        customer = a.customer.legal_name if a and a.customer else ""
        rows.append((provider, account_id, a.name if a else "", customer, chip, day, hours))
    header = (
        "provider",
        "account_id",
        "account_name",
        "customer",
        "chip",
        "day",
        "accelerator_hours",
    )
    return Sheet("Daily hours", header, rows, (9, 20, 30, 30, 12, 12, 16))


def _tokens(ctx: AuditContext) -> Sheet:
    roles = [role for role, _ in ctx.token_columns]
    rows = [
        (a.provider, a.account_id, a.name, t.model, *(t.get(r) for r in roles))
        for a in ctx.accounts
        for t in a.tokens
    ]
    header = ("provider", "account_id", "account_name", "model", *roles)
    return Sheet("Tokens", header, rows, (9, 20, 30, 36, *(14 for _ in roles)))


def sheets(ctx: AuditContext) -> list[Sheet]:
    about = (
        ("report_id", ctx.report_id),
        ("title", ctx.title),
        ("reporting_entity", ctx.reporting_entity),
        ("period_start", ctx.period_start),
        ("period_end (exclusive)", ctx.period_end),
        ("generated_at", ctx.generated_at),
        ("coverage", ctx.coverage.status),
        ("breaches", ctx.breaches),
        ("unknowns", ctx.unknowns),
        ("note", "An empty quantity is unknown (see coverage_status), not zero."),
    )
    return [
        Sheet("About", ("field", "value"), about, (24, 60)),
        Sheet("Findings", FINDINGS_HEADER, finding_rows(ctx), (18, 9, 9, 14, 30)),
        Sheet("Usage", USAGE_HEADER, usage_rows(ctx), (9, 20, 30, 14, 30, 8, 12)),
        _daily(ctx),
        _tokens(ctx),
        _accounts(ctx),
        _gaps(ctx),
    ]


def _to_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones; every time here is UTC
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def _write_cell(ws: Any, row: int, col: int, value: object, column: str, fmt: Any) -> None:
    if value is None or value == "":
        ws.write_blank(row, col, None)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value)
    elif (column in DATE_COLUMNS or isinstance(value, datetime)) and (when := _to_datetime(value)):
        ws.write_datetime(row, col, when, fmt)
    else:
        ws.write_string(row, col, str(value)[:CELL_LIMIT])


def write_workbook(ctx: AuditContext, path: Path) -> Path:
    """Write the workbook atomically (a temporary file renamed into place)."""
    import xlsxwriter  # imported here: only runs that ask for XLSX pay for it

    tmp = path.with_name(path.name + ".tmp")
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    wb = xlsxwriter.Workbook(str(tmp), options)
    bold = wb.add_format({"bold": True, "bg_color": "#EEEEEE"})
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for sheet in sheets(ctx):
        ws = wb.add_worksheet(sheet.name)
        ws.freeze_panes(1, 0)
        for col, width in enumerate(sheet.widths):
            ws.set_column(col, col, width)
        for col, title in enumerate(sheet.header):
            ws.write_string(0, col, title, bold)
        count = 0
        for count, row in enumerate(sheet.rows, 1):
            for col, value in enumerate(row):
                column = sheet.header[col] if col < len(sheet.header) else ""
                _write_cell(ws, count, col, value, column, when)
        ws.autofilter(0, 0, max(count, 1), len(sheet.header) - 1)
    wb.close()
    tmp.replace(path)
    return path
