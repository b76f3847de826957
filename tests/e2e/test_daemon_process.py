"""The daemon as a real process against the emulated AWS: start, catch-up, one instance per store,
SIGHUP with a broken config, SIGTERM, and SIGKILL in the middle of a report's collection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from computewatch.demo.emulated_aws import EmulatedAws, MemberSpec, aws_environment
from computewatch.domain import RunStatus, Window
from computewatch.store import Store
from tests.helpers.aws import big_h100, daemon_config, seed
from tests.helpers.process import free_port, run_cli, wait_for

MONTH = Window.previous_month(datetime.now(UTC))
BIG = big_h100(MONTH.start - timedelta(days=3))


class Setup:
    def __init__(self, tmp_path: Path, url: str, env: dict[str, str]) -> None:
        self.tmp, self.url, self.env = tmp_path, url, env
        self.port = free_port()
        self.state = tmp_path / "state.json"
        self.log = tmp_path / "daemon.log"
        self.config = daemon_config(
            tmp_path,
            url,
            reports={"formats": ["json"]},
            daemon={
                "collect": "0 0 1 1 *",  # not during the test: only the catch-up runs
                "quarterly_report": None,
                "http_port": self.port,
                "state_file": str(self.state),
            },
        )

    def start(self) -> subprocess.Popen[bytes]:
        self.state.unlink(missing_ok=True)
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "computewatch.app.cli",
                    "daemon",
                    "--config",
                    str(self.config),
                    "--log-format",
                    "json",
                ],
                stderr=log,
                stdout=log,
                env=self.env,
            )

    def logged(self, text: str) -> bool:
        return text in self.log.read_text("utf-8")

    def store(self) -> Store:
        return Store.open(self.url)


@pytest.fixture
def setup(aws: EmulatedAws, tmp_path: Path, sqlite_url: str) -> Iterator[Setup]:
    org = seed(aws, [BIG, MemberSpec("idle"), MemberSpec("idle-2")])
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        env = dict(os.environ)
    yield Setup(tmp_path, sqlite_url, env)


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=120)


def test_daemon_lifecycle(setup: Setup) -> None:
    proc = setup.start()
    try:
        wait_for("the catch-up and the scheduler", setup.state.exists)
        state = json.loads(setup.state.read_text("utf-8"))
        assert state["pid"] == proc.pid and set(state["next_runs"]) >= {"collect", "monthly_report"}
        with urllib.request.urlopen(f"http://127.0.0.1:{setup.port}/healthz", timeout=10) as r:
            assert r.status == 200

        second = run_cli(["daemon", "--config", str(setup.config)], setup.env)
        assert second.returncode == 2
        assert "another computewatch daemon already runs" in second.stderr
        assert f'"pid": {proc.pid}' in second.stderr

        good = setup.config.read_text("utf-8")
        setup.config.write_text(good.replace("collect: 0 0 1 1 *", "collect: 99 * * * *"), "utf-8")
        proc.send_signal(signal.SIGHUP)
        wait_for("the refused reload", lambda: setup.logged("config reload refused"))
        assert proc.poll() is None  # still running, on the old config
        setup.config.write_text(good, "utf-8")
    finally:
        code = stop(proc)
    assert code == 0 and setup.logged("daemon stopped")
    lines = [
        json.loads(line)
        for line in setup.log.read_text("utf-8").splitlines()
        if line.startswith("{")
    ]
    assert any(line["msg"].startswith("monthly report") for line in lines)
    with setup.store() as store:
        assert [p.period for p in store.reports.produced("monthly")] == [MONTH.month_label()]
    status = run_cli(["status", "--config", str(setup.config)], setup.env)
    assert status.returncode == 0 and "next collect:" in status.stdout


def running_run(setup: Setup) -> bool:
    if not Path(setup.url.removeprefix("sqlite:///")).exists():
        return False
    with setup.store() as store:
        last = store.runs.stats(()).last_run
    return last is not None and last.status is RunStatus.RUNNING


def test_sigkill_mid_collection_loses_and_duplicates_nothing(setup: Setup) -> None:
    proc = setup.start()
    wait_for("a collection in progress", lambda: running_run(setup))
    proc.kill()
    proc.wait(timeout=30)
    proc = setup.start()
    try:
        wait_for("the restarted daemon's catch-up", setup.state.exists)
    finally:
        assert stop(proc) == 0
    with setup.store() as store:
        made = store.reports.produced("monthly")
        assert [p.period for p in made] == [MONTH.month_label()]
        ledger = store.ledger.entries()
        report = json.loads(next(Path(made[0].bundle).glob("audit-*.json")).read_text("utf-8"))
    # Wherever the kill landed, the period is sealed once: a scheduled report has a stable id, and a
    # bundle sealed before the crash is recorded on restart instead of being produced again.
    assert [r.report_id for r in ledger] == [made[0].report_id]
    big = next(a for a in report["accounts"] if a["name"] == "big-h100")
    assert big["accelerator_hours"] == {"H100": 2 * 8 * MONTH.hours}  # not doubled
