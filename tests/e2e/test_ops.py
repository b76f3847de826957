"""Operations: /metrics scraped over HTTP and parsed, /healthz turning 503 when stale, `status`,
JSON logs, and the one-daemon-per-store lock on both backends."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import pytest
import sqlalchemy as sa
from prometheus_client import generate_latest

from computewatch.app.endpoint import metrics_registry, serve
from computewatch.app.locking import DaemonLock, LockHeld
from computewatch.app.ops import JsonFormatter, status_lines
from computewatch.domain import CoverageEntry, CoverageStatus, RunStatus, Window, utc
from computewatch.pipeline.status import status_of
from computewatch.store import Store
from computewatch.store.schema import findings
from tests.helpers.http import get, parse

T0 = utc(2026, 11, 20, 10)
SAMPLE = re.compile(r'^([a-z_]+)(?:\{((?:[a-z_]+="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$')


def seeded(url: str) -> Store:
    """Two runs (one good, one failed), gaps (one of them seen twice, one a sampling gap that is
    no API error), an open BREACH, a pending e-mail."""
    store = Store.open(url)
    w = Window.month("2026-11")
    good = store.runs.start(w, T0, "t", "d")

    def failed(account: str, collector: str, code: str) -> CoverageEntry:
        return CoverageEntry(
            "aws", account, "us-east-1", collector, w.start, T0, CoverageStatus.FAILED, code, "no"
        )

    store.coverage.write(
        good,
        [
            failed("111111111111", "ec2", "SamplingGap"),  # found with the read that follows
            CoverageEntry(
                "aws", "111111111111", "us-east-1", "ec2", w.start, T0, CoverageStatus.OK
            ),
            failed("222222222222", "ec2", "AccessDenied"),
            failed("222222222222", "bedrock", "ThrottlingException"),
        ],
        T0,
    )
    calls = {"ec2:DescribeInstances": 3, "sts:AssumeRole": 2}
    store.runs.finish(good, T0, RunStatus.PARTIAL, calls)
    bad = store.runs.start(w, T0 + timedelta(minutes=30), "t", "d")
    store.coverage.write(bad, [failed("222222222222", "ec2", "AccessDenied")], T0)
    store.runs.finish(bad, T0 + timedelta(minutes=31), RunStatus.FAILED, {"sts:AssumeRole": 1})
    with store.engine.begin() as conn:
        conn.execute(
            findings.insert().values(
                id="f1",
                rule_id="r",
                scope_kind="account",
                scope_key="aws:1",
                window_start=w.start,
                window_end=w.end,
                status="BREACH",
                value=9.0,
                threshold=1.0,
                severity="high",
                lifecycle="new",
                first_seen=T0,
                last_seen=T0,
                reported_at=None,
                detail="",
                run_id=good,
            )
        )
    return store


@pytest.fixture
def http(store_url: str) -> Iterator[tuple[str, list[datetime]]]:
    seeded(store_url).close()
    now = [T0 + timedelta(hours=1)]
    server: WSGIServer = serve(store_url, "127.0.0.1", 0, timedelta(hours=3), lambda: now[0])
    yield f"http://127.0.0.1:{server.server_port}", now
    server.shutdown()
    server.server_close()


def test_metrics_scraped_and_parsed(http: tuple[str, list[datetime]]) -> None:
    base, _ = http
    code, ctype, body = get(base + "/metrics")
    assert code == 200 and ctype.startswith("text/plain; version=0.0.4")
    m = parse(body)
    assert m[("computewatch_runs_total", frozenset({("status", "partial")}))] == 1
    assert m[("computewatch_runs_total", frozenset({("status", "failed")}))] == 1
    op = ("operation", "sts:AssumeRole")
    assert m[("computewatch_api_calls_total", frozenset({op}))] == 3
    gap = frozenset({("provider", "aws"), ("collector", "ec2"), ("code", "AccessDenied")})
    assert m[("computewatch_coverage_gaps", gap)] == 1  # the unit's latest read
    assert m[("computewatch_api_errors_total", gap)] == 2  # every failed read, both runs
    throttled = {("provider", "aws"), ("collector", "bedrock"), ("code", "ThrottlingException")}
    assert m[("computewatch_api_errors_total", frozenset(throttled))] == 1
    assert not [k for k in m if ("code", "SamplingGap") in k[1]]  # neither an API error nor latest
    assert m[("computewatch_open_findings", frozenset({("status", "BREACH")}))] == 1
    assert m[("computewatch_outbox_pending", frozenset())] == 0
    assert m[("computewatch_last_success_timestamp_seconds", frozenset())] == T0.timestamp()
    assert get(base + "/nope")[0] == 404
    post = urllib.request.Request(base + "/metrics", data=b"", method="POST")  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(post, timeout=10)  # noqa: S310 - local test server
    assert err.value.code == 405


def test_healthz_turns_unhealthy_when_stale(http: tuple[str, list[datetime]]) -> None:
    base, now = http
    code, _, body = get(base + "/healthz")
    assert code == 200 and json.loads(body)["healthy"] is True
    now[0] = T0 + timedelta(hours=3, minutes=1)  # the failed run does not count as a success
    code, _, body = get(base + "/healthz")
    assert code == 503 and "stale" in json.loads(body)["reason"]


def test_status_summarises_store_and_state(sqlite_url: str) -> None:
    with seeded(sqlite_url) as store:
        text = "\n".join(
            status_lines(
                status_of(store, {"pid": 42, "next_runs": {"collect": "2026-11-20 11:05"}})
            )
        )
    assert "last run #2: failed" in text
    assert "aws 222222222222 us-east-1 ec2: GAP AccessDenied" in text
    assert "open findings: 1 BREACH" in text and "outbox pending: 0" in text
    assert "next collect: 2026-11-20 11:05" in text


def test_json_log_lines() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cw-test-json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("report %s", "2026-10", extra={"job": "monthly"})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "report 2026-10" and first["job"] == "monthly"
    assert first["level"] == "WARNING"
    assert second["exc"].startswith("Traceback") and "ValueError: boom" in second["exc"]


# -- one daemon per store -----------------------------------------------------------------------
HOLD = (
    "import sys; from computewatch.app.locking import DaemonLock; lock = DaemonLock(sys.argv[1]); "
    "lock.acquire(); "
    "print('held', flush=True); sys.stdin.read()"
)


def test_lock_held_by_another_process(store_url: str) -> None:
    Store.open(store_url).close()
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, store_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld) as err:
            DaemonLock(store_url).acquire()
        assert err.value.exit_code == 2
        who = f"pid={child.pid}" if store_url.startswith("postgresql") else f'"pid": {child.pid}'
        assert who in str(err.value)
    finally:
        child.kill()  # a killed holder frees the lock: no stale lock after SIGKILL
        child.wait()
    lock = DaemonLock(store_url)
    lock.acquire()
    lock.release()


def test_lock_released_for_the_next_holder(store_url: str) -> None:
    Store.open(store_url).close()
    with DaemonLock(store_url):
        with pytest.raises(LockHeld):
            DaemonLock(store_url).acquire()
    with DaemonLock(store_url):
        pass
    with sa.create_engine(store_url).connect() as conn:  # the store itself stays usable
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1


def test_metrics_registry_reads_the_store_only_when_scraped(tmp_path: Path) -> None:
    db = tmp_path / "later.db"
    registry = metrics_registry(f"sqlite:///{db}", timedelta(hours=3), lambda: T0)
    assert not db.exists()  # registering described the families without opening the store
    text = generate_latest(registry).decode()
    assert db.exists() and parse(text)[("computewatch_healthy", frozenset())] == 0
    assert parse(text)[("computewatch_last_success_timestamp_seconds", frozenset())] == 0
