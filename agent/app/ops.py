"""What an operator reads of the daemon: its log lines (text or JSON) and `status`.
/healthz and /metrics are served by `computewatch.app.endpoint`."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from computewatch.domain import CoverageStatus
from computewatch.pipeline.status import Status


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


# -- `computewatch status` ----------------------------------------------------------------------
def status_lines(status: Status) -> list[str]:
    """The operator's summary for `computewatch status`."""
    lines = []
    run = status.last_run
    if run is None:
        lines.append("no runs yet")
    else:
        lines.append(
            f"last run #{run.id}: {run.status} "
            f"started {run.started_at:%Y-%m-%d %H:%M} UTC "
            f"for {run.window_start:%Y-%m-%d} to {run.window_end:%Y-%m-%d}"
        )
    if status.runs_by_status:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(status.runs_by_status.items()))
        lines.append(f"runs: {counts}")
    for gone in status.abandoned:
        lines.append(
            f"  abandoned run #{gone.id} started {gone.started_at:%Y-%m-%d %H:%M} UTC for "
            f"{gone.window_start:%Y-%m-%d} to {gone.window_end:%Y-%m-%d}: its process died"
        )
    for live in status.running:
        run_row = live.run
        where = f"on host {live.host} (pid {live.pid})" if live.host else "(host not recorded)"
        verdict = (
            "its process is alive"
            if live.here
            else "no process was recorded for it (older version)"
            if live.host is None
            else "cannot judge from this host whether its process lives; run `status` there, "
            "or a daemon there marks it abandoned if it died"
        )
        lines.append(
            f"  running run #{run_row.id} {where} started {run_row.started_at:%Y-%m-%d %H:%M} "
            f"UTC for {run_row.window_start:%Y-%m-%d} to {run_row.window_end:%Y-%m-%d}: {verdict}"
        )
    last = status.last_success
    lines.append(f"last successful collection: {last:%Y-%m-%d %H:%M} UTC" if last else "never")
    for entry, at in status.coverage:
        state_text = "ok" if entry.status is CoverageStatus.OK else f"GAP {entry.error_code}"
        lines.append(
            f"  {entry.provider} {entry.account_id} {entry.region} {entry.collector}: "
            f"{state_text} ({at:%Y-%m-%d %H:%M})"
        )
    open_by = ", ".join(f"{n} {s}" for s, n in sorted(status.open_findings.items()))
    lines.append(f"open findings: {open_by or 'none'}")
    lines.append(f"outbox pending: {status.outbox_pending}")
    for r in status.reports:
        lines.append(
            f"  report {r.kind} {r.period}: {r.report_id} at {r.produced_at:%Y-%m-%d %H:%M}"
        )
    state = status.daemon
    if state is None:
        lines.append("daemon state: no state file (daemon not started here)")
    else:
        lines.append(f"daemon pid {state.get('pid')} started {state.get('started_at')}")
        for job, when in sorted(state.get("next_runs", {}).items()):
            lines.append(f"  next {job}: {when}")
    return lines
