"""One daemon per store: a PostgreSQL advisory lock or, for SQLite, an fcntl lock beside the file.

Both locks die with the process (connection closed / file descriptor closed), so a SIGKILLed
daemon never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from computewatch.domain.errors import ComputewatchError


class LockHeld(ComputewatchError):
    """Another daemon holds the store; exit code 2 so that systemd does not restart in a loop."""

    exit_code = 2

    def __init__(self, store: str, holder: str) -> None:
        super().__init__(f"another computewatch daemon already runs on {store} ({holder})")


def _key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key derived from a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


ADVISORY_KEY = _key("computewatch-daemon")


def _me() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class DaemonLock:
    """Take with `acquire()`; held until `release()` or the process ends."""

    def __init__(self, store_url: str) -> None:
        self.url = sa.engine.make_url(store_url)
        self._conn: sa.Connection | None = None
        self._engine: sa.Engine | None = None
        self._file: IO[str] | None = None

    @property
    def shown(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def acquire(self) -> None:
        if self.url.get_backend_name() == "postgresql":
            self._acquire_pg()
        elif self.url.get_backend_name() == "sqlite" and self.url.database not in (
            None,
            "",
            ":memory:",
        ):
            self._acquire_file(Path(str(self.url.database)).with_suffix(".daemon.lock"))
        else:
            raise ComputewatchError(f"cannot lock store {self.shown} for a daemon")

    def _acquire_pg(self) -> None:
        self._engine = sa.create_engine(
            self.url, connect_args={"application_name": f"computewatch-daemon pid={os.getpid()}"}
        )
        conn = self._engine.connect()
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
        conn.commit()  # session-level lock: outlives the transaction, not the connection
        if not got:
            holder = conn.execute(
                sa.text(
                    "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    "AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = :k"
                ),
                {"k": ADVISORY_KEY},
            ).first()
            conn.close()
            self._engine.dispose()
            described = (
                f"{holder[0] or 'unnamed'} from {holder[1] or 'local socket'} since {holder[2]}"
                if holder
                else "holder unknown"
            )
            raise LockHeld(self.shown, described)
        self._conn = conn

    def _acquire_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "holder unknown"
            f.close()
            raise LockHeld(self.shown, f"lock file {path}: {holder}") from None
        f.seek(0)
        f.truncate()
        f.write(json.dumps(_me()) + "\n")
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # ends the session, which frees the advisory lock
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
