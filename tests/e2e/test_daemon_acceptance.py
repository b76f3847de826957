"""Issue #7's 'done means', end to end: the daemon as a real process under systemd-like conditions
(JOURNAL_STREAM set, stopped with SIGTERM), an emulated AWS organization and the demo's emulated
Azure tenant, a real SMTP server. It collects on start, mails a notice once per new BREACH,
produces the monthly report that is due, tells its state through `status`, /healthz and /metrics,
and after a restart sends nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import yaml

from computewatch.collectors.permissions import azure_actions
from computewatch.demo.emulated_aws import EmulatedAws, MemberSpec, aws_environment
from computewatch.demo.emulated_azure import EmulatedAzure
from computewatch.demo.run import AZURE_SECRET_ENV, azure_scenario
from computewatch.domain import FindingStatus, RunStatus, Window
from computewatch.store import RunRow, Store
from tests.helpers.aws import big_h100, seed, write_config
from tests.helpers.http import get, parse
from tests.helpers.process import free_port, run_cli, wait_for
from tests.helpers.smtp import Inbox

# Any H100 hour in a month: crossed from the first minute of any month, whatever today's date is.
ANY_H100 = {
    "profile": "acceptance",
    "rules": [
        {
            "id": "any-h100-month",
            "title": "Any H100 use in a calendar month",
            "legal_basis": "Test policy",
            "status": "internal-policy",
            "metric": "accelerator_hours",
            "filters": {"chips": ["H100"]},
            "scope": "account",
            "window": "calendar_month",
            "comparison": ">",
            "threshold": 0,
            "severity": "high",
        }
    ],
}


class Daemon:
    def __init__(self, tmp_path: Path, config: Path, env: dict[str, str], port: int) -> None:
        self.tmp, self.config, self.env, self.port = tmp_path, config, env, port
        self.log = tmp_path / "daemon.log"

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "computewatch.app.cli",
                    "daemon",
                    "--config",
                    str(self.config),
                ],
                stdout=log,
                stderr=log,
                env=self.env,
            )

    def get(self, path: str) -> tuple[int, str]:
        code, _, body = get(f"http://127.0.0.1:{self.port}{path}")
        return code, body


def finished_runs(url: str, since: datetime) -> list[RunRow]:
    """The last run, if it is a collection of the current month started after `since` and over."""
    with Store.open(url) as store:
        last = store.runs.stats(()).last_run
    month = Window.current_month(datetime.now(UTC))
    if last is None or last.status is RunStatus.RUNNING or last.started_at < since:
        return []
    return [last] if last.window_start == month.start else []


@pytest.fixture
def daemon(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str, smtp: tuple[int, Inbox]
) -> Iterator[Daemon]:
    month = Window.previous_month(datetime.now(UTC))
    org = seed(aws, [big_h100(month.start - timedelta(days=3)), MemberSpec("idle")])
    granted = azure_actions()
    port, _ = smtp
    http_port = free_port()
    (tmp_path / "any-h100.yaml").write_text(yaml.safe_dump(ANY_H100), encoding="utf-8")
    with EmulatedAzure(azure_scenario(Window.previous_month(datetime.now(UTC)), granted)) as azure:
        config = write_config(
            tmp_path,
            sqlite_url,
            {
                "rules": ["rules.yaml", "any-h100.yaml"],
                "azure": {
                    "cloud": azure.cloud_config(),
                    "credential": azure.credential_config(AZURE_SECRET_ENV),
                },
                "reports": {"formats": ["json"]},
                "mail": {
                    "host": "127.0.0.1",
                    "port": port,
                    "security": "none",
                    "sender": "cw@example.org",
                    "recipients": {
                        "notice": ["officer@example.org"],
                        "monthly": ["board@example.org"],
                    },
                    "timeout": 5,
                },
                "daemon": {
                    "collect": "0 0 1 1 *",  # only the collection on start runs in the test
                    "quarterly_report": None,
                    "http_port": http_port,
                    "state_file": str(tmp_path / "state.json"),
                },
            },
        )
        with (
            aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret),
            azure.secret_environment(AZURE_SECRET_ENV),
        ):
            env = dict(os.environ, JOURNAL_STREAM="8:4242")  # as systemd sets it
        yield Daemon(tmp_path, config, env, http_port)


def test_daemon_done_means(daemon: Daemon, sqlite_url: str, smtp: tuple[int, Inbox]) -> None:
    _, inbox = smtp
    started = datetime.now(UTC).replace(microsecond=0)
    proc = daemon.start()
    try:
        wait_for("the collection on start", lambda: bool(finished_runs(sqlite_url, started)))
        wait_for("the notice and the monthly report", lambda: len(inbox.messages) >= 2)
        assert daemon.get("/healthz")[0] == 200
        metrics = parse(daemon.get("/metrics")[1])
        state = json.loads((daemon.tmp / "state.json").read_text("utf-8"))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0

    with Store.open(sqlite_url) as store:
        breaches = store.findings.find(status=FindingStatus.BREACH)
        produced = store.reports.produced("monthly")
    messages = [BytesParser(policy=policy.default).parsebytes(m) for m in inbox.messages]
    notices = [m for m in messages if m["Subject"].startswith("BREACH ")]
    monthly = [m for m in messages if not m["Subject"].startswith("BREACH ")]
    month = Window.current_month(started).start
    noticed = [m["X-Computewatch-Finding"] for m in notices]
    by_id = {f.id: f for f in breaches}
    # One notice per BREACH the collection found; those the monthly report carried get none.
    assert len(noticed) == len(set(noticed)) and set(noticed) <= set(by_id)
    assert {by_id[i].window_start for i in noticed} == {month}
    assert "any-h100-month" in {by_id[i].rule_id for i in noticed}
    assert [p.period for p in produced] == [Window.previous_month(started).month_label()]
    assert len(monthly) == 1 and str(monthly[0]["To"]) == "board@example.org"
    assert any(part.get_filename().endswith(".pdf") for part in monthly[0].iter_attachments())

    # Both clouds were read, nothing failed; the operator sees it in /metrics and `status`.
    runs = finished_runs(sqlite_url, started)
    assert runs[0].status is RunStatus.BREACH
    gaps = {dict(k[1])["provider"] for k in metrics if k[0] == "computewatch_coverage_gaps"}
    assert gaps == {"azure"}  # only the demo's subscription that denies the role
    assert metrics[("computewatch_open_findings", frozenset({("status", "BREACH")}))] >= 1
    calls = {dict(k[1])["operation"] for k in metrics if k[0] == "computewatch_api_calls_total"}
    assert "ec2:DescribeInstances" in calls and any(
        c.startswith("arm:GET Microsoft.Compute") for c in calls
    )
    assert {"collect", "monthly_report"} <= set(state["next_runs"])
    status = run_cli(["status", "--config", str(daemon.config)], daemon.env)
    assert status.returncode == 0
    assert f"report monthly {produced[0].period}" in status.stdout
    assert "open findings:" in status.stdout and "outbox pending: 0" in status.stdout
    # Under systemd the log is one JSON object per line.
    lines = [line for line in daemon.log.read_text("utf-8").splitlines() if line.strip()]
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)

    # A restart collects again: no notice twice, no report twice.
    again = datetime.now(UTC)
    proc = daemon.start()
    try:
        wait_for("the second collection", lambda: bool(finished_runs(sqlite_url, again)))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
    assert len(inbox.messages) == len(messages)
    with Store.open(sqlite_url) as store:
        assert len(store.reports.produced("monthly")) == 1
