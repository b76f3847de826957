"""A run killed with SIGKILL does not stay `running`: the next command that opens the store marks
it abandoned, and `status` shows it (issue 14 item 4)."""

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from computewatch.app.cli import main
from computewatch.domain import RunStatus
from computewatch.store import Store
from tests.helpers.aws import write_config

KILLED_RUN = """
import os, signal, sys
from datetime import UTC, datetime
from computewatch.domain import Window
from computewatch.store import Store
with Store.open(sys.argv[1]) as store:
    run = store.runs.start(Window.month("2026-10"), datetime.now(UTC), "test", "0" * 64)
    print(run, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_run_is_abandoned_and_shown_by_status(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, url], capture_output=True, text=True, timeout=120
    )
    assert killed.returncode == -9, killed.stderr
    run_id = int(killed.stdout.strip())
    cfg = write_config(tmp_path, url)
    result = CliRunner().invoke(main, ["status", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "1 abandoned" in result.output
    assert f"abandoned run #{run_id} " in result.output and "its process died" in result.output
    with Store.open(url) as store:
        row = store.runs.get(run_id)
    assert row.status is RunStatus.ABANDONED and row.finished_at is not None
