"""`audit` refuses what it cannot do before it reads (and pays for) anything: future periods,
unwritable report directories or stores, empty formats; it accepts every format it writes."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from computewatch.app.cli import main
from computewatch.demo.emulated_aws import EmulatedAws, aws_environment
from computewatch.store import Store
from tests.helpers.aws import SCENARIO, seed, write_config


def _runs(url: str) -> int:
    with Store.open(url) as store:
        return sum(store.runs.stats([]).by_status.values())


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--month", "2099-03"], "lies in the future"),
        (["--from", "2026-11-01", "--to", "2099-01-31"], "is not over yet"),
        (["--quarter", "2099-Q1"], "lies in the future"),
    ],
)
def test_future_period_is_refused_before_collecting(
    tmp_path: Path, args: list[str], says: str
) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    cfg = write_config(tmp_path, url)
    result = CliRunner().invoke(main, ["audit", "--config", str(cfg), *args])
    assert result.exit_code == 2, result.output
    assert says in result.output and "cannot be audited" in result.output
    assert _runs(url) == 0  # nothing was collected or recorded


def test_partly_future_period_suggests_the_last_whole_day(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    result = CliRunner().invoke(
        main, ["audit", "--config", str(cfg), "--from", "2026-01-01", "--to", "2099-12-31"]
    )
    assert result.exit_code == 2 and "--from 2026-01-01 --to " in result.output


def test_unwritable_out_dir_is_refused_before_collecting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    cfg = write_config(tmp_path, url)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["audit", "--config", str(cfg), "--month", "2026-10", "--out", str(blocker / "reports")],
    )
    assert result.exit_code == 2, result.output
    assert "is not writable" in result.output and "internal error" not in result.output
    assert _runs(url) == 0


def test_unwritable_sqlite_store_is_refused_before_collecting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    cfg = write_config(tmp_path, f"sqlite:///{blocker}/store.db")
    result = CliRunner().invoke(
        main, ["audit", "--config", str(cfg), "--month", "2026-10", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    assert "store" in result.output and "not writable" in result.output


@pytest.mark.parametrize("value", ["", " ", "html,,md", ","])
def test_empty_format_is_refused(tmp_path: Path, value: str) -> None:
    cfg = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    result = CliRunner().invoke(
        main, ["audit", "--config", str(cfg), "--month", "2026-10", "--format", value]
    )
    assert result.exit_code == 2, result.output
    assert "--format needs" in result.output


def test_format_pdf_and_csv_are_accepted(aws: EmulatedAws, tmp_path: Path) -> None:
    org = seed(aws, SCENARIO)
    cfg = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    out = tmp_path / "out"
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        result = CliRunner().invoke(
            main,
            [
                "audit",
                "--config",
                str(cfg),
                "--month",
                "2026-10",
                "--account",
                org.members["idle"],
                "--out",
                str(out),
                "--format",
                "pdf,csv",
            ],
        )
    assert result.exit_code == 0, result.output
    (bundle,) = [p for p in out.iterdir() if p.is_dir()]
    assert (bundle / "audit-2026-10-01_2026-11-01.pdf").exists()
    assert list(bundle.glob("*.csv"))
