"""The XLSX annex (issue 14 item 16): typed cells, frozen and filterable headers, formula-safe text,
unknown as an empty cell. Read back from the file's XML (the workbook is a zip of sheets)."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from computewatch.domain.catalog import Catalog
from computewatch.reports.outputs import write_outputs
from computewatch.reports.workbook import write_workbook
from tests.helpers.reports import sample_context

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
EVIL = '=HYPERLINK("http://evil.example","click")'
Cell = tuple[str, str | None]  # (type, text)


def col_index(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref)
    assert letters
    n = 0
    for ch in letters.group():
        n = n * 26 + ord(ch) - 64
    return n - 1


def read_sheets(path: Path) -> dict[str, tuple[ET.Element, list[list[Cell]]]]:
    """Sheet name -> (worksheet XML, rows of (cell type, text)); missing cells are ("", None)."""
    with zipfile.ZipFile(path) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))  # noqa: S314 - our own file
        out = {}
        for i, s in enumerate(book.iterfind("m:sheets/m:sheet", NS), 1):
            ws = ET.fromstring(z.read(f"xl/worksheets/sheet{i}.xml"))  # noqa: S314
            rows = []
            for r in ws.iterfind("m:sheetData/m:row", NS):
                cells: list[Cell] = []
                for c in r.iterfind("m:c", NS):
                    while len(cells) < col_index(c.get("r", "A")):
                        cells.append(("", None))
                    assert c.find("m:f", NS) is None, "no formula in an annex"
                    text = c.findtext("m:is/m:t", namespaces=NS) or c.findtext("m:v", namespaces=NS)
                    cells.append((c.get("t", "n"), text))
                rows.append(cells)
            out[s.get("name", "")] = (ws, rows)
        return out


@pytest.fixture(scope="module")
def book(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[ET.Element, list[list[Cell]]]]:
    ctx = sample_context(Catalog.load(), account_name=EVIL)
    path = write_workbook(ctx, tmp_path_factory.mktemp("xlsx") / "annex.xlsx")
    return read_sheets(path)


def records(
    book: dict[str, tuple[ET.Element, list[list[Cell]]]], name: str
) -> list[dict[str, Cell]]:
    _, rows = book[name]
    header = [text or "" for _, text in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def test_every_sheet_has_a_frozen_filterable_header(
    book: dict[str, tuple[ET.Element, list[list[Cell]]]],
) -> None:
    assert list(book) == ["About", "Findings", "Usage", "Daily hours", "Tokens", "Coverage", "Gaps"]
    for ws, rows in book.values():
        pane = ws.find("m:sheetViews/m:sheetView/m:pane", NS)
        assert pane is not None and pane.get("state") == "frozen" and pane.get("ySplit") == "1"
        assert ws.find("m:autoFilter", NS) is not None
        assert all(t == "inlineStr" for t, _ in rows[0])


def test_formula_text_is_stored_as_text(
    book: dict[str, tuple[ET.Element, list[list[Cell]]]],
) -> None:
    names = [r["account_name"] for r in records(book, "Usage")]
    assert ("inlineStr", EVIL) in names  # shown as typed, never evaluated


def test_cells_are_typed_and_unknown_is_empty(
    book: dict[str, tuple[ET.Element, list[list[Cell]]]],
) -> None:
    usage = records(book, "Usage")
    h100 = next(
        r
        for r in usage
        if r["key"] == ("inlineStr", "H100") and r["metric"][1] == "accelerator_hours"
    )
    assert h100["quantity"] == ("n", "6000")
    assert h100["units_read"][0] == "n"
    failed = next(r for r in usage if r["coverage_status"] == ("inlineStr", "failed"))
    assert failed.get("quantity", ("", None))[1] is None  # unknown, not zero
    findings = records(book, "Findings")
    assert {f["status"][1] for f in findings} == {"BREACH", "UNKNOWN"}
    unknown = next(f for f in findings if f["status"][1] == "UNKNOWN")
    assert unknown.get("value", ("", None))[1] is None
    assert unknown["threshold"] == ("n", "5000")
    assert unknown["window_start"][0] == "n"  # a date serial, not text
    tokens = records(book, "Tokens")
    assert tokens[0]["input"] == ("n", "1000000")


def test_xlsx_is_an_output_format(tmp_path: Path) -> None:
    ctx = sample_context(Catalog.load())
    paths = write_outputs(ctx, ["xlsx", "csv"], tmp_path)
    assert paths["xlsx"].suffix == ".xlsx" and zipfile.is_zipfile(paths["xlsx"])
    assert paths["csv"].name.endswith("-usage.csv")
    assert paths["csv-findings"].name.endswith("-findings.csv")


def test_daily_hours_are_per_account_chip_and_day(tmp_path: Path) -> None:
    ctx = sample_context(Catalog.load(), account_name=EVIL)
    day = datetime(2026, 10, 3, tzinfo=UTC)
    ctx = dataclasses.replace(
        ctx,
        daily_chip_hours=(
            ("aws", "111111111111", "A100", day, 3.5),
            ("aws", "111111111111", "H100", day, 192.0),
        ),
    )
    daily = records(read_sheets(write_workbook(ctx, tmp_path / "a.xlsx")), "Daily hours")
    assert [(r["chip"][1], r["accelerator_hours"]) for r in daily] == [
        ("A100", ("n", "3.5")),
        ("H100", ("n", "192")),
    ]
    assert daily[0]["account_name"] == ("inlineStr", EVIL) and daily[0]["day"][0] == "n"
