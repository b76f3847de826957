"""Which process runs a run, and whether it still lives: host, pid and the process's start time
(so a pid reused by another program is not taken for the run's). Linux reads the start time from
/proc; elsewhere only the pid is checked. A run of another host is never judged from here."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

_STAT_START_FIELD = 21  # /proc/<pid>/stat, after the ")" that ends the command name: field 22


@dataclass(frozen=True, slots=True)
class ProcessId:
    host: str
    pid: int
    start: str | None


def start_time(pid: int) -> str | None:
    """The process's start in clock ticks since boot (Linux), or None if unknown or gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text("ascii", errors="replace")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    index = _STAT_START_FIELD - 2  # the fields after ")" start at field 3
    return fields[index] if len(fields) > index else None


def current() -> ProcessId:
    pid = os.getpid()
    return ProcessId(socket.gethostname(), pid, start_time(pid))


def is_gone(process: ProcessId) -> bool:
    """True only when the process certainly ended: same host, and no process with that pid (or
    one started at another time). Unknown is not gone."""
    if process.host != socket.gethostname():
        return False
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user
    if process.start is None:
        return False
    now = start_time(process.pid)
    return now is not None and now != process.start
