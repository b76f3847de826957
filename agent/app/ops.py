"""What an operator sees of the daemon: logs, the state file, `status`, /healthz and /metrics.

Everything is read from the store on request, so a scrape or a `status` reflects what was
committed, whichever process committed it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import platformdirs

from computewatch.domain import CoverageStatus, RunStatus
from computewatch.store import Store

log = logging.getLogger(__name__)

# Runs that read something: coverage may have gaps, but not every unit failed.
GOOD_RUNS = (RunStatus.COMPLETE, RunStatus.PARTIAL, RunStatus.BREACH)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for journald / log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("job", "kind", "period", "run_id"):
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup_logging(fmt: str, level: int = logging.INFO) -> None:
    """Text on a terminal, JSON lines under systemd (JOURNAL_STREAM) or when asked."""
    if fmt == "auto":
        fmt = "json" if os.environ.get("JOURNAL_STREAM") or not sys.stderr.isatty() else "text"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("botocore", "urllib3", "azure", "apscheduler", "weasyprint", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def default_state_file() -> Path:
    return Path(platformdirs.user_state_dir("computewatch")) / "daemon-state.json"


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically replace the state file (never a half-written one for `status` to read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Health:
    healthy: bool
    last_success: datetime | None
    reason: str


def health(store: Store, now: datetime, stale_after: timedelta) -> Health:
    last = store.runs.stats(GOOD_RUNS).last_success
    if last is None:
        return Health(False, None, "no successful collection yet")
    if now - last > stale_after:
        return Health(False, last, f"last successful collection {last.isoformat()} is stale")
    return Health(True, last, "ok")


def _num(value: float) -> str:
    """Full precision (`:g` would round a Unix timestamp to six digits)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Exposition:
    """Prometheus text format 0.0.4, written by hand (one HELP/TYPE per family)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]
    ) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            text = ",".join(f'{k}="{_esc(v)}"' for k, v in sorted(labels.items()))
            self.lines.append(
                f"{name}{{{text}}} {_num(value)}" if text else f"{name} {_num(value)}"
            )

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def metrics(store: Store, now: datetime, stale_after: timedelta) -> str:
    stats = store.runs.stats(GOOD_RUNS)
    coverage = store.coverage.latest()
    out = _Exposition()
    out.family(
        "computewatch_runs_total",
        "counter",
        "Audit runs by final status.",
        [({"status": s}, n) for s, n in sorted(stats.by_status.items())],
    )
    out.family(
        "computewatch_api_calls_total",
        "counter",
        "Cloud API calls by operation, over all runs.",
        [({"operation": op}, n) for op, n in sorted(stats.api_calls.items())],
    )
    out.family(
        "computewatch_api_errors_total",
        "counter",
        "Failed reads (account-region-collector units) over all runs, by error code.",
        [
            ({"provider": p, "collector": c, "code": e}, n)
            for (p, c, e), n in sorted(store.coverage.api_errors().items())
        ],
    )
    gaps: dict[tuple[str, str, str], int] = {}
    for entry, _ in coverage:
        if entry.status is not CoverageStatus.OK:
            key = (entry.provider, entry.collector, entry.error_code or "unknown")
            gaps[key] = gaps.get(key, 0) + 1
    out.family(
        "computewatch_coverage_gaps",
        "gauge",
        "Account-region-collector units whose latest read failed, by error code.",
        [({"provider": p, "collector": c, "code": e}, n) for (p, c, e), n in sorted(gaps.items())],
    )
    out.family(
        "computewatch_open_findings",
        "gauge",
        "Findings not OK, by status.",
        [({"status": s}, n) for s, n in sorted(store.findings.open_by_status().items())],
    )
    out.family(
        "computewatch_outbox_pending",
        "gauge",
        "E-mails queued and not yet sent.",
        [({}, len(store.outbox.pending()))],
    )
    last = stats.last_success
    out.family(
        "computewatch_last_success_timestamp_seconds",
        "gauge",
        "Unix time the last successful collection finished (0: never).",
        [({}, last.timestamp() if last else 0.0)],
    )
    out.family(
        "computewatch_healthy",
        "gauge",
        "1 when the last successful collection is fresh.",
        [({}, 1.0 if health(store, now, stale_after).healthy else 0.0)],
    )
    return out.text()


Clock = Callable[[], datetime]


def serve(
    store_url: str, host: str, port: int, stale_after: timedelta, clock: Clock
) -> ThreadingHTTPServer:
    """Start /healthz and /metrics in a daemon thread; `shutdown()` the returned server to stop."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server naming
            if self.path not in ("/healthz", "/metrics"):
                self._send(404, "text/plain", "not found\n")
                return
            with Store.open(store_url) as store:
                if self.path == "/metrics":
                    body = metrics(store, clock(), stale_after)
                    self._send(200, "text/plain; version=0.0.4; charset=utf-8", body)
                    return
                h = health(store, clock(), stale_after)
                doc = {"healthy": h.healthy, "reason": h.reason, "last_success": h.last_success}
                self._send(
                    200 if h.healthy else 503, "application/json", json.dumps(doc, default=str)
                )

        def _send(self, code: int, ctype: str, body: str) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # base-class signature
            log.debug("http %s", format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="computewatch-http", daemon=True).start()
    log.info("serving /healthz and /metrics on http://%s:%d", host, server.server_port)
    return server


def status_lines(store: Store, state: dict[str, Any] | None) -> list[str]:
    """The operator's summary for `computewatch status`."""
    stats = store.runs.stats(GOOD_RUNS)
    lines = []
    run = stats.last_run
    if run is None:
        lines.append("no runs yet")
    else:
        lines.append(
            f"last run #{run.id}: {run.status} "
            f"started {run.started_at:%Y-%m-%d %H:%M} UTC "
            f"for {run.window_start:%Y-%m-%d} to {run.window_end:%Y-%m-%d}"
        )
    last = stats.last_success
    lines.append(f"last successful collection: {last:%Y-%m-%d %H:%M} UTC" if last else "never")
    for entry, at in store.coverage.latest():
        state_text = "ok" if entry.status is CoverageStatus.OK else f"GAP {entry.error_code}"
        lines.append(
            f"  {entry.provider} {entry.account_id} {entry.region} {entry.collector}: "
            f"{state_text} ({at:%Y-%m-%d %H:%M})"
        )
    open_by = store.findings.open_by_status()
    lines.append(
        "open findings: " + (", ".join(f"{n} {s}" for s, n in sorted(open_by.items())) or "none")
    )
    lines.append(f"outbox pending: {len(store.outbox.pending())}")
    for r in store.reports.produced():
        lines.append(
            f"  report {r.kind} {r.period}: {r.report_id} at {r.produced_at:%Y-%m-%d %H:%M}"
        )
    if state is None:
        lines.append("daemon state: no state file (daemon not started here)")
    else:
        lines.append(f"daemon pid {state.get('pid')} started {state.get('started_at')}")
        for job, when in sorted(state.get("next_runs", {}).items()):
            lines.append(f"  next {job}: {when}")
    return lines
