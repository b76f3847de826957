"""The command line: help everywhere, exit codes, clear errors; a real subprocess against moto."""

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from computewatch.app.cli import main
from computewatch.demo.emulated_aws import EmulatedAws, aws_environment
from computewatch.store import Store
from tests.helpers.aws import OCT, SCENARIO, seed, write_config
from tests.helpers.process import run_cli


def test_validate_ok_and_bad(tmp_path: Path) -> None:
    good = write_config(tmp_path, "sqlite:///x.db")
    result = CliRunner().invoke(main, ["validate", "--config", str(good)])
    assert result.exit_code == 0 and "OK" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("regions:", "regoins:"), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--config", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:" in result.output and "regoins" in result.output


def test_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found" in result.output


@pytest.mark.parametrize("what", ["config", "report"])
def test_schema_prints_json_schema(what: str) -> None:
    result = CliRunner().invoke(main, ["schema", what])
    assert result.exit_code == 0
    assert json.loads(result.output)["$schema"].startswith("https://json-schema.org/")


@pytest.mark.parametrize(
    "args",
    [
        ["--month", "2026-13"],
        ["--month", "2026-10", "--quarter", "2026-Q4"],
        ["--from", "2026-10-01"],
        ["--format", "pdfx"],
        ["--format", ""],
        ["--collector", "aws.nope"],
    ],
)
def test_bad_period_or_format_exits_2(tmp_path: Path, args: list[str]) -> None:
    cfg = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    result = CliRunner().invoke(main, ["audit", "--config", str(cfg), *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error:")


def test_audit_subprocess_exit_codes(aws: EmulatedAws, tmp_path: Path) -> None:
    org = seed(aws, SCENARIO)
    cfg = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL": aws.endpoint,
        "AWS_ACCESS_KEY_ID": org.auditor_key_id,
        "AWS_SECRET_ACCESS_KEY": org.auditor_secret,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = tmp_path / "out"
    full = run_cli(
        ["audit", "--config", str(cfg), "--month", "2026-10", "--out", str(out), "-v"], env
    )
    assert full.returncode == 3, full.stderr
    assert "BREACH  internal-3a090-hours-month" in full.stdout
    assert "GAP aws" in full.stdout and "AccessDenied" in full.stdout
    assert "ec2:DescribeInstances" in full.stdout  # -v prints API call counts
    # ... and where the time and memory went, stage by stage, as the run record keeps it.
    (line,) = [ln for ln in full.stdout.splitlines() if ln.strip().startswith("stages: ")]
    with Store.open(f"sqlite:///{tmp_path}/s.db") as store:
        stored = store.runs.stages(store.runs.stats([]).last_run.id)  # type: ignore[union-attr]
    names = [t.name for t in stored]
    # The collection as a whole, then its parts (discovery; each collector's units summed).
    assert names[:2] == ["collection", "discovery aws"]
    assert {"collection aws.ec2", "collection aws.bedrock"} < set(names)
    assert names[-5:] == [
        "store",
        "evaluation",
        "rendering",
        "rendering notices and quarterly",
        "sealing",
    ]
    peaks = {t.name for t in stored if t.peak_mib}  # the parts of a stage have none of their own
    assert peaks == {
        "collection",
        "evaluation",
        "rendering",
        "rendering notices and quarterly",
        "sealing",
    }
    assert line.strip() == "stages: " + "; ".join(t.describe() for t in stored)
    assert re.search(r"^\[1/\d+\] aws ", full.stderr, re.M)  # progress, one line per unit
    loose = {p.name for p in out.iterdir() if p.is_file()}
    assert {"audit-2026-10-01_2026-11-01.html", "ledger.jsonl", "quarterly-2026-Q4.pdf"} <= loose
    assert any(n.startswith("notice-") for n in loose)
    (bundle,) = [p for p in out.iterdir() if p.is_dir()]
    assert (bundle / "manifest.json").exists() and list(bundle.glob("*.pdf"))
    # One layout: every file is in the output directory and the bundle holds a copy of each.
    sealed = {p.name for p in bundle.iterdir()} - {"manifest.json"}
    assert {"audit-2026-10-01_2026-11-01.pdf", "audit-2026-10-01_2026-11-01.xlsx"} <= sealed
    assert any(n.startswith("notices-") and n.endswith(".pdf") for n in sealed)  # combined
    assert sealed <= loose
    for name in sealed - {n for n in loose if n.startswith("notice")}:
        assert name in full.stdout
    assert f"computewatch verify {bundle}" in full.stdout
    verified = run_cli(["verify", str(bundle), "--ledger", str(out / "ledger.jsonl")], env)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The same command in-process (the code path is the same; a subprocess each is slow).
    base = ["audit", "--config", str(cfg), "--month", "2026-10", "--out", str(out)]
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        runner = CliRunner()
        denied = runner.invoke(
            main, [*base, "--account", org.members["denied"], "--format", "json"]
        )
        clean = runner.invoke(main, [*base, "--account", org.members["idle"]])
    assert denied.exit_code == 4, denied.output  # coverage incomplete, no breach
    report_id = re.search(r"audit (CW-[0-9A-F]+):", denied.output)
    assert report_id is not None
    assert not list((out / report_id.group(1)).glob("*.pdf"))  # --format json renders no PDF
    assert clean.exit_code == 0, clean.output
    assert OCT.start.strftime("%Y-%m-%d") in clean.output
