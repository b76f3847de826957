"""Config and rule files: valid input loads; invalid input names file, line and field."""

from pathlib import Path
from textwrap import dedent

import pytest

from computewatch.config.loader import config_schema
from computewatch.domain.errors import ConfigError
from computewatch.pipeline.loading import load_config
from tests.helpers.paths import REPO

GOOD_RULES = dedent(
    """\
    profile: t
    rules:
      - id: r1
        title: More than 10 H100 hours
        legal_basis: Internal policy
        status: internal-policy
        metric: accelerator_hours
        filters: {chips: [H100]}
        threshold: 10
    """
)


def write(tmp_path: Path, config: str, rules: str = GOOD_RULES) -> Path:
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    path = tmp_path / "cw.yaml"
    path.write_text(dedent(config), encoding="utf-8")
    return path


BASE = """\
version: 1
reporting_entity: {name: Test Reseller}
aws:
  regions: [us-east-1]
  accounts:
    - id: "111111111111"
rules: [rules.yaml]
"""


def test_shipped_example_config_is_valid() -> None:
    cfg = load_config(REPO / "config" / "computewatch.example.yaml")
    assert cfg.app.aws is not None and cfg.app.aws.organization is not None
    assert {r.id for r in cfg.rules.rules} >= {
        "us-ear-3a090-remote-d5",
        "eu-ai-act-art51-1e25",
        "internal-frontier-tokens-account",
    }


def test_minimal_config_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE))
    assert cfg.app.aws is not None and cfg.app.aws.accounts[0].id == "111111111111"
    assert cfg.rules.rules[0].chips == ("H100",)
    assert len(cfg.digest) == 64


@pytest.mark.parametrize(
    ("config", "line", "field", "reason"),
    [
        (BASE.replace('"111111111111"', '"12345"'), 6, "aws.accounts.0.id", "should match pattern"),
        (
            BASE.replace("  regions: [us-east-1]\n", "  regions: [us-east-1]\n  regoins: [x]\n"),
            5,
            "aws.regoins",
            "unknown field",
        ),
        (
            BASE.replace("  regions: [us-east-1]\n", "  regions: []\n"),
            4,
            "aws.regions",
            "at least one region",
        ),
        (BASE.replace("version: 1", "version: 2"), 1, "version", "1"),
        (
            BASE + "estimates: {utilization: {low: 0.6, central: 0.4, high: 0.5}}\n",
            8,
            "estimates.utilization",
            "low <= central",
        ),
    ],
)
def test_invalid_config_names_file_line_field(
    tmp_path: Path, config: str, line: int, field: str, reason: str
) -> None:
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    err = exc.value
    assert err.path == str(path)
    assert (err.line, err.field) == (line, field)
    assert reason in str(err)
    assert f"{path}:{line}:" in str(err)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "reports: {formats: [html\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert exc.value.line is not None and exc.value.line >= 8
    assert "invalid YAML" in str(exc.value)


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "rules: [rules.yaml]\n")
    with pytest.raises(ConfigError, match="duplicate key") as exc:
        load_config(path)
    assert exc.value.line == 8


def test_missing_rule_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("rules: [rules.yaml]", "rules: [nope.yaml]"))
    with pytest.raises(ConfigError, match="file not found") as exc:
        load_config(path)
    assert exc.value.path.endswith("nope.yaml")


@pytest.mark.parametrize(
    ("rules", "line", "field", "reason"),
    [
        (
            GOOD_RULES.replace("threshold: 10", "threshold: -1"),
            9,
            "rules.0.threshold",
            "greater than or equal",
        ),
        (
            GOOD_RULES.replace("metric: accelerator_hours", "metric: gpu_minutes"),
            7,
            "rules.0.metric",
            "unknown metric 'gpu_minutes' (known: accelerator_hours,",
        ),
        (
            GOOD_RULES.replace("status: internal-policy", "status: maybe"),
            6,
            "rules.0.status",
            "Input should be",
        ),
        (
            GOOD_RULES.replace("filters: {chips: [H100]}", "filters: {chip_class: 3A091}"),
            8,
            "rules.0.filters.chip_class",
            "3A090",
        ),
        (GOOD_RULES + "    scope: galaxy\n", 10, "rules.0.scope", "account"),
    ],
)
def test_invalid_rules_name_file_line_field(
    tmp_path: Path, rules: str, line: int, field: str, reason: str
) -> None:
    write(tmp_path, BASE, rules)
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path / "cw.yaml")
    assert exc.value.path.endswith("rules.yaml")
    assert (exc.value.line, exc.value.field) == (line, field)
    assert reason in str(exc.value)


def test_duplicate_rule_id_across_files(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text(GOOD_RULES, encoding="utf-8")
    path = write(tmp_path, BASE.replace("rules: [rules.yaml]", "rules: [rules.yaml, more.yaml]"))
    with pytest.raises(ConfigError, match="already defined") as exc:
        load_config(path)
    assert exc.value.line == 3


def test_role_arn_and_profile_are_exclusive(tmp_path: Path) -> None:
    cfg = BASE.replace(
        '    - id: "111111111111"\n',
        '    - id: "111111111111"\n      profile: p\n      role_arn: arn:aws:iam::111111111111:role/r\n',
    )
    with pytest.raises(ConfigError, match="role_arn or profile"):
        load_config(write(tmp_path, cfg))


def test_config_schema_is_json_schema() -> None:
    schema = config_schema()
    assert schema["title"] == "computewatch configuration"
    assert "reporting_entity" in schema["required"]
    assert "aws" in schema["properties"]


def test_every_validation_error_is_listed_with_its_line(tmp_path: Path) -> None:
    """One run of `validate` names every problem in the file, not only the first."""
    path = write(
        tmp_path,
        BASE + "reports: {formats: [html], per_notice_pdff: true}\n"
        "estimates: {utilization: {low: 0.6, central: 0.4, high: 0.5}}\n",
    )
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    err = exc.value
    assert err.field == "reports.per_notice_pdff" and "unknown field" in err.reason
    assert [(m.line, m.field) for m in err.more] == [(9, "estimates.utilization")]
    lines = str(err).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:8: field 'reports.per_notice_pdff':")
    assert lines[1].strip().startswith(f"{path}:9: field 'estimates.utilization':")
