"""Two exports naming the same account are never added together: the first configured gives the
figures, and the report says so as a coverage note."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

from computewatch.collectors.base import ApiCallCounter, CollectContext
from computewatch.collectors.exports.provider import ExportsProvider
from computewatch.config.exports import ExportSettings, ExportSource
from computewatch.domain import Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.window import utc
from computewatch.reports.exports_view import overlaps
from tests.helpers import export_fixtures as fx

OCTOBER = Window.month("2026-10")


def source(name: str) -> ExportSource:
    return ExportSource(name=name, format="cur2", location=name, billing_account=fx.PAYER)


def test_an_account_in_two_exports_is_read_from_the_first_configured(
    tmp_path: Path, catalog: Catalog
) -> None:
    shutil.copytree(fx.FIXTURES / "cur2-parquet", tmp_path / "payer-cur")
    shutil.copytree(fx.FIXTURES / "cur2-csv", tmp_path / "payer-cur-csv")  # same accounts
    settings = ExportSettings(
        sources=[source("payer-cur"), source("payer-cur-csv")], base_dir=str(tmp_path)
    )
    provider = ExportsProvider(settings, ApiCallCounter())
    found = provider.discover(
        CollectContext(OCTOBER, utc(2026, 11, 5), catalog), ["exports.billing"]
    )
    assert sorted(t.account.account_id for t in found.targets) == fx.CUR2_ACCOUNTS
    assert {t.region for t in found.targets} == {"export:payer-cur"}
    assert len(found.accounts) == len(fx.CUR2_ACCOUNTS)  # each account once

    found_overlaps = overlaps(SimpleNamespace(deliveries=provider.deliveries()))  # type: ignore[arg-type]
    assert len(found_overlaps) == len(fx.CUR2_ACCOUNTS)
    atlas = next(o for o in found_overlaps if o.account_id == fx.ATLAS)
    assert (atlas.counted, atlas.not_counted) == ("payer-cur", ("payer-cur-csv",))
    assert atlas.note == (
        f"{fx.NAMES[fx.ATLAS]} (aws:{fx.ATLAS}) is in exports payer-cur and payer-cur-csv for "
        "2026-10: figures from payer-cur (configured first); the others are not added."
    )
