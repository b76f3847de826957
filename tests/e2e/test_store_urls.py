"""A store that cannot be reached is bad input (exit 2) with the URL, password redacted, and a hint."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from computewatch.app.cli import main
from tests.helpers.aws import write_config
from tests.helpers.process import free_port


def _status(tmp_path: Path, url: str) -> tuple[int, str]:
    cfg = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    result = CliRunner().invoke(main, ["status", "--config", str(cfg), "--store", url])
    return result.exit_code, result.output


@pytest.mark.postgres
def test_missing_database_exits_2_with_hint(tmp_path: Path) -> None:
    code, out = _status(
        tmp_path, "postgresql+psycopg://postgres:s3cret@127.0.0.1:5432/cw_no_such_db_here"
    )
    assert code == 2, out
    assert "does not exist" in out and "createdb" in out
    assert "cw_no_such_db_here" in out and "s3cret" not in out and "***" in out


def test_unreachable_server_exits_2_with_hint(tmp_path: Path) -> None:
    port = free_port()
    code, out = _status(tmp_path, f"postgresql+psycopg://u:s3cret@127.0.0.1:{port}/db")
    assert code == 2, out
    assert f"127.0.0.1:{port}" in out and "s3cret" not in out
    assert "is PostgreSQL running there" in out


@pytest.mark.parametrize("url", ["mysql://u:s3cret@localhost/db", "mongodb://h/db", "nonsense"])
def test_unsupported_scheme_names_the_supported_ones(tmp_path: Path, url: str) -> None:
    code, out = _status(tmp_path, url)
    assert code == 2, out
    assert "unsupported scheme" in out and "sqlite:///" in out and "postgresql+psycopg://" in out
    assert "s3cret" not in out


def test_sqlite_file_in_an_impossible_place_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    code, out = _status(tmp_path, f"sqlite:///{blocker}/sub/store.db")
    assert code == 2, out
    assert "cannot create" in out and "internal error" not in out
