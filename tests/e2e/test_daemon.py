"""The daemon's jobs called directly with an injected clock, on both store backends and the
emulated AWS; the scheduler built from config and inspected (no wall-clock sleeps)."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from computewatch.app.daemon import Daemon, apply_config, build_scheduler
from computewatch.demo.emulated_aws import EmulatedAws, MemberSpec, aws_environment
from computewatch.domain import FindingStatus, Window, utc
from computewatch.domain.errors import ConfigError, UsageError
from computewatch.pipeline.jobs import collect_job, due_periods, produce_due_reports
from computewatch.pipeline.loading import load_config
from computewatch.store import ProducedReport, Store
from tests.helpers.aws import big_h100, daemon_config, seed
from tests.helpers.smtp import Inbox


def produced(kind: str, month: str) -> ProducedReport:
    w = Window.month(month)
    return ProducedReport(kind, month, w.start, w.end, w.end, "CW-X", "")


# -- config -------------------------------------------------------------------------------------
def test_bad_cron_fails_at_load_with_field_and_reason(tmp_path: Path, sqlite_url: str) -> None:
    path = daemon_config(tmp_path, sqlite_url, daemon={"collect": "61 * * * *"})
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.field == "daemon.collect"
    assert "invalid cron expression '61 * * * *'" in str(err.value)
    with pytest.raises(ConfigError, match=r"daemon\.colect"):
        load_config(daemon_config(tmp_path, sqlite_url, daemon={"colect": "0 * * * *"}))


# -- catch-up planning (pure) -------------------------------------------------------------------
def test_catch_up_across_month_boundary() -> None:
    now = utc(2026, 11, 3, 12)
    got = due_periods("monthly", "0 6 1 * *", now, [produced("monthly", "2026-08")], 3)
    assert got == [Window.month("2026-09"), Window.month("2026-10")]
    # Before the cron time on the 1st, the month just ended is not due yet.
    early = due_periods(
        "monthly", "0 6 1 * *", utc(2026, 11, 1, 5), [produced("monthly", "2026-08")], 3
    )
    assert early == [Window.month("2026-09")]
    # Bounded: a year of downtime yields at most catch_up_months reports.
    long = due_periods("monthly", "0 6 1 * *", now, [produced("monthly", "2025-06")], 2)
    assert long == [Window.month("2026-09"), Window.month("2026-10")]
    # A first start produces only the latest due report, not a backfill.
    assert due_periods("monthly", "0 6 1 * *", now, [], 3) == [Window.month("2026-10")]


def test_catch_up_across_quarter_boundary() -> None:
    cron = "0 6 15 1,4,7,10 *"
    last_q1 = ProducedReport(
        "quarterly", "2026-Q1", utc(2026, 1, 1), utc(2026, 4, 1), utc(2026, 4, 15), "x", ""
    )
    assert due_periods("quarterly", cron, utc(2026, 10, 14), [last_q1], 6) == [
        Window.quarter("2026-Q2")
    ]
    assert due_periods("quarterly", cron, utc(2026, 10, 15, 7), [last_q1], 6) == [
        Window.quarter("2026-Q2"),
        Window.quarter("2026-Q3"),
    ]
    assert due_periods("quarterly", cron, utc(2027, 1, 20), [], 3) == [Window.quarter("2026-Q4")]


# -- scheduler ----------------------------------------------------------------------------------
def test_scheduler_built_from_config_and_reloaded(tmp_path: Path, sqlite_url: str) -> None:
    path = daemon_config(tmp_path, sqlite_url, daemon={"collect": "15 */2 * * *"})
    config = load_config(path)
    scheduler = build_scheduler(config)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {
        "collect",
        "monthly_report",
        "quarterly_report",
        "deliver_mail",
        "abandon_dead_runs",
    }
    assert jobs["collect"].func_ref == "computewatch.pipeline.jobs:collect_job"
    assert jobs["monthly_report"].args[1] == "monthly"
    start = utc(2026, 11, 3, 1, 20)
    assert jobs["collect"].trigger.get_next_fire_time(None, start) == utc(2026, 11, 3, 2, 15)
    assert jobs["monthly_report"].trigger.get_next_fire_time(None, start) == utc(2026, 12, 1, 6)
    assert jobs["quarterly_report"].trigger.get_next_fire_time(None, start) == utc(2027, 1, 15, 6)
    assert str(jobs["collect"].trigger.timezone) == "UTC"

    new = load_config(daemon_config(tmp_path, sqlite_url, daemon={"quarterly_report": None}))
    apply_config(scheduler, new)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert "quarterly_report" not in jobs
    assert jobs["collect"].trigger.get_next_fire_time(None, start) == utc(2026, 11, 3, 2, 5)
    assert jobs["collect"].args[0] is new


def test_a_collector_on_its_own_schedule(tmp_path: Path, sqlite_url: str) -> None:
    own = {"collector_schedules": {"aws.costexplorer": "30 6 * * *"}}
    config = load_config(daemon_config(tmp_path, sqlite_url, daemon=own))
    scheduler = build_scheduler(config)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    billing = jobs["collect:aws.costexplorer"]
    assert billing.func_ref == "computewatch.pipeline.jobs:collect_job" and billing.args[2] == [
        "aws.costexplorer"
    ]
    assert billing.trigger.get_next_fire_time(None, utc(2026, 11, 3, 7)) == utc(2026, 11, 4, 6, 30)
    hourly = jobs["collect"].args[2]
    assert "aws.costexplorer" not in hourly and {"aws.ec2", "azure.vms"} <= set(hourly)
    # Without schedules of their own, the collect job runs every collector (None: no filter);
    # a reload (SIGHUP) that drops the schedule removes its job and widens `collect` again.
    plain = load_config(daemon_config(tmp_path, sqlite_url))
    assert {j.id: j for j in build_scheduler(plain).get_jobs()}["collect"].args[2] is None
    apply_config(scheduler, plain)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert "collect:aws.costexplorer" not in jobs and jobs["collect"].args[2] is None


def test_unknown_collector_schedule_is_a_config_error(tmp_path: Path, sqlite_url: str) -> None:
    own = {"collector_schedules": {"aws.costexplorr": "30 6 * * *"}}
    with pytest.raises(ConfigError) as err:
        load_config(daemon_config(tmp_path, sqlite_url, daemon=own))
    assert err.value.field == "daemon.collector_schedules.aws.costexplorr"
    assert err.value.line is not None
    assert "unknown collector 'aws.costexplorr'" in str(err.value)
    assert "aws.costexplorer" in str(err.value)  # the known names are listed


# -- jobs against the emulated cloud, both backends ---------------------------------------------
NOW = utc(2026, 11, 20, 10, 5)
BIG = big_h100(utc(2026, 10, 28))


def test_collect_notices_a_new_breach_once(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    org = seed(aws, [BIG, MemberSpec("idle")])
    mail = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "cw@example.org",
        "recipients": {"notice": ["officer@example.org"]},
        "timeout": 5,
    }
    path = daemon_config(tmp_path, sqlite_url, mail=mail)
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        first = collect_job(path, lambda: NOW)
        second = collect_job(str(path), lambda: NOW + timedelta(hours=1))
    assert first.context.breaches >= 1 and second.context.breaches == first.context.breaches
    assert first.paths == {} and first.bundle is None  # hourly runs write no report files
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("*.pdf"))
    with Store.open(sqlite_url) as store:
        breaches = store.findings.find(status=FindingStatus.BREACH)
        notices = [r for r in store.outbox.entries() if r.kind == "notice"]
        assert store.usage.count() > 0
    big = f"aws:{org.members['big-h100']}"
    assert any(f.scope_key == big for f in breaches)
    # Once per finding, not once per run: two runs, one message per BREACH finding.
    assert sorted(n.message_id for n in notices) == sorted(
        f"<notice.{f.id}@example.org>" for f in breaches
    )
    assert all(n.sent_at is not None for n in notices)
    assert len(inbox.messages) == len(breaches)
    msg = BytesParser(policy=policy.default).parsebytes(inbox.messages[0])
    assert msg["Subject"].startswith("BREACH ") and big in msg["Subject"]


def test_a_collector_on_its_own_schedule_joins_until_it_has_read_the_month(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    """Cost Explorer runs daily on its own; until it has read the month, the hourly collection
    takes it along (else the month would be UNKNOWN until its time comes round), then not."""
    org = seed(aws, [BIG])
    own = {"collector_schedules": {"aws.costexplorer": "30 6 * * *"}}
    config = load_config(daemon_config(tmp_path, sqlite_url, daemon=own))
    hourly = {j.id: j for j in build_scheduler(config).get_jobs()}["collect"].args[2]
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        first = collect_job(config, lambda: NOW, hourly)
        second = collect_job(config, lambda: NOW + timedelta(hours=1), hourly)
    assert "ce:GetCostAndUsage" in first.api_calls
    assert "ce:GetCostAndUsage" not in second.api_calls
    assert "ec2:DescribeInstances" in second.api_calls
    assert second.context.coverage.status == "complete"  # billing's read carried, not a gap


def test_catch_up_produces_each_missed_month_once(
    aws: EmulatedAws, tmp_path: Path, store_url: str
) -> None:
    org = seed(aws, [MemberSpec("idle")])
    path = daemon_config(tmp_path, store_url, reports={"formats": ["json"]})
    with Store.open(store_url) as store:
        store.reports.record(produced("monthly", "2026-08"))
    clock = lambda: utc(2026, 11, 3, 7)  # noqa: E731
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        made = produce_due_reports(path, "monthly", clock)
        again = produce_due_reports(path, "monthly", clock)
    assert [r.period for r in made] == ["2026-09", "2026-10"]
    assert again == []
    for r in made:
        assert (Path(r.bundle) / "manifest.json").exists()
    with Store.open(store_url) as store:
        assert [p.period for p in store.reports.produced("monthly")] == [
            "2026-08",
            "2026-09",
            "2026-10",
        ]
        assert len(store.ledger.entries()) == 2  # two sealed bundles, no more


def test_reports_off_when_quarterly_disabled(tmp_path: Path, sqlite_url: str) -> None:
    path = daemon_config(tmp_path, sqlite_url, daemon={"quarterly_report": None})
    assert (
        produce_due_reports(path, "quarterly", lambda: datetime(2027, 1, 20, tzinfo=NOW.tzinfo))
        == []
    )


def test_an_unwritable_report_directory_stops_the_daemon_at_start(
    tmp_path: Path, sqlite_url: str
) -> None:
    """A config on a read-only /etc would fail every job later; the daemon refuses to start."""
    (tmp_path / "blocker").write_text("a file where the report directory should go")
    path = daemon_config(tmp_path, sqlite_url, reports={"out_dir": "blocker/reports"})
    with pytest.raises(UsageError) as err:
        Daemon(path)
    assert err.value.exit_code == 2
    assert f"reports.out_dir {tmp_path / 'blocker' / 'reports'} is not writable" in str(err.value)
    assert str(path) in str(err.value)
    fine = daemon_config(tmp_path, sqlite_url, reports={"out_dir": "reports"})
    assert Daemon(fine).config.app.reports.out_dir == "reports"
    assert (tmp_path / "reports").is_dir() and not list((tmp_path / "reports").iterdir())
