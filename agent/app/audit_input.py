"""Checks on an `audit` request that must pass before any cloud API is called (some are billed:
Cost Explorer costs USD 0.01 a request): the report formats, the period, and that the report
directory and the store can be written."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from computewatch.domain import Window
from computewatch.domain.errors import UsageError
from computewatch.reports.outputs import OUTPUT_FORMATS, check_formats


def parse_formats(text: str | None, default: list[str]) -> list[str]:
    """The formats asked for, in canonical order. An empty value or an empty item is refused
    rather than silently replaced by the default; the names are checked by the report layer."""
    if text is None:
        return check_formats(default)
    items = [f.strip().lower() for f in text.split(",")]
    if not text.strip() or "" in items:
        raise UsageError(f"--format needs a comma-separated list of {', '.join(OUTPUT_FORMATS)}")
    return check_formats(items)


def check_period(window: Window, now: datetime) -> None:
    """Refuse a period that is not over: nothing can have been read for time that has not
    happened, and an audit of it would look complete with zero usage. The daemon, not `audit`,
    follows the month to date."""
    if window.end <= now:
        return
    last_whole_day = (now - timedelta(days=1)).date()
    hint = (
        f"; the latest period that can be audited ends yesterday: --from {window.start:%Y-%m-%d} "
        f"--to {last_whole_day}"
        if last_whole_day >= window.start.date()
        else ""
    )
    what = "lies in the future" if window.start >= now else "is not over yet"
    raise UsageError(
        f"the period {window.start:%Y-%m-%d} to {window.last_day()} {what} "
        f"(now {now:%Y-%m-%d %H:%M} UTC): time that has not happened cannot be audited{hint}"
    )


def check_writable_dir(path: Path, what: str) -> None:
    """Create `path` if needed and prove a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".computewatch-write-check-"):
            pass
    except OSError as exc:
        raise UsageError(
            f"{what} {path} is not writable ({exc.strerror or exc}); choose another "
            "directory before anything is collected"
        ) from None


def check_sqlite_writable(url: str) -> None:
    """A SQLite store file (or the directory it will be created in) must be writable; a
    server database is checked when the store is opened, before collection."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    check_writable_dir(path.parent, "the store's directory")
    if path.exists():
        try:
            with path.open("r+b"):
                pass
        except OSError as exc:
            raise UsageError(f"the store {path} is not writable ({exc.strerror or exc})") from None
