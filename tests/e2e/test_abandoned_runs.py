"""A run killed with SIGKILL does not stay `running`: the next command that opens the store marks
it abandoned, a running daemon re-checks every few minutes, and `status` shows it; a run of
another host is reported as one this host cannot judge (issue 14 item 4)."""

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from computewatch.app.cli import main
from computewatch.app.daemon import build_scheduler
from computewatch.domain import RunStatus, Window, utc
from computewatch.pipeline.jobs import abandon_dead_runs_job
from computewatch.pipeline.loading import load_config
from computewatch.store import Store
from computewatch.store.schema import run_processes
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


def _run_of(url: str, *, pid: int | None = None, host: str | None = None) -> int:
    """A run recorded as running by this process, then re-attributed to `pid` or `host`."""
    with Store.open(url) as store:
        run_id = store.runs.start(Window.month("2026-10"), utc(2026, 11, 2), "test", "0" * 64)
        values = {k: v for k, v in {"pid": pid, "host": host}.items() if v is not None}
        if values:
            with store.engine.begin() as conn:
                conn.execute(
                    run_processes.update().where(run_processes.c.run_id == run_id).values(**values)
                )
    return run_id


def test_daemon_rechecks_for_dead_runs_while_it_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    cfg = write_config(tmp_path, url)
    config = load_config(cfg)
    job = {j.id: j for j in build_scheduler(config).get_jobs()}["abandon_dead_runs"]
    assert job.func_ref == "computewatch.pipeline.jobs:abandon_dead_runs_job"
    first = job.trigger.get_next_fire_time(None, utc(2026, 12, 2, 1, 1))
    assert first == utc(2026, 12, 2, 1, 10)
    assert job.trigger.get_next_fire_time(first, first) == utc(2026, 12, 2, 1, 20)
    # The store is already open in this process (as in a daemon that started long ago); a
    # process that dies afterwards is found by the next re-check, not only at the next start.
    with Store.open(url):
        pass
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = _run_of(url, pid=int(ended.stdout))
    alive = _run_of(url)  # this process: still alive
    assert abandon_dead_runs_job(config) == 1
    with Store.open(url) as store:
        assert store.runs.get(dead).status is RunStatus.ABANDONED
        assert store.runs.get(alive).status is RunStatus.RUNNING


def test_run_of_another_host_is_reported_as_not_judged_here(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    cfg = write_config(tmp_path, url)
    other = _run_of(url, host="batch-7.example.internal", pid=999_999)
    assert abandon_dead_runs_job(load_config(cfg)) == 0  # never judged from here
    result = CliRunner().invoke(main, ["status", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert f"running run #{other} on host batch-7.example.internal (pid 999999)" in result.output
    assert "cannot judge from this host whether its process lives" in result.output
    with Store.open(url) as store:
        assert store.runs.get(other).status is RunStatus.RUNNING
