"""The `exports:` config section: validated at load, relative folders relative to the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from computewatch.config.loader import load_config
from computewatch.domain.errors import ConfigError


def write(tmp_path: Path, exports: str) -> Path:
    path = tmp_path / "cw.yaml"
    path.write_text(f"version: 1\nreporting_entity: {{name: X}}\nexports:\n{exports}", "utf-8")
    return path


def test_relative_locations_are_relative_to_the_config_file(tmp_path: Path) -> None:
    cfg = load_config(
        write(tmp_path, "  sources:\n    - {name: cur, format: cur2, location: cur}\n")
    )
    assert cfg.app.exports is not None
    assert cfg.app.exports.base_dir == str(tmp_path.resolve())


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{name: c, format: cur2, cloud: azure, location: x}", "CUR 2.0 export is an AWS export"),
        ("{name: c, format: cur2, engine: athena}", "engine athena needs an athena: section"),
        ("{name: c, format: focus}", "engine duckdb needs a location"),
        ("{name: c, format: cur3, location: x}", "format"),
        (
            "{name: c, format: cur2, engine: athena, athena: {database: 'd; DROP', table: t,"
            " output_location: 's3://o/'}}",
            "database",
        ),
    ],
)
def test_bad_sources_are_refused_with_the_reason(tmp_path: Path, source: str, reason: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, f"  sources:\n    - {source}\n"))
    assert reason in str(err.value)
