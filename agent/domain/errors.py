"""A small exception tree; each class builds its own message so callers pass facts, not prose."""

from __future__ import annotations

from pathlib import Path


class ComputewatchError(Exception):
    """Base of every error computewatch raises on purpose."""

    exit_code = 1


class ConfigError(ComputewatchError):
    """Configuration or rule input is invalid; names the file, line and field."""

    exit_code = 2

    def __init__(
        self,
        path: Path | str,
        reason: str,
        *,
        line: int | None = None,
        field: str | None = None,
        more: tuple[ConfigError, ...] = (),
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = reason
        self.more = more  # further problems found in the same file, so one edit fixes them all
        lines = [self._locate(self.path, line, field, reason)]
        lines += [self._locate(e.path, e.line, e.field, e.reason) for e in more]
        super().__init__("\n  ".join(lines))

    @staticmethod
    def _locate(path: str, line: int | None, field: str | None, reason: str) -> str:
        where = path if line is None else f"{path}:{line}"
        what = f" field '{field}':" if field else ""
        return f"{where}:{what} {reason}"


class UsageError(ComputewatchError):
    """The command line asked for something that cannot be done (bad period, unknown format)."""

    exit_code = 2


class SourceError(ComputewatchError):
    """A cloud API could not be read; becomes a failed coverage entry, never a zero."""

    def __init__(self, service: str, code: str, message: str) -> None:
        self.service = service
        self.code = code
        self.message = message
        super().__init__(f"{service}: {code}: {message}")


class StoreError(ComputewatchError):
    """The usage store could not be opened, migrated or written."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"store {url}: {reason}")


class StoreUnavailable(StoreError):
    """The store cannot be reached or does not exist: bad input (a URL, a server that is down),
    not a bug; the message carries the URL without its password and a hint."""

    exit_code = 2


class CatalogError(ComputewatchError):
    """The shipped accelerator catalog is inconsistent (a packaging bug, not user input)."""
