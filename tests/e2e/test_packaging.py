"""Issue 14 item 17: the wheel carries every data file the product reads, and `computewatch
demo` works from a plain install in a fresh virtual environment, or says what to install.

Marked `packaging` (deselect with `-m "not packaging"`): it builds the wheel and installs it with
its dependencies into a new virtual environment (pip's cache makes that a minute or two).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers.paths import REPO

pytestmark = pytest.mark.packaging

# Every file of these source folders (and their subfolders) must be in the wheel, here.
DATA_DIRS = {
    "config": "computewatch/shipped",
    "reports/templates": "computewatch/reports/templates",
    "reports/schemas": "computewatch/reports/schemas",
    "agent/domain/data": "computewatch/domain/data",
}
DATA_SUFFIXES = (".yaml", ".json", ".csv", ".j2")


def _run(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_"))}
    env.pop("PYTHONPATH", None)  # the installed package, never the checkout
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _source_tree(dest: Path) -> Path:
    """The checkout's files (tracked and new, not ignored), so the build leaves no trace in it."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(src.read_bytes())
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = _source_tree(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(out)], src)
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("computewatch-*.whl")
    return path


def test_wheel_carries_every_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"{packaged}/{p.relative_to(REPO / folder).as_posix()}"
        for folder, packaged in DATA_DIRS.items()
        for p in (REPO / folder).rglob("*")
        if p.suffix in DATA_SUFFIXES
    }
    assert {"computewatch/shipped/rules/reference-thresholds.yaml"} <= expected
    assert {"computewatch/shipped/azure-custom-role.json"} <= expected
    assert expected - names == set()


def test_demo_from_a_fresh_virtual_environment(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip, cli = env_dir / "bin" / "pip", env_dir / "bin" / "computewatch"
    plain = _run([str(pip), "install", "-q", str(wheel)], tmp_path)
    assert plain.returncode == 0, plain.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    # A plain install says exactly what the demo lacks (exit 2), before starting anything.
    refused = _run([str(cli), "demo", "--out", "out"], work)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "pip install 'computewatch[demo]'" in refused.stderr
    extra = _run([str(pip), "install", "-q", f"{wheel}[demo]"], tmp_path)
    assert extra.returncode == 0, extra.stderr[-3000:]
    demo = _run([str(cli), "demo", "--out", "out", "--as-of", "2026-12-01"], work)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Demo finished" in demo.stdout
    reports = work / "out" / "reports"
    (bundle,) = [p for p in reports.iterdir() if p.is_dir()]
    manifest = json.loads((bundle / "manifest.json").read_text("utf-8"))
    assert any(name.endswith(".pdf") for name in manifest["files"])
    verified = _run([str(cli), "verify", str(bundle)], work)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    shown = _run([str(cli), "permissions", "azure-role"], work)
    assert shown.returncode == 0 and "Microsoft.Compute/virtualMachines/read" in shown.stdout
